"""Email to people, in their own language, sent only once the transaction that caused it commits.

Every email the portal sends goes through `notify`. Templates live in ``templates/emails/``:
``<name>_subject.txt`` and ``<name>_body.txt`` (plain text; wrap the body in
``{% autoescape off %}``). Each template gets ``recipient`` (the User, or None for a bare
address), ``site_url`` and ``portal_name`` besides the given context; links are absolute, built
on ``settings.SITE_URL`` (see `absolute_url`).
"""

import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

logger = logging.getLogger(__name__)


def absolute_url(viewname: str, *args, **kwargs) -> str:
    """`reverse` made absolute on SITE_URL, for links in emails."""
    return settings.SITE_URL + reverse(viewname, args=args or None, kwargs=kwargs or None)


def recipient_language(recipient) -> str:
    language = getattr(recipient, "preferred_language", None)
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE


def render_email(
    recipient, template: str, context: dict[str, Any] | None = None, *, language: str | None = None
) -> tuple[str, str]:
    """The subject (one line) and body of email `template` for `recipient`, in their language."""
    user = None if isinstance(recipient, str) else recipient
    full_context = {
        "recipient": user,
        "site_url": settings.SITE_URL,
        "portal_name": settings.PORTAL_NAME,
        **(context or {}),
    }
    with translation.override(language or recipient_language(user)):
        subject = render_to_string(f"emails/{template}_subject.txt", full_context)
        body = render_to_string(f"emails/{template}_body.txt", full_context)
    return " ".join(subject.split()), body.strip() + "\n"


def notify(
    recipient, template: str, context: dict[str, Any] | None = None, *, language: str | None = None
) -> None:
    """Email `recipient` (a User, or a bare address) the rendered `template`.

    Side effects: renders now, inside ``translation.override`` of `language` or else the
    recipient's preferred language; queues the Celery task `accounts.tasks.send_email` when the
    current transaction commits (at once outside a transaction), so nothing rolled back is ever
    announced. A failure to queue or to send is logged, never raised.
    """
    address = recipient if isinstance(recipient, str) else recipient.email
    if not address:
        logger.warning("Not emailing %r (%s): no address", recipient, template)
        return
    language = language or recipient_language(None if isinstance(recipient, str) else recipient)
    subject, body = render_email(recipient, template, context, language=language)
    transaction.on_commit(partial(_queue, subject, body, address, language, template))


def notify_on_commit(
    recipients: Callable[[], Iterable[Any]],
    template: str,
    context: dict[str, Any] | None = None,
) -> None:
    """Like `notify` for each of `recipients()`, but all of it once the current transaction
    commits (at once outside a transaction): who they are is looked up and each email rendered
    (in the recipient's language) only then, so that none of it lengthens the transaction and
    the locks it holds. Context values that are callables are called then, once (e.g. a place
    in a queue). Nothing is sent if the transaction rolls back; a failure to look up, render or
    queue is logged, never raised (the action has committed).
    """

    def send() -> None:
        try:
            resolved = {
                name: value() if callable(value) and not hasattr(value, "_meta") else value
                for name, value in (context or {}).items()
            }
            for recipient in recipients():
                notify(recipient, template, resolved)
        except Exception:
            logger.exception("Could not send email %s", template)

    transaction.on_commit(send)


def _queue(subject: str, body: str, address: str, language: str, template: str) -> None:
    from accounts.tasks import send_email

    try:
        send_email.delay(subject, body, [address], language=language)
    except Exception:
        # The broker is down or refused the message: the action stands, the mail is lost.
        logger.exception("Could not queue email %s to %s", template, address)
