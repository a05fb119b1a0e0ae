"""Writing to the audit log. Every state change in every app goes through `audit_log`."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .middleware import current_ip
from .models import AuditLogEntry

SECRET_KEYS = {"password", "token", "key", "secret"}


def _masked(changes: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ("***" if any(s in k.lower() for s in SECRET_KEYS) else v) for k, v in changes.items()
    }


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

    `changes` maps field names to ``[old, new]`` (or any JSON-able payload); secrets are masked.
    The client's IP address is taken from the current request when not given.
    """
    is_person = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditLogEntry.objects.create(
        actor=actor if is_person else None,
        actor_repr=(actor.email if is_person else "system")[:300],
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:300] if obj is not None else "",
        changes=_masked(changes or {}),
        comment=comment,
        ip_address=ip_address or current_ip.get(),
    )


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose values differ, as ``{field: [old, new]}``."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
