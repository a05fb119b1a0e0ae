"""Background work of registrations. Without a broker, Celery runs these eagerly in-process."""

from celery import shared_task


@shared_task(ignore_result=True)
def purge_personal_data() -> dict:
    """Periodic (celery beat, daily): anonymise personal data past their retention period."""
    from .retention import personal_data_purge

    return personal_data_purge().as_dict()


@shared_task(ignore_result=True)
def tell_representatives(registration_id: int, template: str, context: dict) -> int:
    """Email a registration's news to its enterprise's representatives (queued by the
    registration services once their transaction commits)."""
    from .services import representatives_tell

    return representatives_tell(registration_id, template, context)
