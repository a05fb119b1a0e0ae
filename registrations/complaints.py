"""Fee complaints: anyone reports someone who charges enterprises fees (or "hitchhiking" fees) in
the campaign's name, which the circular forbids; platform administrators investigate and close
each report with an outcome.

The reporter's identity (name, contact, account) is for administrators only: nothing here puts it
into a page, an API response, an audit comment or an email anyone else receives.

Services (each in a transaction, writing the audit log, emailing only after commit):
`fee_complaint_submit`, `fee_complaint_set_status` (with `fee_complaint_investigate` and
`fee_complaint_close`). Reads: `fee_complaint_queue`, `fee_complaint_status_counts`,
`fee_complaint_history`, `public_activities_matching`, `departments_matching`. Evidence files are
checked by their content (`evidence_inspect`, `evidence_prepare`), and the rate limit per address
is `fee_complaint_rate_reserve` / `fee_complaint_rate_release` (counted first, atomically).
"""

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from activities.enums import ACTIVITY_PUBLISHED_STATES, ActivityStatus
from activities.models import Activity, Department
from qualitymonth import ratelimit
from qualitymonth.audit import audit_log
from qualitymonth.errors import DomainError, IllegalTransition, NotAllowed
from qualitymonth.notifications import absolute_url, notify

from .models import FeeComplaint, FeeComplaintEvidence, FeeComplaintStatus

logger = logging.getLogger(__name__)

HANDLE_PERMISSION = "registrations.handle_fee_complaint"
AUDIT_PREFIX = "registrations.feecomplaint"

# Activities a reporter may pick: those the public sees (a cancelled one stays visible).
PUBLIC_ACTIVITY_STATES = (*ACTIVITY_PUBLISHED_STATES, ActivityStatus.CANCELLED)

MAX_EVIDENCE_FILES = 5
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
# Reports accepted from one address per hour (a counter in the ``ratelimit`` cache).
RATE_LIMIT_WINDOW = 3600


def rate_limit_per_hour() -> int:
    return int(getattr(settings, "FEE_COMPLAINTS_PER_HOUR", 5))


# --- evidence files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceKind:
    content_type: str
    extension: str
    label: str


JPEG = EvidenceKind("image/jpeg", ".jpg", "JPEG")
PNG = EvidenceKind("image/png", ".png", "PNG")
WEBP = EvidenceKind("image/webp", ".webp", "WebP")
PDF = EvidenceKind("application/pdf", ".pdf", "PDF")
EVIDENCE_KINDS = (JPEG, PNG, WEBP, PDF)
EVIDENCE_ACCEPT = ",".join(
    [kind.content_type for kind in EVIDENCE_KINDS] + [".jpg", ".jpeg", ".png", ".webp", ".pdf"]
)
IMAGE_TYPES = {JPEG.content_type, PNG.content_type, WEBP.content_type}


