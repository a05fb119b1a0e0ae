"""Personal data of enterprise contacts: export on request, deletion on request, and the periodic
purge after a campaign (see docs/privacy.md).

What counts as personal data here: an account (email, name, telephone), the contact person of an
enterprise (name, mobile, email), a registration's contact (name, mobile) and note, its attendees
(names, mobiles), a fee complaint's reporter (name, how to reach them), an enterprise sign-up
still waiting for email verification, login records (django-axes) under the email address, and
the API's idempotency records (a sign-up's response, with the attendees, kept for
IDEMPOTENCY_KEY_HOURS).

Deleting is anonymising: names become ``ERASED``, mobiles, emails and notes are blanked, while
every row, count, status, date and check-in code stays, so that the statistics (registrations per
activity, per region, confirmed and waiting, attendees, check-ins) are the same before and after.

The audit log is append-only, enforced by a database trigger, and is left untouched: it is the
record of who did what. Deletions and purges are audited with counts and field names only, never
the deleted values. Older entries may hold names and contact details (see docs/privacy.md).
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.enums import RepresentationStatus
from accounts.models import EnterpriseRepresentative, EnterpriseSignup, PersonalToken, User
from accounts.rules import forget_roles
from activities.models import Campaign
from qualitymonth.audit import audit_log
from qualitymonth.errors import DomainError, NotAllowed
from qualitymonth.models import AuditLogEntry, IdempotencyKey

from .models import Attendee, Enterprise, FeeComplaint, FeeComplaintStatus, Registration
from .validators import normalise_mobile, normalise_uscc

# What an anonymised name reads, in the portal's language, on every page and export that shows it.
ERASED = "已删除"
ERASED_EMAIL_DOMAIN = "deleted.invalid"  # RFC 2606: can never receive mail

_REGISTRATION_ERASED = {"contact_name": ERASED, "contact_mobile": "", "note": ""}
_ATTENDEE_ERASED = {"name": ERASED, "mobile": ""}
_ENTERPRISE_ERASED = {"contact_name": ERASED, "mobile": "", "email": ""}
_COMPLAINT_ERASED = {"reporter_name": "", "reporter_contact": ""}


# --- whose data ----------------------------------------------------------------------------------


@dataclass
class Subject:
    """The person (by email) or the enterprise (by credit code) a request is about."""

    user: User | None = None
    enterprise: Enterprise | None = None

    def __str__(self):
        return self.user.email if self.user else f"{self.enterprise.name} ({self.enterprise.uscc})"


def personal_data_subject(identifier: str) -> Subject:
    """The account with this email address, or the enterprise with this credit code."""
    identifier = (identifier or "").strip()
    if "@" in identifier:
        user = User.objects.filter(email__iexact=identifier).first()
        if user is None:
            raise DomainError(
                _("No account has the email address %(email)s.") % {"email": identifier},
                code="unknown_subject",
            )
        return Subject(user=user)
    enterprise = Enterprise.objects.filter(uscc=normalise_uscc(identifier)).first()
    if enterprise is None:
        raise DomainError(
            _("No enterprise has the Unified Social Credit Code %(code)s.") % {"code": identifier},
            code="unknown_subject",
        )
    return Subject(enterprise=enterprise)


def _check_operator(actor) -> None:
    """The operator's account, when one is named, must be an active platform administrator."""
    if actor is not None and not (actor.is_active and actor.is_superuser):
        raise NotAllowed(_("Only platform administrators handle personal data requests."))


def _representatives(enterprise: Enterprise):
    return User.objects.filter(
        enterprise_representations__enterprise=enterprise,
        enterprise_representations__status=RepresentationStatus.APPROVED,
    ).distinct()


def _registrations_of(subject: Subject):
    if subject.enterprise is not None:
        registrations = Registration.objects.filter(enterprise=subject.enterprise)
    else:
        registrations = Registration.objects.filter(registered_by=subject.user)
    return registrations.select_related("activity", "enterprise").prefetch_related("attendees")


def _complaints_of(subject: Subject):
    if subject.enterprise is not None:
        return FeeComplaint.objects.filter(reporter__in=_representatives(subject.enterprise))
    return FeeComplaint.objects.filter(reporter=subject.user)


def _idempotency_records_of(subject: Subject):
    """The API's stored responses to the person's requests; for an enterprise, to its approved
    representatives' and any other about it (a former representative's sign-up)."""
    if subject.user is not None:
        return IdempotencyKey.objects.filter(user=subject.user)
    return IdempotencyKey.objects.filter(
        Q(user__in=_representatives(subject.enterprise))
        | Q(response_body__enterprise__id=subject.enterprise.pk)
    )


