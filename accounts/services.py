"""Writes about people and their roles. Each service runs in a transaction and writes the audit log.

Emails go out through `qualitymonth.notifications.notify`, only after the transaction commits.
"""

import logging
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from activities.models import Department, Region
from qualitymonth.audit import audit_log, field_changes
from qualitymonth.errors import DomainError, IllegalTransition, NotAllowed
from qualitymonth.notifications import absolute_url, notify
from registrations.models import Enterprise
from registrations.validators import normalise_uscc

from .enums import RepresentationStatus
from .models import (
    DepartmentMembership,
    EnterpriseRepresentative,
    EnterpriseSignup,
    PersonalToken,
    ReviewerAssignment,
    User,
)
from .rules import forget_roles
from .tokens import (
    email_verification_token_generator,
    invitation_token_generator,
    link_lifetime_days,
    uidb64,
)

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "qm_"  # noqa: S105 - a marker, not a secret  # nosec B105


# --- personal API tokens ---------------------------------------------------------------------


@transaction.atomic
def token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[PersonalToken, str]:
    """Make a personal API token and return it with its key, which is shown only this once.

    Refuses an empty name and an expiry that is not in the future."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the token a name."), code="token_name_missing", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError(
            _("The expiry must lie in the future."), code="token_expiry_past", field="expires_at"
        )
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
def department_membership_grant(
    user: User, *, department: Department, actor: User | None
) -> DepartmentMembership:
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
def reviewer_assignment_grant(
    user: User, *, region: Region | None, actor: User | None
) -> ReviewerAssignment:
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


@transaction.atomic
def platform_admin_grant(user: User, *, actor: User | None) -> User:
    """Make `user` a platform administrator (superuser with access to the site administration)."""
    if not (user.is_superuser and user.is_staff):
        user.is_superuser = user.is_staff = True
        user.save(update_fields=["is_superuser", "is_staff"])
        audit_log(user, "accounts.role.platform_admin.granted", actor=actor)
    forget_roles(user)
    return user


@transaction.atomic
def platform_admin_revoke(user: User, *, actor: User | None) -> User:
    if user.is_superuser or user.is_staff:
        user.is_superuser = user.is_staff = False
        user.save(update_fields=["is_superuser", "is_staff"])
        audit_log(user, "accounts.role.platform_admin.revoked", actor=actor)
    forget_roles(user)
    return user


def _lazy_text(build) -> str:
    """Text built when shown, so an email renders it in its recipient's language."""
    return lazy(build, str)()


def role_descriptions(user: User) -> list[str]:
    """The person's roles in words (lazy: rendered in the language active when shown).

    A read shared by the profile page and the invitation email.
    """
    descriptions: list[str] = []
    if user.is_superuser:
        descriptions.append(_("Platform administrator"))
    assignment = ReviewerAssignment.objects.filter(user=user).select_related("region").first()
    if assignment is not None:
        if assignment.region is None:
            descriptions.append(_("National reviewer"))
        else:
            region = assignment.region
            descriptions.append(
                _lazy_text(
                    lambda: (
                        gettext("Reviewer for %(region)s and everything under it")
                        % {"region": region.name}
                    )
                )
            )
    membership = DepartmentMembership.objects.filter(user=user).select_related("department").first()
    if membership is not None:
        department = membership.department
        descriptions.append(
            _lazy_text(lambda: gettext("Staff of %(department)s") % {"department": department.name})
        )
    representation = (
        EnterpriseRepresentative.objects.filter(user=user, status=RepresentationStatus.APPROVED)
        .select_related("enterprise")
        .first()
    )
    if representation is not None:
        enterprise = representation.enterprise
        descriptions.append(
            _lazy_text(
                lambda: (
                    gettext("Representative of %(enterprise)s") % {"enterprise": enterprise.name}
                )
            )
        )
    return descriptions


# --- the person's own account ----------------------------------------------------------------

PROFILE_FIELDS = ("full_name", "phone", "preferred_language")