def sniff_kind(head: bytes) -> EvidenceKind | None:
    """The kind of file whose first bytes are `head`, from its signature; None for anything else.

    The name and the browser's stated type are never believed: an HTML page or a program renamed
    to .jpg is still refused."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return None


@dataclass(frozen=True)
class InspectedFile:
    upload: object  # a django File (UploadedFile in a request)
    name: str
    kind: EvidenceKind
    size: int
    sha256: str


def _plain_name(upload) -> str:
    # Only the last part of what the browser sent, without control characters, in the column.
    name = str(getattr(upload, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return (name or gettext("file"))[:255]


def evidence_inspect(upload) -> InspectedFile:
    """Check one uploaded file: not empty, not too large, a JPEG, PNG, WebP image or a PDF by its
    content. Returns what is known of it (with its SHA-256); raises ValidationError naming it."""
    name = _plain_name(upload)
    size = upload.size or 0
    if size == 0:
        raise ValidationError(_("“%(name)s” is empty."), code="empty", params={"name": name})
    if size > MAX_EVIDENCE_BYTES:
        raise ValidationError(
            _("“%(name)s” is %(size)s; a file may be at most %(limit)s."),
            code="too_large",
            params={
                "name": name,
                "size": filesizeformat(size),
                "limit": filesizeformat(MAX_EVIDENCE_BYTES),
            },
        )
    upload.seek(0)
    kind = sniff_kind(upload.read(16))
    if kind is None:
        raise ValidationError(
            _(
                "“%(name)s” is not a JPEG, PNG or WebP picture or a PDF document (judged by its "
                "content, not its name)."
            ),
            code="file_type",
            params={"name": name},
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return InspectedFile(upload=upload, name=name, kind=kind, size=size, sha256=digest.hexdigest())


def evidence_prepare(uploads: Sequence) -> tuple[list[InspectedFile], list[tuple[str, str]]]:
    """Inspect every file. Returns the distinct files (by content) and the duplicates as
    (name, name of the identical file kept). Raises one ValidationError listing every refused
    file, or saying there are too many."""
    uploads = [u for u in uploads if u is not None]
    if len(uploads) > MAX_EVIDENCE_FILES:
        raise ValidationError(
            _("Attach at most %(limit)d files (you chose %(count)d)."),
            code="too_many",
            params={"limit": MAX_EVIDENCE_FILES, "count": len(uploads)},
        )
    errors, kept, duplicates, seen = [], [], [], {}
    for upload in uploads:
        try:
            found = evidence_inspect(upload)
        except ValidationError as error:
            errors.extend(error.error_list)
            continue
        if found.sha256 in seen:
            duplicates.append((found.name, seen[found.sha256]))
            continue
        seen[found.sha256] = found.name
        kept.append(found)
    if errors:
        raise ValidationError(errors)
    return kept, duplicates


def _stored_name(kind: EvidenceKind) -> str:
    # Never the reporter's file name: a random one with the extension of what the file really is.
    return secrets.token_hex(16) + kind.extension


# --- rate limit --------------------------------------------------------------------------------
# Counted FIRST, atomically (`qualitymonth.ratelimit.hit`), so that a burst of parallel posts cannot
# slip more reports than the limit through; a report that is then not accepted gives its count back.


def _rate_key(ip: str | None) -> str:
    return f"fee-complaint:ip:{ip or 'unknown'}"


def _rate() -> ratelimit.Rate:
    return ratelimit.Rate(rate_limit_per_hour(), RATE_LIMIT_WINDOW)


def fee_complaint_rate_count(ip: str | None) -> int:
    return ratelimit.peek(_rate_key(ip), _rate()).count


def fee_complaint_rate_limited(ip: str | None) -> bool:
    """Whether the address has sent as many reports as an hour allows."""
    return not ratelimit.peek(_rate_key(ip), _rate()).allowed


def fee_complaint_rate_reserve(ip: str | None) -> bool:
    """Take one of the address's reports for this hour; False (taking nothing) when none is
    left. Give it back with `fee_complaint_rate_release` if the report is then not accepted."""
    outcome = ratelimit.hit(_rate_key(ip), _rate())
    if not outcome.allowed:
        ratelimit.release(_rate_key(ip))
    return outcome.allowed


def fee_complaint_rate_release(ip: str | None) -> None:
    ratelimit.release(_rate_key(ip))


def fee_complaint_rate_retry_after(ip: str | None) -> int:
    """Seconds until the address's hour is over."""
    return ratelimit.peek(_rate_key(ip), _rate()).retry_after


# --- submitting ----------------------------------------------------------------------------------


def reporter_email(complaint: FeeComplaint) -> str:
    """Where the reporter is told about their report: the contact they typed when it is an email
    address, otherwise their account's address; "" when neither."""
    contact = complaint.reporter_contact.strip()
    if contact:
        try:
            validate_email(contact)
        except ValidationError:
            pass
        else:
            return contact
    if complaint.reporter_id and complaint.reporter.is_active:
        return complaint.reporter.email
    return ""


def _reporter_language(complaint: FeeComplaint, fallback: str | None = None) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    preferred = complaint.reporter.preferred_language if complaint.reporter_id else None
    for language in (preferred, fallback, translation.get_language()):
        if language in codes:
            return language
    return settings.LANGUAGE_CODE