def _enterprise_contacts_of(user: User):
    """Enterprises whose recorded contact is this person: by email, or by their mobile."""
    match = Q(email__iexact=user.email)
    mobile = normalise_mobile(user.phone or "")
    if mobile:
        match |= Q(mobile=mobile)
    return Enterprise.objects.filter(match)


# --- export --------------------------------------------------------------------------------------


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def _account(user: User) -> dict[str, Any]:
    signup = EnterpriseSignup.objects.filter(user=user).first()
    return {
        "email": user.email,
        "full_name": user.full_name,
        "phone": user.phone,
        "preferred_language": user.preferred_language,
        "active": user.is_active,
        "joined": _when(user.date_joined),
        "last_login": _when(user.last_login),
        "email_verified": _when(user.email_verified_at),
        "enterprise_signup_awaiting_verification": (
            {"uscc": signup.uscc, "details": signup.details, "created": _when(signup.created_at)}
            if signup
            else None
        ),
        "representations": [
            {
                "enterprise": r.enterprise.name,
                "uscc": r.enterprise.uscc,
                "status": r.status,
                "claimed": _when(r.created_at),
                "decided": _when(r.decided_at),
                "reason": r.reason,
            }
            for r in user.enterprise_representations.select_related("enterprise")
        ],
        "api_tokens": [
            {
                "name": t.name,
                "created": _when(t.created_at),
                "last_used": _when(t.last_used_at),
                "expires": _when(t.expires_at),
                "revoked": _when(t.revoked_at),
            }
            for t in PersonalToken.objects.filter(user=user)
        ],
    }


def _enterprise(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "name": enterprise.name,
        "uscc": enterprise.uscc,
        "region": enterprise.region.name if enterprise.region_id else None,
        "address": enterprise.address,
        "contact_name": enterprise.contact_name,
        "mobile": enterprise.mobile,
        "email": enterprise.email,
        "created": _when(enterprise.created_at),
        "updated": _when(enterprise.updated_at),
    }


def _registration(r: Registration) -> dict[str, Any]:
    return {
        "activity": {"id": r.activity_id, "title": r.activity.title},
        "enterprise": r.enterprise.uscc,
        "status": r.status,
        "attendee_count": r.attendee_count,
        "contact_name": r.contact_name,
        "contact_mobile": r.contact_mobile,
        "note": r.note,
        "check_in_code": r.check_in_code,
        "attendees": [{"name": a.name, "mobile": a.mobile} for a in r.attendees.all()],
        "registered": _when(r.created_at),
        "confirmed": _when(r.confirmed_at),
        "withdrawn": _when(r.withdrawn_at),
        "checked_in": _when(r.checked_in_at),
    }


def _complaint(c: FeeComplaint) -> dict[str, Any]:
    return {
        "reference": c.reference,
        "received": _when(c.created_at),
        "status": c.status,
        "who_charged": c.organiser_name or (str(c.organiser) if c.organiser_id else ""),
        "description": c.description,
        "amount": c.amount,
        "occurred_on": c.occurred_on.isoformat() if c.occurred_on else None,
        "reporter_name": c.reporter_name,
        "reporter_contact": c.reporter_contact,
        "outcome": c.outcome,
        "evidence": [
            {"file": e.original_name, "size": e.size, "sha256": e.sha256} for e in c.evidence.all()
        ],
    }


def _objects_q(objects) -> Q:
    """Audit entries about any of `objects` (a list of model instances)."""
    by_type: dict[int, list[str]] = {}
    for obj in objects:
        content_type = ContentType.objects.get_for_model(obj)
        by_type.setdefault(content_type.pk, []).append(str(obj.pk))
    q = Q(pk__in=[])
    for content_type_id, ids in by_type.items():
        q |= Q(content_type_id=content_type_id, object_id__in=ids)
    return q


def _audit_entry(entry: AuditLogEntry, *, with_details: bool) -> dict[str, Any]:
    data = {
        "time": _when(entry.created_at),
        "action": entry.action,
        "object": f"{entry.content_type.model if entry.content_type_id else ''}:{entry.object_id}",
    }
    if with_details:
        data.update(actor=entry.actor_repr, changes=entry.changes, comment=entry.comment)
    return data