@transaction.atomic
def user_profile_update(
    user: User, *, actor: User, full_name: str, phone: str, preferred_language: str
) -> User:
    """Change a person's name, telephone and preferred language (the language of their emails)."""
    if preferred_language not in {code for code, _name in settings.LANGUAGES}:
        raise DomainError(_("Choose one of the offered languages."), field="preferred_language")
    before = {field: getattr(user, field) for field in PROFILE_FIELDS}
    after = {
        "full_name": full_name.strip(),
        "phone": phone.strip(),
        "preferred_language": preferred_language,
    }
    changes = field_changes(before, after)
    if changes:
        for field, value in after.items():
            setattr(user, field, value)
        user.save(update_fields=list(changes))
        audit_log(user, "accounts.user.profile_changed", actor=actor, changes=changes)
    return user


@transaction.atomic
def user_password_change(user: User, password: str, *, actor: User) -> User:
    """Set a new password the person chose while signed in (the form checked the old one)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_log(user, "accounts.user.password_changed", actor=actor)
    return user


@transaction.atomic
def user_password_reset(user: User, password: str) -> User:
    """Set the password from a reset link.

    Side effects: audit; the link reached the person's mailbox, so an unverified address counts
    as verified from now on (see `user_email_verify`, which may turn a sign-up into a claim).
    """
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_log(user, "accounts.user.password_reset", actor=user)
    if user.email_verified_at is None:
        user_email_verify(user, actor=user)
    return user


# --- email verification ---------------------------------------------------------------------


def email_verification_send(user: User) -> bool:
    """Email `user` a one-time link to verify their address. Returns False if already verified."""
    if user.email_verified_at is not None or not user.is_active:
        return False
    token = email_verification_token_generator.make_token(user)
    signup = EnterpriseSignup.objects.filter(user=user).first()
    notify(
        user,
        "email_verification",
        {
            "verify_url": absolute_url("accounts:email_verify", uidb64(user), token),
            "enterprise_name": signup.details.get("name", "") if signup else "",
            "days": link_lifetime_days(),
        },
    )
    return True


@transaction.atomic
def user_email_verify(user: User, *, actor: User | None) -> EnterpriseRepresentative | None:
    """Mark the person's email address verified.

    Side effects: audit; if they signed up with an enterprise, its details become a claim
    (`enterprise_claim_submit`: the enterprise, the claim and its emails), which removes the
    sign-up record. Should the claim be refused (say its region was removed meanwhile), the
    address stays verified and the sign-up record stays, so the claim page can offer the
    details again.
    Returns the claim, if one was made.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.email_verified_at is not None:  # a second click, or two at once
        user.email_verified_at = locked.email_verified_at
        return None
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    audit_log(user, "accounts.user.email_verified", actor=actor)
    signup = EnterpriseSignup.objects.filter(user=user).first()
    if signup is None:
        return None
    try:
        with transaction.atomic():
            representation = enterprise_claim_submit(user, details=signup.details, actor=actor)
    except DomainError as exc:
        logger.warning("Sign-up claim of user %s not made on verification: %s", user.pk, exc)
        return None
    return representation


# --- staff invitations ----------------------------------------------------------------------


@transaction.atomic
def staff_invite(
    *,
    email: str,
    full_name: str,
    preferred_language: str,
    actor: User,
    department: Department | None = None,
    reviewer: bool = False,
    reviewer_region: Region | None = None,
    platform_admin: bool = False,
) -> User:
    """Invite a person to work on the portal, in the given role(s).

    Department staff of `department`; a reviewer (national, or of `reviewer_region` and below,
    which implies `reviewer`); a platform administrator. At least one role.

    Side effects: creates the account without a usable password, or reuses the account that
    has this address (keeping its own name and language where set); grants the roles through
    the grant services; audit; emails a one-time link to set a password (after commit).
    """
    reviewer = reviewer or reviewer_region is not None
    if not (department or reviewer or platform_admin):
        raise DomainError(_("Choose at least one role for the person you invite."))
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(
            email=email,
            password=None,
            full_name=full_name.strip(),
            preferred_language=preferred_language,
        )
    elif not user.is_active:
        raise DomainError(
            _(
                "%(email)s belongs to a deactivated account: reactivate it in the "
                "administration first."
            )
            % {"email": email},
            field="email",
        )
    elif not user.full_name and full_name.strip():
        user.full_name = full_name.strip()
        user.save(update_fields=["full_name"])
    roles = [
        name
        for name, wanted in (
            (f"department_staff:{department.pk}" if department else "", bool(department)),
            (f"reviewer:{reviewer_region.code if reviewer_region else 'national'}", reviewer),
            ("platform_admin", platform_admin),
        )
        if wanted
    ]
    audit_log(
        user, "accounts.user.invited", actor=actor, changes={"new_account": created, "roles": roles}
    )
    if department is not None:
        department_membership_grant(user, department=department, actor=actor)
    if reviewer:
        reviewer_assignment_grant(user, region=reviewer_region, actor=actor)
    if platform_admin:
        platform_admin_grant(user, actor=actor)
    _invitation_send(user, actor=actor)
    return user