def _notify_reporter(complaint: FeeComplaint, template: str, *, language: str | None = None):
    address = reporter_email(complaint)
    if not address:
        return
    recipient = (
        complaint.reporter
        if complaint.reporter_id and address == complaint.reporter.email
        else address
    )
    notify(
        recipient,
        template,
        {"complaint": complaint, "reporter_name": complaint.reporter_name},
        language=_reporter_language(complaint, language),
    )


def _notify_administrators(complaint: FeeComplaint) -> None:
    # Only what the report is about: who reported is read on the complaint's page.
    from accounts.models import User

    url = absolute_url("complaints:detail", reference=complaint.reference)
    for admin in User.objects.filter(is_superuser=True, is_active=True).exclude(email=""):
        notify(admin, "fee_complaint_new", {"complaint": complaint, "url": url})


@transaction.atomic
def fee_complaint_submit(
    *,
    actor,
    description: str,
    activity: Activity | None = None,
    organiser: Department | None = None,
    organiser_name: str = "",
    amount: str = "",
    occurred_on: dt.date | None = None,
    reporter_name: str = "",
    reporter_contact: str = "",
    evidence: Sequence = (),
) -> FeeComplaint:
    """Record a report of fees charged in the campaign's name.

    Steps:
    1. check it says who charged (an activity the public can see, an organiser or a name) and
       what happened, and that the evidence files are acceptable (`evidence_prepare`; a file
       attached twice is kept once); else ValidationError per field;
    2. save the complaint, linked to `actor`'s account when signed in, and each distinct file
       under a random name in the default storage with its original name and SHA-256;
    3. write the audit log (``registrations.feecomplaint.received``) without the reporter's name
       or contact;
    4. after commit, acknowledge by email (the contact when it is an email address, otherwise the
       account's address) and tell the platform administrators that a report came in.
    Files already stored are removed again if anything fails.
    """
    errors = {}
    description = (description or "").strip()
    organiser_name = (organiser_name or "").strip()
    if not description:
        errors["description"] = _("Say what happened: who asked for money, for what and how.")
    if activity is None and organiser is None and not organiser_name:
        errors["organiser_name"] = _(
            "Tell us who charged the fee: choose the activity or the organiser, or type the name."
        )
    if activity is not None and activity.status not in PUBLIC_ACTIVITY_STATES:
        errors["activity"] = _("Choose a published activity.")
    try:
        files, duplicates = evidence_prepare(list(evidence))
    except ValidationError as error:
        errors["evidence"] = error.messages
        files, duplicates = [], []
    if errors:
        raise ValidationError(errors)

    signed_in = actor is not None and getattr(actor, "is_authenticated", False)
    complaint = FeeComplaint.objects.create(
        activity=activity,
        organiser=organiser,
        organiser_name=organiser_name,
        description=description,
        amount=(amount or "").strip(),
        occurred_on=occurred_on,
        reporter=actor if signed_in else None,
        reporter_name=(reporter_name or "").strip(),
        reporter_contact=(reporter_contact or "").strip(),
    )
    stored = []
    try:
        for found in files:
            item = FeeComplaintEvidence(
                complaint=complaint,
                original_name=found.name,
                content_type=found.kind.content_type,
                size=found.size,
                sha256=found.sha256,
            )
            found.upload.seek(0)
            item.file.save(_stored_name(found.kind), found.upload, save=False)
            stored.append(item.file.name)
            item.save()
        # Not the reporter as the actor: the log is kept forever and read more widely than the
        # complaint; the account is linked on the complaint itself.
        audit_log(
            complaint,
            f"{AUDIT_PREFIX}.received",
            actor=None,
            changes={
                "status": [None, complaint.status],
                "activity": activity.pk if activity else None,
                "organiser": organiser.pk if organiser else None,
                "evidence": [f"{f.name} ({f.sha256[:12]})" for f in files],
                "duplicates_ignored": [name for name, _same in duplicates],
            },
        )
    except Exception:
        _remove_files(stored)
        raise
    _notify_reporter(complaint, "fee_complaint_received")
    _notify_administrators(complaint)
    complaint.duplicates_ignored = duplicates
    return complaint


def _remove_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # the report failed already; a stray file is only logged
            logger.exception("Could not remove evidence file %s", name)


