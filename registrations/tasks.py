"""Background work of registrations. Without a broker, Celery runs these eagerly in-process."""

from celery import shared_task


@shared_task(ignore_result=True)
def purge_personal_data() -> dict:
    """Periodic (celery beat, daily): anonymise personal data past their retention period."""
    from .retention import personal_data_purge

    return personal_data_purge().as_dict()