@transaction.atomic
def personal_data_export(subject: Subject, *, actor=None, reason: str = "") -> dict[str, Any]:
    """Everything the portal holds about a person or an enterprise, as JSON-able data.

    A person: their account (with a sign-up awaiting verification, their claims and API tokens),
    the enterprises whose contact they are, the registrations they made with the attendees and
    contacts, the fee complaints they filed, the audit entries about them and a list of their
    own recorded actions. An enterprise: its record, its approved representatives' accounts, all
    its registrations, the fee complaints its representatives filed, the audit entries about it,
    its registrations and its representatives.

    Side effect: an audit entry (``registrations.personal_data.exported``) naming no data.
    """
    _check_operator(actor)
    registrations = list(_registrations_of(subject))
    complaints = list(_complaints_of(subject).prefetch_related("evidence"))
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "subject": str(subject),
    }
    if subject.user is not None:
        user = subject.user
        about = [user, *user.enterprise_representations.all(), *registrations, *complaints]
        data["account"] = _account(user)
        data["enterprise_contact_of"] = [
            _enterprise(e) for e in _enterprise_contacts_of(user).select_related("region")
        ]
        own_actions = AuditLogEntry.objects.filter(actor=user).select_related("content_type")
    else:
        enterprise = subject.enterprise
        representatives = list(_representatives(enterprise))
        representations = EnterpriseRepresentative.objects.filter(enterprise=enterprise)
        about = [enterprise, *representatives, *representations, *registrations, *complaints]
        data["enterprise"] = _enterprise(enterprise)
        data["representatives"] = [_account(u) for u in representatives]
        own_actions = AuditLogEntry.objects.none()
    data["registrations"] = [_registration(r) for r in registrations]
    data["fee_complaints"] = [_complaint(c) for c in complaints]
    data["api_idempotency_records"] = [
        {
            "request": k.request,
            "created": _when(k.created_at),
            "response_status": k.response_status,
            "response": k.response_body,
        }
        for k in _idempotency_records_of(subject).order_by("created_at", "pk")
    ]
    entries = AuditLogEntry.objects.filter(_objects_q(about)).select_related("content_type")
    data["audit_entries_about"] = [_audit_entry(e, with_details=True) for e in entries]
    # What they did, without the details (which may be about other people).
    data["audit_entries_of_own_actions"] = [
        _audit_entry(e, with_details=False) for e in own_actions
    ]
    audit_log(
        subject.user or subject.enterprise,
        "registrations.personal_data.exported",
        actor=actor,
        changes={"registrations": len(registrations), "fee_complaints": len(complaints)},
        comment=reason,
    )
    return data


# --- deletion on request -------------------------------------------------------------------------


@dataclass
class Erasure:
    """What a deletion or a purge anonymised (counts only)."""

    accounts: int = 0
    enterprise_contacts: int = 0
    registrations: int = 0
    attendees: int = 0
    fee_complaints: int = 0
    sign_ups: int = 0
    login_records: int = 0
    idempotency_records: int = 0
    campaigns: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v}


def _erase_registrations(registrations, erasure: Erasure) -> None:
    ids = list(registrations.values_list("pk", flat=True))
    # Bulk updates leave `updated_at` alone: the registrations' dates stay what they were.
    erasure.registrations += (
        Registration.objects.filter(pk__in=ids)
        .exclude(**_REGISTRATION_ERASED)
        .update(**_REGISTRATION_ERASED)
    )
    erasure.attendees += (
        Attendee.objects.filter(registration_id__in=ids)
        .exclude(**_ATTENDEE_ERASED)
        .update(**_ATTENDEE_ERASED)
    )


