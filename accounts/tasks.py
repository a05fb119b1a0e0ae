"""Background work of the accounts app. Without a broker, Celery runs these eagerly in-process."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=3, default_retry_delay=120, acks_late=True)
def send_email(self, subject: str, body: str, to: list[str], language: str = "") -> bool:
    """Send one plain-text email (in `language`, which it declares). Returns whether it went out.

    On a worker a failure is retried a few times; in-process (eager) or after the last retry it
    is logged and dropped: a lost email must never undo or break the action that caused it.
    """
    headers = {"Content-Language": language} if language else None
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, to, headers=headers)
    try:
        message.send()
    except Exception as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            logger.exception("Sending email %r to %s failed", subject, ", ".join(to))
            return False
        raise self.retry(exc=exc) from exc
    return True
