"""Background work of the activities app. Without a broker, Celery runs these eagerly in-process."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def run_activity_import(import_id: int) -> str:
    """Check and import one uploaded workbook of activities (see activities/importing.py).

    Safe to deliver twice: a job that has already started is left alone.
    """
    from .importing import activity_import_run

    return activity_import_run(import_id)


@shared_task(ignore_result=True)
def fail_stale_imports() -> int:
    """Periodic (celery beat): imports whose worker died mid-way are marked failed instead of
    "running" for ever (activities.importing.activity_imports_fail_stale)."""
    from .importing import activity_imports_fail_stale

    return activity_imports_fail_stale()
