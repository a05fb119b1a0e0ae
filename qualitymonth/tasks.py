"""Background jobs of the portal's shared pieces (run by Celery workers, scheduled by beat)."""

from celery import shared_task


@shared_task
def purge_idempotency_keys() -> int:
    """Delete Idempotency-Keys past their lifetime (their stored responses may name people)."""
    from .idempotency import idempotency_keys_purge

    return idempotency_keys_purge()