def invitation_pending(user: User) -> bool:
    """Whether the person was invited and has not set a password yet."""
    return user.is_active and not user.has_usable_password()


@transaction.atomic
def staff_invitation_resend(user: User, *, actor: User) -> User:
    """Email the invitation link again (a fresh one); only while no password is set."""
    if not invitation_pending(user):
        raise DomainError(
            _(
                "%(person)s has already set a password. They can sign in, or reset a "
                "forgotten password."
            )
            % {"person": user}
        )
    audit_log(user, "accounts.user.invitation_resent", actor=actor)
    _invitation_send(user, actor=actor)
    return user


def _invitation_send(user: User, *, actor: User) -> None:
    token = invitation_token_generator.make_token(user)
    notify(
        user,
        "invitation",
        {
            "accept_url": absolute_url("accounts:invitation_accept", uidb64(user), token),
            "login_url": absolute_url("accounts:login"),
            "inviter": actor,
            "roles": role_descriptions(user),
            "has_password": user.has_usable_password(),
            "days": link_lifetime_days(),
        },
    )


@transaction.atomic
def staff_invitation_accept(user: User, *, password: str) -> User:
    """Set the password chosen through an invitation link (which this uses up).

    Side effects: audit; the address counts as verified (the link reached the mailbox).
    """
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_log(user, "accounts.user.invitation_accepted", actor=user)
    user_email_verify(user, actor=user)
    return user


# --- enterprise sign-up and claims ----------------------------------------------------------

ENTERPRISE_DETAIL_FIELDS = (
    "uscc",
    "name",
    "region",
    "industry",
    "size",
    "address",
    "contact_name",
    "mobile",
    "email",
)


def enterprise_details(data: dict[str, Any]) -> dict[str, Any]:
    """The enterprise fields of a form's cleaned data, as JSON (the region by its id)."""
    details = {field: data.get(field) or "" for field in ENTERPRISE_DETAIL_FIELDS}
    region = details["region"]
    details["region"] = region.pk if isinstance(region, Region) else (region or None)
    details["uscc"] = normalise_uscc(details["uscc"])
    return details


def _enterprise_from_details(details: dict[str, Any]) -> Enterprise:
    enterprise = Enterprise(
        region_id=details.get("region"),
        **{f: details.get(f) or "" for f in ENTERPRISE_DETAIL_FIELDS if f != "region"},
    )
    try:
        enterprise.full_clean(validate_unique=False)
    except ValidationError as exc:
        problems = "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        )
        raise DomainError(
            _("The enterprise details are incomplete: %(problems)s") % {"problems": problems}
        ) from exc
    return enterprise