def _erase_account(user: User, erasure: Erasure) -> None:
    """Deactivate the account and replace everything that identifies the person. The row stays:
    the audit log points at it."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    email = user.email
    user.email = f"deleted-{user.pk}@{ERASED_EMAIL_DOMAIN}"
    user.full_name = ERASED
    user.phone = ""
    user.is_active = False
    user.set_unusable_password()  # also ends every session (their hash no longer matches)
    user.save(update_fields=["email", "full_name", "phone", "is_active", "password"])
    forget_roles(user)
    EnterpriseSignup.objects.filter(user=user).delete()
    PersonalToken.objects.filter(user=user).delete()
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        erasure.login_records += model.objects.filter(username__iexact=email).delete()[0]
    erasure.fee_complaints += (
        FeeComplaint.objects.filter(reporter=user)
        .exclude(**_COMPLAINT_ERASED)
        .update(**_COMPLAINT_ERASED)
    )
    erasure.accounts += 1


@transaction.atomic
def personal_data_delete(subject: Subject, *, actor=None, reason: str) -> Erasure:
    """Anonymise a person's or an enterprise's personal data on request; statistics stay intact.

    A person: their account (deactivated, email replaced, name and telephone removed, password
    unusable, API tokens, pending sign-up and login records deleted), the registrations they made
    (contact, note and attendees), the enterprises whose contact they are, the reporter details
    of their fee complaints, the API's idempotency records of their requests (deleted). An
    enterprise: its contact, all its registrations, the idempotency records about it, and the
    same for each of its approved representatives' accounts.
    Refuses without a reason (DomainError). Side effect: one audit entry per anonymised account
    or enterprise (``...personal_data_deleted``) with the reason and the counts, never the data.
    """
    _check_operator(actor)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            _("Say why the personal data are deleted (e.g. the request's reference)."),
            code="reason_required",
            field="reason",
        )
    erasure = Erasure()
    if subject.enterprise is not None:
        enterprise = subject.enterprise
        people = list(_representatives(enterprise))
        enterprises = Enterprise.objects.filter(pk=enterprise.pk)
    else:
        people = [subject.user]
        enterprises = _enterprise_contacts_of(subject.user)
    _erase_registrations(_registrations_of(subject), erasure)
    erasure.idempotency_records += _idempotency_records_of(subject).delete()[0]
    erasure.enterprise_contacts += enterprises.exclude(**_ENTERPRISE_ERASED).update(
        **_ENTERPRISE_ERASED, updated_at=timezone.now()
    )
    for person in people:
        _erase_account(person, erasure)
        if subject.enterprise is not None:
            audit_log(
                person,
                "accounts.user.personal_data_deleted",
                actor=actor,
                changes={"with_enterprise": subject.enterprise.pk},
                comment=reason,
            )
    audit_log(
        subject.user or subject.enterprise,
        "accounts.user.personal_data_deleted"
        if subject.user is not None
        else "registrations.enterprise.personal_data_deleted",
        actor=actor,
        changes=erasure.as_dict(),
        comment=reason,
    )
    return erasure


# --- the periodic purge --------------------------------------------------------------------------


def retention_cutoff(today: dt.date | None = None) -> dt.date:
    """Campaigns whose feedback deadline fell before this day are past their retention period."""
    today = today or timezone.localdate()
    return today - dt.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)


@transaction.atomic
def personal_data_purge(*, now: dt.datetime | None = None) -> Erasure:
    """Anonymise what is kept no longer than needed (periodic: celery beat, or the command).

    1. Registrations of campaigns whose feedback deadline lies more than
       PERSONAL_DATA_RETENTION_DAYS back: contact name and mobile, note, attendees' names and
       mobiles. One audit entry per campaign (``registrations.personal_data.purged``, counts).
    2. Closed fee complaints unchanged for that long: the reporter's name and contact.
    3. Enterprise sign-ups never verified within UNVERIFIED_SIGNUP_RETENTION_DAYS: the sign-up is
       deleted and the unverified account anonymised (it cannot be deleted: the audit log
       records its sign-up). One audit entry (``accounts.signup.purged``) with the account ids.
    Running it again changes nothing. Statistics are untouched: no row is deleted but the
    sign-ups, which no statistic counts.
    """
    now = now or timezone.now()
    erasure = Erasure()
    cutoff = retention_cutoff(timezone.localdate(now))
    for campaign in Campaign.objects.filter(feedback_deadline__lt=cutoff).order_by("year"):
        done = Erasure()
        _erase_registrations(Registration.objects.filter(activity__campaign=campaign), done)
        if done.registrations or done.attendees:
            audit_log(
                campaign,
                "registrations.personal_data.purged",
                actor=None,
                changes={
                    "registrations": done.registrations,
                    "attendees": done.attendees,
                    "retention_days": settings.PERSONAL_DATA_RETENTION_DAYS,
                },
            )
            erasure.campaigns.append(campaign.year)
            erasure.registrations += done.registrations
            erasure.attendees += done.attendees

    closed_before = now - dt.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)
    complaints = FeeComplaint.objects.filter(
        status=FeeComplaintStatus.CLOSED, updated_at__lt=closed_before
    ).exclude(**_COMPLAINT_ERASED)
    ids = list(complaints.values_list("pk", flat=True))
    if ids:
        erasure.fee_complaints = FeeComplaint.objects.filter(pk__in=ids).update(**_COMPLAINT_ERASED)
        audit_log(
            None,
            "registrations.feecomplaint.personal_data_purged",
            actor=None,
            changes={"fee_complaints": ids},
        )

    stale = EnterpriseSignup.objects.filter(
        created_at__lt=now - dt.timedelta(days=settings.UNVERIFIED_SIGNUP_RETENTION_DAYS),
        user__email_verified_at__isnull=True,
    ).select_related("user")
    accounts = []
    for signup in stale:
        user = signup.user
        signup.delete()
        _erase_account(user, Erasure())
        accounts.append(user.pk)
    if accounts:
        erasure.sign_ups = len(accounts)
        audit_log(
            None,
            "accounts.signup.purged",
            actor=None,
            changes={
                "accounts": accounts,
                "retention_days": settings.UNVERIFIED_SIGNUP_RETENTION_DAYS,
            },
        )
    return erasure