# --- handling ------------------------------------------------------------------------------------

# Closing straight from "received" is allowed: a report may be answered without investigation
# (a duplicate, a fee that turns out to be lawful and unrelated to the campaign).
TRANSITIONS = {
    FeeComplaintStatus.RECEIVED: {FeeComplaintStatus.INVESTIGATING, FeeComplaintStatus.CLOSED},
    FeeComplaintStatus.INVESTIGATING: {FeeComplaintStatus.CLOSED},
    FeeComplaintStatus.CLOSED: set(),
}


def fee_complaint_actions(complaint: FeeComplaint) -> list[str]:
    """The statuses the complaint may move to now."""
    order = [FeeComplaintStatus.INVESTIGATING, FeeComplaintStatus.CLOSED]
    allowed = TRANSITIONS.get(complaint.status, set())
    return [status for status in order if status in allowed]


@transaction.atomic
def fee_complaint_set_status(
    complaint: FeeComplaint, status: str, *, actor, outcome: str = "", comment: str = ""
) -> FeeComplaint:
    """The one function that moves a complaint: received → investigating → closed (or received →
    closed).

    Steps:
    1. lock the complaint; check `actor` handles fee complaints (a platform administrator), else
       NotAllowed; check the move is legal, else IllegalTransition; closing needs an outcome;
    2. save the status, the outcome and who handled it;
    3. write the audit log (``registrations.feecomplaint.<status>``) with the previous status and
       the note (or the outcome) as the comment;
    4. on closing, after commit, email the reporter the outcome if they gave an address.
    """
    if not (actor is not None and actor.has_perm(HANDLE_PERMISSION, complaint)):
        raise NotAllowed(gettext("Only platform administrators handle fee complaints."))
    locked = (
        FeeComplaint.objects.select_for_update(of=("self",))
        .select_related("reporter")
        .get(pk=complaint.pk)
    )
    previous = locked.status
    if status not in TRANSITIONS.get(previous, set()):
        raise IllegalTransition(
            _("This cannot be done any more: the complaint is now “%(status)s”.")
            % {"status": locked.get_status_display()}
        )
    outcome = (outcome or "").strip()
    comment = (comment or "").strip()
    if status == FeeComplaintStatus.CLOSED and not outcome:
        raise DomainError(
            _("State the outcome before closing: the reporter and the record need it."),
            field="outcome",
        )
    changes = {"status": [previous, status]}
    locked.status = status
    locked.handled_by = actor
    fields = ["status", "handled_by", "updated_at"]
    if status == FeeComplaintStatus.CLOSED:
        changes["outcome"] = [locked.outcome, outcome]
        locked.outcome = outcome
        fields.append("outcome")
    locked.save(update_fields=fields)
    audit_log(
        locked,
        f"{AUDIT_PREFIX}.{status}",
        actor=actor,
        changes=changes,
        comment=comment or (outcome if status == FeeComplaintStatus.CLOSED else ""),
    )
    if status == FeeComplaintStatus.CLOSED:
        _notify_reporter(locked, "fee_complaint_closed")
    complaint.refresh_from_db()
    return complaint


def fee_complaint_investigate(complaint: FeeComplaint, *, actor, comment: str = "") -> FeeComplaint:
    return fee_complaint_set_status(
        complaint, FeeComplaintStatus.INVESTIGATING, actor=actor, comment=comment
    )


def fee_complaint_close(
    complaint: FeeComplaint, *, actor, outcome: str, comment: str = ""
) -> FeeComplaint:
    return fee_complaint_set_status(
        complaint, FeeComplaintStatus.CLOSED, actor=actor, outcome=outcome, comment=comment
    )


# --- reads ---------------------------------------------------------------------------------------

OPEN_STATES = (FeeComplaintStatus.RECEIVED, FeeComplaintStatus.INVESTIGATING)


def fee_complaints_visible_to(user) -> QuerySet[FeeComplaint]:
    """Every complaint for those who handle them; none for anyone else."""
    if user is None or not user.has_perm(HANDLE_PERMISSION):
        return FeeComplaint.objects.none()
    return FeeComplaint.objects.all()


