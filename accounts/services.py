"""Writes about people and their roles. Each service runs in a transaction and writes the audit log."""

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from activities.models import Department, Region
from qualitymonth.audit import audit_log

from .models import DepartmentMembership, PersonalToken, ReviewerAssignment, User
from .rules import forget_roles

TOKEN_PREFIX = "qm_"


# --- personal API tokens ---------------------------------------------------------------------

@transaction.atomic
def token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[PersonalToken, str]:
    """Make a personal API token and return it with its key, which is shown only this once."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PersonalToken.objects.create(
        user=user,
        name=name,
        prefix=key[: len(TOKEN_PREFIX) + 6],
        key_hash=PersonalToken.hash_key(key),
        expires_at=expires_at,
    )
    audit_log(token, "accounts.token.created", actor=user, changes={"name": name})
    return token, key


@transaction.atomic
def token_revoke(token: PersonalToken, *, actor: User) -> PersonalToken:
    """Revoke a token for good (revoking twice is harmless)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log(token, "accounts.token.revoked", actor=actor)
    return token


# --- roles -----------------------------------------------------------------------------------

@transaction.atomic
def department_membership_grant(user: User, *, department: Department, actor: User | None) -> DepartmentMembership:
    """Make `user` staff of `department` (replacing an earlier department)."""
    previous = DepartmentMembership.objects.filter(user=user).first()
    membership, _created = DepartmentMembership.objects.update_or_create(
        user=user, defaults={"department": department, "granted_by": actor}
    )
    audit_log(
        user,
        "accounts.role.department_staff.granted",
        actor=actor,
        changes={"department": [str(previous.department) if previous else None, str(department)]},
    )
    forget_roles(user)
    return membership


@transaction.atomic
def department_membership_revoke(user: User, *, actor: User | None) -> None:
    membership = DepartmentMembership.objects.filter(user=user).select_related("department").first()
    if membership is not None:
        membership.delete()
        audit_log(
            user,
            "accounts.role.department_staff.revoked",
            actor=actor,
            changes={"department": [str(membership.department), None]},
        )
    forget_roles(user)


@transaction.atomic
def reviewer_assignment_grant(user: User, *, region: Region | None, actor: User | None) -> ReviewerAssignment:
    """Make `user` a reviewer: national when `region` is None, else for that region and below."""
    assignment, _created = ReviewerAssignment.objects.update_or_create(
        user=user, defaults={"region": region, "granted_by": actor}
    )
    audit_log(
        user,
        "accounts.role.reviewer.granted",
        actor=actor,
        changes={"region": region.code if region else "national"},
    )
    forget_roles(user)
    return assignment


@transaction.atomic
def reviewer_assignment_revoke(user: User, *, actor: User | None) -> None:
    deleted, _ = ReviewerAssignment.objects.filter(user=user).delete()
    if deleted:
        audit_log(user, "accounts.role.reviewer.revoked", actor=actor)
    forget_roles(user)
