"""Background work of registrations. Without a broker, Celery runs these eagerly in-process."""

from celery import shared_task


@shared_task(ignore_result=True)
def purge_personal_data() -> dict:
    """Periodic (celery beat, daily): anonymise personal data past their retention period."""
    from .retention import personal_data_purge

    return personal_data_purge().as_dict()


@shared_task(ignore_result=True)
def tell_representatives(registration_id: int, template: str, context: dict) -> int:
    """Email a registration's news to its enterprise's representatives. The services no longer
    queue it (they write a `RegistrationNotice`, sent by `send_notices`); kept so that messages
    queued before an upgrade are still delivered."""
    from .services import representatives_tell

    return representatives_tell(registration_id, template, context)


@shared_task(ignore_result=True)
def send_notices() -> int:
    """Periodic (celery beat, every few seconds): email the registration notices not yet sent
    (the outbox the registration services write in their transactions)."""
    from .services import notices_send

    return notices_send()


@shared_task(ignore_result=True)
def purge_sent_notices() -> int:
    """Periodic (celery beat, daily): delete notices sent long enough ago."""
    from .services import notices_purge

    return notices_purge()