@transaction.atomic
def enterprise_signup(
    *,
    email: str,
    password: str,
    full_name: str,
    preferred_language: str,
    enterprise: dict[str, Any],
) -> User:
    """Open an account for an enterprise representative, who must verify their address.

    The enterprise details wait in an `EnterpriseSignup` until then: nothing is claimed, and no
    `Enterprise` is created, by an unverified person. Side effects: audit; emails the
    verification link (after commit).
    """
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError(
            _("An account with this email address exists already. Sign in, or reset the password."),
            field="email",
        )
    user = User.objects.create_user(
        email=email,
        password=password,
        full_name=full_name.strip(),
        preferred_language=preferred_language,
    )
    details = enterprise_details(enterprise)
    EnterpriseSignup.objects.create(user=user, uscc=details["uscc"], details=details)
    audit_log(
        user,
        "accounts.user.signed_up",
        actor=user,
        changes={"enterprise": {"uscc": details["uscc"], "name": details["name"]}},
    )
    email_verification_send(user)
    return user


def enterprise_holders(enterprise: Enterprise) -> list[User]:
    """The active, approved representatives: who decides later claims to the enterprise."""
    return list(
        User.objects.filter(
            is_active=True,
            enterprise_representations__enterprise=enterprise,
            enterprise_representations__status=RepresentationStatus.APPROVED,
        ).order_by("pk")
    )


@transaction.atomic
def enterprise_claim_submit(
    user: User, *, details: dict[str, Any], actor: User | None
) -> EnterpriseRepresentative:
    """Claim to represent the enterprise with the credit code in `details`.

    The first verified claimant holds it: for a new code the enterprise is created from
    `details` and the claim approved; for a known code without an active representative the
    claim is approved too (the enterprise's recorded details stay). Otherwise the claim waits
    (pending) for a representative or an administrator.

    Steps: check the person's address is verified and they hold or await no other enterprise;
    lock the enterprise row (claims to one code are decided one at a time); create the
    enterprise and/or the claim; audit; after commit email the claimant, and for a waiting
    claim every active representative too.
    """
    if user.email_verified_at is None:
        raise DomainError(_("Verify your email address before you claim an enterprise."))
    current = (
        EnterpriseRepresentative.objects.filter(
            user=user, status__in=[RepresentationStatus.PENDING, RepresentationStatus.APPROVED]
        )
        .select_related("enterprise")
        .first()
    )
    if current is not None:
        raise DomainError(
            _(
                "You already represent, or wait to represent, %(enterprise)s. One person "
                "represents one enterprise."
            )
            % {"enterprise": current.enterprise}
        )
    details = enterprise_details(details)
    uscc = details["uscc"]
    enterprise = Enterprise.objects.select_for_update().filter(uscc=uscc).first()
    created = False
    if enterprise is None:
        candidate = _enterprise_from_details(details)
        try:
            with transaction.atomic():  # a savepoint: a claim to the same new code may win the race
                candidate.save()
            enterprise, created = candidate, True
        except IntegrityError:
            enterprise = Enterprise.objects.select_for_update().get(uscc=uscc)
    holders = enterprise_holders(enterprise)
    now = timezone.now()
    try:
        with transaction.atomic():
            representation = EnterpriseRepresentative.objects.create(
                user=user,
                enterprise=enterprise,
                status=RepresentationStatus.PENDING if holders else RepresentationStatus.APPROVED,
                decided_at=None if holders else now,
            )
    except IntegrityError as exc:  # a second claim by the same person at the same moment
        raise DomainError(_("You have just claimed an enterprise: reload the page.")) from exc
    # A claim supersedes the details typed at sign-up.
    EnterpriseSignup.objects.filter(user=user).delete()
    if created:
        audit_log(
            enterprise,
            "registrations.enterprise.created",
            actor=actor,
            changes=dict(details),
            comment="created by the first verified claim to its credit code",
        )
    audit_log(
        representation,
        "accounts.representative.claimed",
        actor=actor,
        changes={"status": [None, representation.status], "uscc": uscc, "details": details},
    )
    forget_roles(user)
    page = absolute_url("accounts:my_enterprise")
    if holders:
        notify(user, "claim_pending_claimant", {"enterprise": enterprise, "url": page})
        decide_url = absolute_url("accounts:enterprise_representatives", enterprise.pk)
        for holder in holders:
            notify(
                holder,
                "claim_pending_holder",
                {"enterprise": enterprise, "claimant": user, "details": details, "url": decide_url},
            )
    else:
        notify(user, "claim_approved", {"enterprise": enterprise, "first": True, "url": page})
    return representation


