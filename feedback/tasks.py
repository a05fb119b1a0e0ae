"""Background work of feedback reports. Without a broker, Celery runs these eagerly in-process."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def process_media(media_id: str) -> str:
    """Thumbnails and web copies of a picture, the poster frame of a video (feedback.services)."""
    from .services import media_process

    return media_process(media_id)


@shared_task(ignore_result=True)
def send_deadline_reminders() -> int:
    """Periodic (celery beat): remind departments a few days before the feedback deadline."""
    from .services import reminders_send_due

    return reminders_send_due()


@shared_task(ignore_result=True)
def clean_up_abandoned_uploads() -> dict:
    """Periodic (celery beat): abandon uploads without a chunk for FEEDBACK_UPLOAD_ABANDONED_HOURS
    and delete their partial files, delete stray partial files, requeue media stuck "being
    processed" (feedback.uploads.uploads_clean_up)."""
    from .uploads import uploads_clean_up

    return uploads_clean_up()


@shared_task(acks_late=True, ignore_result=True)
def send_reminders(campaign_id: int, department_ids: list[int], actor_id: int) -> int:
    """Reminders an administrator or reviewer sent to many departments at once."""
    from accounts.models import User
    from activities.models import Campaign, Department

    from .services import reminders_send_many

    actor = User.objects.get(pk=actor_id)
    departments = Department.objects.filter(pk__in=department_ids).order_by("pk")
    campaign = Campaign.objects.get(pk=campaign_id)
    return reminders_send_many(campaign=campaign, departments=departments, actor=actor).reminded