def fee_complaint_queue(
    user, *, status: str = "", received_before=None, received_after=None
) -> QuerySet[FeeComplaint]:
    """The complaints `user` handles, the oldest open ones first, with what the list shows.

    `status`: a FeeComplaintStatus value, "open" (received or investigating) or "" for all."""
    complaints = (
        fee_complaints_visible_to(user)
        .select_related("activity__organiser", "organiser", "handled_by")
        .annotate(evidence_count=Count("evidence"))
    )
    if status == "open":
        complaints = complaints.filter(status__in=OPEN_STATES)
    elif status:
        complaints = complaints.filter(status=status)
    if received_before is not None:
        complaints = complaints.filter(created_at__lt=received_before)
    if received_after is not None:
        complaints = complaints.filter(created_at__gte=received_after)
    if status in ("open", FeeComplaintStatus.RECEIVED, FeeComplaintStatus.INVESTIGATING):
        return complaints.order_by("created_at", "pk")
    return complaints.order_by("-created_at", "-pk")


def fee_complaint_status_counts(user) -> dict[str, int]:
    rows = fee_complaints_visible_to(user).values("status").annotate(n=Count("pk")).order_by()
    return {row["status"]: row["n"] for row in rows}


def fee_complaint_history(complaint: FeeComplaint) -> list[dict]:
    """The complaint's audit entries, oldest first, in words: when, who, what, comment."""
    from qualitymonth.models import AuditLogEntry

    words = {
        "received": _("Report received"),
        FeeComplaintStatus.INVESTIGATING: _("Investigation started"),
        FeeComplaintStatus.CLOSED: _("Closed with an outcome"),
        "created": _("Created in the site administration"),
        "changed": _("Changed in the site administration"),
        "deleted": _("Deleted in the site administration"),
    }
    entries = (
        AuditLogEntry.objects.for_object(complaint)
        .select_related("actor")
        .order_by("created_at", "id")
    )
    history = []
    for entry in entries:
        code = entry.action.rsplit(".", 1)[-1]
        if entry.actor_id:
            who = entry.actor.get_full_name() or entry.actor_repr
        else:
            who = gettext("The reporter") if code == "received" else entry.actor_repr
        history.append(
            {
                "when": entry.created_at,
                "who": who,
                "action": words.get(code, entry.action),
                "code": code,
                "comment": entry.comment,
            }
        )
    return history


def evidence_same_elsewhere(complaint: FeeComplaint) -> dict[int, list[str]]:
    """For each evidence file, the references of other complaints holding the same file."""
    items = list(complaint.evidence.all())
    hashes = {item.sha256 for item in items}
    if not hashes:
        return {}
    others = {}
    for sha, reference in (
        FeeComplaintEvidence.objects.filter(sha256__in=hashes)
        .exclude(complaint=complaint)
        .values_list("sha256", "complaint__reference")
        .distinct()
    ):
        others.setdefault(sha, []).append(reference)
    return {item.pk: sorted(others.get(item.sha256, [])) for item in items}


def public_activities_matching(words: str, *, limit: int = 20) -> list[Activity]:
    """Activities the public sees whose title contains `words` (any length, Chinese too), the
    current campaign's and the latest first."""
    words = (words or "").strip()
    if not words:
        return []
    return list(
        Activity.objects.filter(status__in=PUBLIC_ACTIVITY_STATES, title__icontains=words)
        .select_related("organiser", "region")
        .order_by("-campaign__year", "-starts_at", "-pk")[:limit]
    )


def departments_matching(words: str, *, limit: int = 20) -> list[Department]:
    words = (words or "").strip()
    if not words:
        return []
    return list(
        Department.objects.filter(is_active=True)
        .filter(
            Q(name_zh__icontains=words)
            | Q(name_en__icontains=words)
            | Q(short_name_zh__icontains=words)
            | Q(short_name_en__icontains=words)
        )
        .select_related("region")
        .order_by("level", "name_zh")[:limit]
    )


def public_activity_or_none(pk) -> Activity | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return (
        Activity.objects.filter(status__in=PUBLIC_ACTIVITY_STATES, pk=pk)
        .select_related("organiser", "region")
        .first()
    )


def received_since(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)
