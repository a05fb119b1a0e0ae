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