_REPRESENTATION_TRANSITIONS = {
    RepresentationStatus.PENDING: {
        RepresentationStatus.APPROVED,
        RepresentationStatus.REJECTED,
        RepresentationStatus.REVOKED,  # withdrawn by the claimant, or dropped by a representative
    },
    RepresentationStatus.APPROVED: {RepresentationStatus.REVOKED},
}
_REPRESENTATION_EMAILS = {
    RepresentationStatus.APPROVED: "claim_approved",
    RepresentationStatus.REJECTED: "claim_rejected",
    RepresentationStatus.REVOKED: "representation_revoked",
}


@transaction.atomic
def representation_set_status(
    representation: EnterpriseRepresentative,
    status: str,
    *,
    actor: User,
    reason: str = "",
) -> EnterpriseRepresentative:
    """The one function that moves a claim after it was made.

    Steps:
    1. lock the claim; check that `actor` manages the enterprise's representatives (one of them,
       or a platform administrator; a claimant may only withdraw their own waiting claim), else
       NotAllowed; check the move is legal (pending → approved / rejected / revoked,
       approved → revoked), else IllegalTransition; a rejection needs a reason;
    2. save the status, who decided, when and why;
    3. write the audit log with the previous status and the reason;
    4. after commit, email the claimant the decision (not when they withdrew it themselves).
    `enterprise_claim_approve`, `enterprise_claim_reject`, `enterprise_claim_withdraw` and
    `enterprise_representative_remove` are thin wrappers.
    """
    locked = (
        EnterpriseRepresentative.objects.select_for_update(of=("self",))
        .select_related("enterprise", "user")
        .get(pk=representation.pk)
    )
    previous = locked.status
    own_withdrawal = (
        locked.user_id == actor.pk
        and previous == RepresentationStatus.PENDING
        and status == RepresentationStatus.REVOKED
    )
    if not own_withdrawal and not actor.has_perm(
        "registrations.manage_representatives", locked.enterprise
    ):
        raise NotAllowed(
            gettext("Only the enterprise's representatives or an administrator decide this.")
        )
    if status not in _REPRESENTATION_TRANSITIONS.get(previous, set()):
        raise IllegalTransition(
            _("This cannot be done any more: the claim is now “%(status)s”.")
            % {"status": locked.get_status_display()}
        )
    reason = reason.strip()
    if status == RepresentationStatus.REJECTED and not reason:
        raise DomainError(
            _("Give a reason for the rejection: the claimant will read it."), field="reason"
        )
    locked.status = status
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.reason = reason
    locked.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    action = "withdrawn" if own_withdrawal else status
    audit_log(
        locked,
        f"accounts.representative.{action}",
        actor=actor,
        changes={"status": [previous, status]},
        comment=reason,
    )
    forget_roles(locked.user)
    if not own_withdrawal:
        notify(
            locked.user,
            _REPRESENTATION_EMAILS[status],
            {
                "enterprise": locked.enterprise,
                "reason": reason,
                "first": False,
                "url": absolute_url("accounts:my_enterprise"),
            },
        )
    representation.refresh_from_db()
    return representation


def enterprise_claim_approve(
    representation: EnterpriseRepresentative, *, actor: User
) -> EnterpriseRepresentative:
    return representation_set_status(representation, RepresentationStatus.APPROVED, actor=actor)


def enterprise_claim_reject(
    representation: EnterpriseRepresentative, *, actor: User, reason: str
) -> EnterpriseRepresentative:
    return representation_set_status(
        representation, RepresentationStatus.REJECTED, actor=actor, reason=reason
    )


def enterprise_claim_withdraw(
    representation: EnterpriseRepresentative, *, actor: User
) -> EnterpriseRepresentative:
    return representation_set_status(representation, RepresentationStatus.REVOKED, actor=actor)


def enterprise_representative_remove(
    representation: EnterpriseRepresentative, *, actor: User, reason: str = ""
) -> EnterpriseRepresentative:
    return representation_set_status(
        representation, RepresentationStatus.REVOKED, actor=actor, reason=reason
    )
