"""Idempotent POSTs over the API: the ``Idempotency-Key`` header.

A client that cannot tell whether its request arrived (a timeout, a dropped connection) sends it
again with the same key. The first request with a key does the work; a replay with the same key
from the same user, to the same method and path with the same body (compared by SHA-256), gets
the same response (status and JSON body) without the work being done again; the same key with
another request answers 422. Keys are kept for ``IDEMPOTENCY_KEY_HOURS`` (24 by default), then
count as unused (the hourly task deletes them).

Concurrency: the key's row is inserted in the same transaction as the work and stored with its
response before that transaction commits. A concurrent replay's INSERT waits on the unique
constraint (user, key) until the first transaction ends: on commit it fails, and the replay
reads the stored response under a row lock (``select_for_update``); on rollback (a server error)
nothing was stored and the replay does the work itself. So any number of simultaneous replays
perform it exactly once. A replay waits at most `LOCK_TIMEOUT_MS` and then answers 409.

Responses below 500 are stored (a refusal such as "already registered" is the answer to that
request too); server errors are not, so the client may retry with the same key.
"""

import datetime as dt
import hashlib
import json
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
LOCK_TIMEOUT_MS = 30_000
REPLAYED_HEADER = "Idempotent-Replayed"

PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=_(
        "Optional; any unique string of up to 255 printable ASCII characters, e.g. a UUID. Send "
        "the same key again when you do not know whether a request arrived: the first request "
        "with a key is carried out, a replay (same key, same user, same body) gets the same "
        "response again without signing up twice (with the header Idempotent-Replayed: true), "
        "and the same key with another body answers 422. Keys are kept for 24 hours."
    ),
)


def key_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=int(getattr(settings, "IDEMPOTENCY_KEY_HOURS", 24)))


def _error(status: int, code: str, message) -> Response:
    return Response({"detail": str(message), "code": code}, status=status)


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(" " <= ch <= "~" for ch in key)


def _body_sha256(request) -> str:
    try:
        body = request._request.body
    except RawPostDataException:  # already read as a stream: hash what it parsed to
        body = JSONRenderer().render(request.data)
    return hashlib.sha256(body).hexdigest()


def _lock_timeout() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")


def _claim(user, key: str, request_line: str, digest: str) -> tuple[IdempotencyKey, bool]:
    """The key's row, locked, and whether this request created it (and must do the work)."""
    expired_before = timezone.now() - key_lifetime()
    mine = IdempotencyKey.objects.filter(user=user, key=key)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user, key=key, request=request_line, body_sha256=digest
                )
            return record, True
        except IntegrityError:
            pass  # someone has it: waited for their transaction to end
        record = mine.select_for_update().first()
        if record is None:  # theirs was rolled back: claim it again
            continue
        if record.created_at < expired_before:
            record.delete()
            continue
        return record, False
    raise IntegrityError(f"Could not claim idempotency key {key!r}")  # pragma: no cover


def _stored(response) -> object:
    """The response's data as plain JSON (what a replay will send)."""
    return json.loads(JSONRenderer().render(response.data) or b"null")


def idempotent(action):
    """Decorate a DRF view method that handles a POST (``create``, an ``@action``): with an
    ``Idempotency-Key`` header it runs at most once per key (see the module's docstring);
    without one it runs as usual."""

    @wraps(action)
    def wrapped(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return action(view, request, *args, **kwargs)
        if not _valid_key(key):
            return _error(
                400,
                "idempotency_key_invalid",
                _("The Idempotency-Key header must be 1 to 255 printable ASCII characters."),
            )
        request_line = f"{request.method} {request.path}"[:300]
        digest = _body_sha256(request)
        try:
            with transaction.atomic():
                _lock_timeout()
                record, created = _claim(request.user, key, request_line, digest)
                if not created:
                    return _replay(record, request_line, digest)
                try:
                    with transaction.atomic():
                        response = action(view, request, *args, **kwargs)
                except Exception as error:
                    response = view.handle_exception(error)  # raises what it cannot handle
                if response.status_code >= 500:
                    transaction.set_rollback(True)  # not stored: the client may try again
                    return response
                record.response_status = response.status_code
                record.response_body = _stored(response)
                record.save(update_fields=["response_status", "response_body"])
                return response
        except OperationalError as error:
            if getattr(getattr(error, "__cause__", None), "sqlstate", None) != "55P03":
                raise
            return _error(
                409,
                "idempotency_key_in_use",
                _("A request with this Idempotency-Key is still being processed. Try again."),
            )

    return wrapped


def _replay(record: IdempotencyKey, request_line: str, digest: str) -> Response:
    if record.request != request_line or record.body_sha256 != digest:
        return _error(
            422,
            "idempotency_key_reused",
            _(
                "This Idempotency-Key was already used for another request (a different body or "
                "address). Use a new key for a new request."
            ),
        )
    if record.response_status is None:  # pragma: no cover - stored in the same transaction
        return _error(
            409,
            "idempotency_key_in_use",
            _("A request with this Idempotency-Key is still being processed. Try again."),
        )
    response = Response(record.response_body, status=record.response_status)
    response[REPLAYED_HEADER] = "true"
    return response


def idempotency_keys_purge() -> int:
    """Delete the keys older than their lifetime; returns how many."""
    deleted, _by_model = IdempotencyKey.objects.filter(
        created_at__lt=timezone.now() - key_lifetime()
    ).delete()
    return deleted
