"""Writing to the audit log. Every state change in every app goes through `audit_log`."""

import ipaddress
import re
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .middleware import current_ip
from .models import AuditLogEntry

MASK = "***"
# Words that make a field name secret wherever they stand in it ...
_SECRET_WORDS = {
    "password",
    "passwd",
    "secret",
    "token",
    "hash",
    "otp",
    "credential",
    "credentials",
}
# ... and a "key" only as the last word ("api_key", "key"), never "key_arrangement".
_SECRET_LAST_WORDS = {"key", "apikey"}


def is_secret_key(name: str) -> bool:
    words = [w for w in re.split(r"[^a-z0-9]+", str(name).lower()) if w]
    if not words:
        return False
    return (
        any(w in _SECRET_WORDS or "password" in w for w in words) or words[-1] in _SECRET_LAST_WORDS
    )


# Contact details are personal data the append-only log could never purge (docs/privacy.md):
# it keeps enough to tell values apart (138****8000, w***@example.cn), never the whole.
_CONTACT_KEYS = {"mobile", "phone", "email", "contact_mobile", "contact_phone", "contact_email"}


# People's names as enterprises typed them: the registration's and the enterprise's contact, the
# attendees (a list of names, or of {"name": ..., "mobile": ...}), a complaint's reporter. Kept as
# their first character and "**" (张**), enough to tell entries apart, not to name anyone. Not
# the actors (recorded by email), nor titles or organisations' names.
_PERSON_NAME_KEYS = {"contact_name", "attendee", "attendee_name", "reporter_name"}
_PEOPLE_KEYS = {"attendees"}


def _name_partly(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_name_partly(v) for v in value]
    if not isinstance(value, str) or not value.strip():
        return value
    return f"{value.strip()[0]}**"


def _people_partly(value: Any) -> Any:
    """Attendees: names partly, and each one's contact details as anywhere else."""
    if isinstance(value, list | tuple):
        return [_people_partly(v) for v in value]
    if isinstance(value, dict):
        return {
            k: _name_partly(v) if str(k).lower() == "name" else _masked({k: v})[k]
            for k, v in value.items()
        }
    return _name_partly(value)


def _partly(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_partly(v) for v in value]
    if not isinstance(value, str) or not value:
        return value
    if "@" in value:
        local, _at, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = value.strip()
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


def _masked(value: Any) -> Any:
    """`value` with the value of every secret-looking key replaced, and contact details and
    people's names partly hidden, at any depth."""
    if isinstance(value, dict):
        return {k: _masked_value(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _masked_value(key: Any, value: Any) -> Any:
    name = str(key).lower()
    if is_secret_key(name):
        return MASK
    if name in _CONTACT_KEYS:
        return _partly(value)
    if name in _PERSON_NAME_KEYS:
        return _name_partly(value)
    if name in _PEOPLE_KEYS:
        return _people_partly(value)
    return _masked(value)


def _valid_ip(value: str | None) -> str | None:
    # The address comes from a request header: store it only if it is one (the column is inet
    # on PostgreSQL, so anything else would make the whole state change fail).
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None


def audit_log(
    obj: models.Model | None,
    action: str,
    *,
    actor=None,
    changes: dict[str, Any] | None = None,
    comment: str = "",
    ip_address: str | None = None,
) -> AuditLogEntry:
    """Record `action` (a dotted code such as ``activities.activity.approved``) on `obj`.

    `changes` maps field names to ``[old, new]`` (or any JSON-able payload); the values of
    secret-looking keys (password, token, api_key, ...) are masked, and contact details (mobile,
    phone, email) and people's names (contact_name, attendees, ...) partly hidden, at any depth.
    The client's IP address is taken from the current request when not given.
    """
    entry = audit_entry(
        obj,
        action,
        actor=actor,
        changes=changes,
        comment=comment,
        ip_address=ip_address,
    )
    entry.save(force_insert=True)
    return entry


def audit_entry(
    obj: models.Model | None,
    action: str,
    *,
    actor=None,
    changes: dict[str, Any] | None = None,
    comment: str = "",
    ip_address: str | None = None,
) -> AuditLogEntry:
    """The entry `audit_log` writes, not yet saved: for a service that writes it in the same
    statement as the change it records (``registrations.services``' sign-up)."""
    is_person = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditLogEntry(
        actor=actor if is_person else None,
        actor_repr=(actor.email if is_person else "system")[:300],
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:300] if obj is not None else "",
        changes=_masked(changes or {}),
        comment=comment,
        ip_address=_valid_ip(ip_address or current_ip.get()),
    )


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose values differ, as ``{field: [old, new]}``."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
