"""Business rules of feedback after the month: the one place that writes reports, typical cases,
media and reminders. Report states change only through FEEDBACK_WORKFLOW, the review mechanism
activities use too (qualitymonth/review.py)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from activities.enums import ACTIVITY_PUBLISHED_STATES, ActivityStatus
from activities.models import Activity, Campaign, Department
from qualitymonth.audit import audit_log
from qualitymonth.errors import DomainError, NotAllowed
from qualitymonth.models import ReviewDecisionKind
from qualitymonth.notifications import notify
from qualitymonth.review import Transition, Workflow

from . import media_checks
from .enums import (
    REPORT_EDITABLE_STATES,
    MediaKind,
    MediaState,
    ReminderKind,
    ReportStatus,
)
from .models import FeedbackMedia, FeedbackReminder, FeedbackReport, TypicalCase

logger = logging.getLogger(__name__)

REPORT_EDITABLE_FIELDS = (
    "summary",
    "activities_held",
    "participants",
    "enterprises_involved",
    "media_reports",
)
REPORT_FIGURES = ("activities_held", "participants", "enterprises_involved", "media_reports")
REPORT_REVIEWED_FIELDS = (*REPORT_EDITABLE_FIELDS, "activities", "cases", "media")
CASE_EDITABLE_FIELDS = ("title", "key_arrangement", "region", "body", "publication_consent")
# Activities a report may cover: the department's own, published (or held and then cancelled).
REPORTABLE_ACTIVITY_STATES = (*ACTIVITY_PUBLISHED_STATES, ActivityStatus.CANCELLED)


# --- the workflow -----------------------------------------------------------------------------


def _describe_report_field(report: FeedbackReport, name: str) -> str:
    if name == "activities":
        if report.pk is None:
            return ""
        return "; ".join(f"{a.title} (#{a.pk})" for a in report.activities.order_by("pk"))
    if name == "cases":
        if report.pk is None:
            return ""
        return "; ".join(
            f"{c.title} ({c.key_arrangement}, {c.region}, "
            f"{_('may be published') if c.publication_consent else _('not for publication')}, "
            f"{len(c.body)} {_('characters')})"
            for c in report.cases.select_related("key_arrangement", "region").order_by("pk")
        )
    if name == "media":
        if report.pk is None:
            return ""
        return "; ".join(
            f"{m.original_name} ({m.sha256[:8]})" for m in report.media.order_by("created_at")
        )
    value = getattr(report, name)
    return "" if value is None else str(value)


def feedback_reviewers_for(report: FeedbackReport):
    """The reviewers closest to the department: those of its region (its city's or province's),
    else the national reviewers. A national department's report goes to national reviewers."""
    from accounts.models import User

    people = User.objects.filter(is_active=True, reviewer_assignment__isnull=False)
    national = people.filter(reviewer_assignment__region__isnull=True)
    region = report.department.region
    if region is None:
        return national
    codes = {region.code, region.code[:4] + "00", region.code[:2] + "0000"}
    regional = people.filter(reviewer_assignment__region__code__in=codes)
    return regional if regional.exists() else national


def department_staff(department_id: int):
    from accounts.models import User

    return User.objects.filter(is_active=True, department_membership__department_id=department_id)


def _report_recipients(report: FeedbackReport, transition: Transition):
    if transition.name == "submit":
        return feedback_reviewers_for(report)
    return department_staff(report.department_id)


def _report_link(report: FeedbackReport, transition: Transition) -> str:
    from qualitymonth.notifications import absolute_url

    if transition.name == "submit":
        return absolute_url("feedback:report_review", report.pk)
    return absolute_url("feedback:report_edit", report.campaign.year)


def report_missing_items(report: FeedbackReport) -> dict[str, str]:
    """What still stops the report from being submitted, per field (empty when complete)."""
    missing: dict[str, str] = {}
    has_document = report.media.filter(kind=MediaKind.DOCUMENT, case__isnull=True).exists()
    if not report.summary.strip() and not has_document:
        missing["summary"] = _("Write the summary, or attach it as a document.")
    for name in REPORT_FIGURES:
        if getattr(report, name) is None:
            missing[name] = _("Give this figure (0 if there is none).")
    busy = report.media.exclude(state=MediaState.READY).order_by("created_at").first()
    if busy is not None:
        missing["media"] = (
            _("“%(name)s” is still being processed; submit when it is ready.")
            if busy.state == MediaState.PROCESSING
            else _("“%(name)s” could not be processed; remove it before submitting.")
        ) % {"name": busy.original_name}
    return missing


def report_deadline_passed(report: FeedbackReport, *, today: dt.date | None = None) -> bool:
    return (today or timezone.localdate()) > report.deadline


def _refuse_incomplete_or_late(report: FeedbackReport) -> None:
    # A first submission must meet the deadline (or the extension an administrator granted);
    # a report returned for revision may always be sent back.
    if report.status == ReportStatus.DRAFT and report_deadline_passed(report):
        raise DomainError(
            _(
                "The deadline for feedback reports was %(date)s. Ask an administrator for a later "
                "deadline; your draft stays saved."
            )
            % {"date": date_format(report.deadline, "DATE_FORMAT")},
            code="deadline_passed",
        )
    missing = report_missing_items(report)
    if missing:
        raise ValidationError(missing)


FEEDBACK_WORKFLOW = Workflow(
    model=FeedbackReport,
    link=_report_link,
    audit_prefix="feedback.report",
    reviewed_fields=REPORT_REVIEWED_FIELDS,
    describe=_describe_report_field,
    recipients=_report_recipients,
    transitions={
        t.name: t
        for t in (
            Transition(
                "submit",
                REPORT_EDITABLE_STATES,
                ReportStatus.SUBMITTED,
                "feedback.submit_report",
                email="feedback_submitted",
                sets_submitted_at=True,
                check=_refuse_incomplete_or_late,
            ),
            Transition(
                "withdraw",
                (ReportStatus.SUBMITTED,),
                ReportStatus.DRAFT,
                "feedback.submit_report",
            ),
            Transition(
                "accept",
                (ReportStatus.SUBMITTED,),
                ReportStatus.ACCEPTED,
                "feedback.review_report",
                decision=ReviewDecisionKind.APPROVED,
                email="feedback_accepted",
            ),
            Transition(
                "return",
                (ReportStatus.SUBMITTED,),
                ReportStatus.RETURNED,
                "feedback.review_report",
                comment_required=True,
                decision=ReviewDecisionKind.RETURNED,
                email="feedback_returned",
            ),
            # An accepted report found wanting later (a wrong figure, a case to correct).
            Transition(
                "reopen",
                (ReportStatus.ACCEPTED,),
                ReportStatus.RETURNED,
                "feedback.review_report",
                comment_required=True,
                comment_label=_("reason"),
                decision=ReviewDecisionKind.RETURNED,
                email="feedback_returned",
            ),
        )
    },
)


def _report_field_labels() -> dict[str, str]:
    labels = {
        name: FeedbackReport._meta.get_field(name).verbose_name for name in REPORT_EDITABLE_FIELDS
    }
    labels["activities"] = FeedbackReport._meta.get_field("activities").verbose_name
    labels["cases"] = _("typical cases")
    labels["media"] = _("pictures, videos and documents")
    return labels


FEEDBACK_WORKFLOW.field_labels = _report_field_labels()


def report_may_edit(report: FeedbackReport, user) -> bool:
    """Whether `user` may change the report (its fields, cases and media) now."""
    return report.status in REPORT_EDITABLE_STATES and user.has_perm(
        "feedback.change_report", report
    )


def report_submit(report, *, actor, expected_version=None):
    return FEEDBACK_WORKFLOW.perform(
        report, "submit", actor=actor, expected_version=expected_version
    )


def report_withdraw(report, *, actor, expected_version=None):
    return FEEDBACK_WORKFLOW.perform(
        report, "withdraw", actor=actor, expected_version=expected_version
    )


def report_accept(report, *, actor, comment="", expected_version=None):
    return FEEDBACK_WORKFLOW.perform(
        report, "accept", actor=actor, comment=comment, expected_version=expected_version
    )


def report_return(report, *, actor, comment="", field_comments=None, expected_version=None):
    return FEEDBACK_WORKFLOW.perform(
        report,
        "return",
        actor=actor,
        comment=comment,
        field_comments=field_comments,
        expected_version=expected_version,
    )


@transaction.atomic
def report_reopen(report, *, actor, comment="", expected_version=None):
    """Send an accepted report back for correction; its cases leave the showcase meanwhile."""
    FEEDBACK_WORKFLOW.perform(
        report, "reopen", actor=actor, comment=comment, expected_version=expected_version
    )
    for case in report.cases.filter(published_at__isnull=False):
        _set_published(case, None, actor=actor, reason=comment)
    return report


# --- reports: start and edit -------------------------------------------------------------------


def report_start(*, department: Department, campaign: Campaign, actor) -> FeedbackReport:
    """The department's report for the campaign, created as a draft the first time."""
    if not actor.has_perm("feedback.change_report", FeedbackReport(department=department)):
        raise NotAllowed(_("You may only write your own department's report."))
    existing = FeedbackReport.objects.filter(campaign=campaign, department=department).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            report = FeedbackReport.objects.create(
                campaign=campaign, department=department, created_by=actor
            )
            audit_log(report, "feedback.report.created", actor=actor)
    except IntegrityError:  # a colleague started it at the same moment
        report = FeedbackReport.objects.get(campaign=campaign, department=department)
    return report


def _refuse_unless_editable(current: FeedbackReport, actor) -> None:
    if not actor.has_perm("feedback.change_report", current):
        raise NotAllowed(_("You may only change your own department's report."))
    if current.status not in REPORT_EDITABLE_STATES:
        raise DomainError(
            _("The report is “%(status)s” and cannot be changed now.")
            % {"status": current.get_status_display()},
            code="report_not_editable",
        )


def reportable_activities(report: FeedbackReport):
    """The activities a report may cover: the department's own in the campaign, published or
    cancelled after publication."""
    return Activity.objects.filter(
        campaign_id=report.campaign_id,
        organiser_id=report.department_id,
        status__in=REPORTABLE_ACTIVITY_STATES,
    )


@transaction.atomic
def report_update(
    report: FeedbackReport,
    *,
    actor,
    expected_version: int | None = None,
    activities=None,
    **fields,
) -> FeedbackReport:
    """Save the summary, figures and covered activities of a report in draft or returned.

    Steps: lock the row and refuse a stale `expected_version` (EditConflict); refuse a report
    not editable now or another department's; validate (ValidationError per field; activities
    must be the department's own published ones); save with a bumped version; audit the changes.
    """
    unknown = set(fields) - set(REPORT_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    current = FEEDBACK_WORKFLOW.lock(report, expected_version=expected_version)
    _refuse_unless_editable(current, actor)
    before = FEEDBACK_WORKFLOW.snapshot(current)
    for name, value in fields.items():
        if name == "summary":
            value = (value or "").strip()
        setattr(current, name, value)
    current.full_clean(exclude=["campaign", "department", "created_by"])
    if activities is not None:
        activities = list(activities)
        allowed = set(
            reportable_activities(current)
            .filter(pk__in=[a.pk for a in activities])
            .values_list("pk", flat=True)
        )
        if len(allowed) != len({a.pk for a in activities}):
            raise ValidationError(
                {"activities": _("Choose published activities of your own department.")}
            )
    current.version += 1
    current.save()
    if activities is not None:
        current.activities.set(activities)
    after = FEEDBACK_WORKFLOW.snapshot(current)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        audit_log(current, "feedback.report.changed", actor=actor, changes=changes)
    for f in FeedbackReport._meta.concrete_fields:
        setattr(report, f.attname, getattr(current, f.attname))
    return report


def _touch_report(report: FeedbackReport, actor, expected_version: int | None = None):
    """Lock the report, refuse unless editable, bump its version (a case or a file changed what
    a reviewer will see). Returns the locked row."""
    current = FEEDBACK_WORKFLOW.lock(report, expected_version=expected_version)
    _refuse_unless_editable(current, actor)
    FeedbackReport.objects.filter(pk=current.pk).update(
        version=current.version + 1, updated_at=timezone.now()
    )
    current.version += 1
    report.version = current.version
    return current


@transaction.atomic
def report_extend_deadline(
    *, department: Department, campaign: Campaign, until: dt.date, actor, reason: str
) -> FeedbackReport:
    """Grant a department a later deadline (administrators), with a reason kept in the log."""
    probe = FeedbackReport(department=department, campaign=campaign)
    if not actor.has_perm("feedback.extend_deadline", probe):
        raise NotAllowed(_("Only administrators may extend the deadline."))
    if not (reason or "").strip():
        raise DomainError(_("Please give a reason."), code="comment_required", field="reason")
    if until < campaign.feedback_deadline:
        raise ValidationError(
            {"until": _("Choose a day after the campaign's deadline (%(date)s).")
             % {"date": date_format(campaign.feedback_deadline, "DATE_FORMAT")}}
        )  # fmt: skip
    report, _created = FeedbackReport.objects.get_or_create(
        campaign=campaign, department=department, defaults={"created_by": actor}
    )
    report = FeedbackReport.objects.select_for_update().get(pk=report.pk)
    before = report.deadline_extended_to
    report.deadline_extended_to = until
    report.version += 1
    report.save(update_fields=["deadline_extended_to", "version", "updated_at"])
    audit_log(
        report,
        "feedback.report.deadline_extended",
        actor=actor,
        changes={"deadline_extended_to": [str(before or ""), str(until)]},
        comment=reason.strip(),
    )
    return report


# --- typical cases -----------------------------------------------------------------------------


def _check_case(case: TypicalCase, report: FeedbackReport) -> None:
    case.full_clean(exclude=["report"])
    if case.key_arrangement.campaign_id != report.campaign_id:
        raise ValidationError(
            {"key_arrangement": _("Choose a key arrangement of this report's campaign.")}
        )


@transaction.atomic
def case_create(report: FeedbackReport, *, actor, expected_version=None, **fields) -> TypicalCase:
    unknown = set(fields) - set(CASE_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    current = _touch_report(report, actor, expected_version)
    position = current.cases.count()
    case = TypicalCase(report=current, position=position, **fields)
    _check_case(case, current)
    case.save()
    audit_log(
        case,
        "feedback.case.created",
        actor=actor,
        changes={k: ["", str(getattr(case, k))] for k in CASE_EDITABLE_FIELDS},
    )
    return case


@transaction.atomic
def case_update(case: TypicalCase, *, actor, expected_version=None, **fields) -> TypicalCase:
    """Change a case of an editable report. `expected_version` is the report's."""
    unknown = set(fields) - set(CASE_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    current = _touch_report(case.report, actor, expected_version)
    case = TypicalCase.objects.select_for_update().get(pk=case.pk, report=current)
    changes = {}
    for name, value in fields.items():
        old = getattr(case, name)
        if old != value:
            changes[name] = [str(old), str(value)]
        setattr(case, name, value)
    _check_case(case, current)
    case.save()
    if changes:
        audit_log(case, "feedback.case.changed", actor=actor, changes=changes)
    return case


@transaction.atomic
def case_delete(case: TypicalCase, *, actor, expected_version=None) -> None:
    current = _touch_report(case.report, actor, expected_version)
    case = TypicalCase.objects.select_for_update().get(pk=case.pk, report=current)
    names = [
        f.name
        for media in case.media.all()
        for f in (media.file, media.thumbnail, media.web_copy, media.poster)
    ]
    audit_log(case, "feedback.case.deleted", actor=actor, changes={"title": [case.title, ""]})
    case.delete()
    _delete_files_on_commit(names)


def _set_published(case: TypicalCase, when, *, actor, reason: str = "") -> None:
    before = case.published_at
    TypicalCase.objects.filter(pk=case.pk).update(
        published_at=when, published_by=actor if when else None
    )
    case.published_at, case.published_by = when, (actor if when else None)
    audit_log(
        case,
        "feedback.case.published" if when else "feedback.case.unpublished",
        actor=actor,
        changes={"published_at": [str(before or ""), str(when or "")]},
        comment=reason,
    )
    _drop_showcase_cache()


def _drop_showcase_cache() -> None:
    from django.core.cache import cache

    try:
        cache.incr("feedback:showcase:generation")
    except ValueError:
        cache.set("feedback:showcase:generation", 1, None)


def case_may_publish(case: TypicalCase, user) -> bool:
    """Whether `user` may put the case on the showcase now (the rule case_publish enforces), to
    show a Publish button."""
    return (
        case.published_at is None
        and case.publication_consent
        and case.report.status == ReportStatus.ACCEPTED
        and user.has_perm("feedback.publish_case", case)
    )


def case_may_unpublish(case: TypicalCase, user) -> bool:
    return case.published_at is not None and user.has_perm("feedback.publish_case", case)


@transaction.atomic
def case_publish(case: TypicalCase, *, actor) -> TypicalCase:
    """Put an accepted report's case (with the department's consent) on the public showcase."""
    given = case
    case = TypicalCase.objects.select_for_update().select_related("report").get(pk=case.pk)
    if not actor.has_perm("feedback.publish_case", case):
        raise NotAllowed(_("You may not publish this case."))
    if case.report.status != ReportStatus.ACCEPTED:
        raise DomainError(
            _("Only cases of accepted reports can be published."), code="report_not_accepted"
        )
    if not case.publication_consent:
        raise DomainError(
            _("The department has not consented to publishing this case."), code="no_consent"
        )
    if case.published_at is None:
        _set_published(case, timezone.now(), actor=actor)
    given.published_at, given.published_by_id = case.published_at, case.published_by_id
    return case


@transaction.atomic
def case_unpublish(case: TypicalCase, *, actor, reason: str = "") -> TypicalCase:
    given = case
    case = TypicalCase.objects.select_for_update().select_related("report").get(pk=case.pk)
    if not actor.has_perm("feedback.publish_case", case):
        raise NotAllowed(_("You may not withdraw this case from publication."))
    if case.published_at is not None:
        _set_published(case, None, actor=actor, reason=(reason or "").strip())
    given.published_at, given.published_by_id = None, None
    return case


# --- media --------------------------------------------------------------------------------------

_MAX_BYTES_SETTING = {
    MediaKind.PICTURE: "FEEDBACK_PICTURE_MAX_BYTES",
    MediaKind.VIDEO: "FEEDBACK_VIDEO_MAX_BYTES",
    MediaKind.DOCUMENT: "FEEDBACK_DOCUMENT_MAX_BYTES",
}


def media_size_limit(kind: str) -> int:
    return getattr(settings, _MAX_BYTES_SETTING[kind])


def media_refuse_early(*, original_name: str, size: int, case: TypicalCase | None) -> None:
    """Refuse an upload before its bytes arrive, where its declared name and size already tell
    (a type never accepted, a file too large, a document for a case). The content is checked
    again when the file is complete."""
    display = media_checks.sanitise_filename(original_name)
    extension = media_checks._extension(original_name)
    formats = media_checks.EXTENSIONS.get(extension)
    if size <= 0:
        raise media_checks.MediaRefused(_("“%(name)s” is empty.") % {"name": display}, code="empty")
    if not formats:
        # Let the content check word the refusal (SVG, no extension, unsupported type).
        return
    kind = media_checks.FORMATS[next(iter(formats))][0]
    _refuse_kind_for_target(kind, display, case)
    if size > media_size_limit(kind):
        raise media_checks.MediaRefused(
            _("“%(name)s” is larger than the %(limit)s allowed for a %(kind)s.")
            % {
                "name": display,
                "limit": _human_size(media_size_limit(kind)),
                "kind": MediaKind(kind).label,
            },
            code="too_large",
        )


def _refuse_kind_for_target(kind: str, display: str, case) -> None:
    if case is not None and kind == MediaKind.DOCUMENT:
        raise media_checks.MediaRefused(
            _("“%(name)s” is a document: attach documents to the report, not to a case.")
            % {"name": display},
            code="document_in_case",
        )


def _human_size(n: int) -> str:
    from django.template.defaultfilters import filesizeformat

    return filesizeformat(n)


@transaction.atomic
def media_add(
    report: FeedbackReport,
    *,
    actor,
    path: str | os.PathLike,
    original_name: str,
    case: TypicalCase | None = None,
    caption: str = "",
    sha256: str | None = None,
) -> FeedbackMedia:
    """Check the file at `path` and store it with the report (or one of its cases).

    Steps: lock the report and refuse unless editable by `actor`; detect the type by content
    (MediaRefused naming the file and the reason); refuse what is too large or a document for a
    case; pictures are fully decoded and re-encoded without metadata, videos probed where ffprobe
    is installed; refuse a file already in the report (same SHA-256); store it under a random name
    in private storage (moved, not copied, where the storage is local); audit; make thumbnails,
    web copies and poster frames in the background once the transaction commits. The file at
    `path` is consumed: moved or deleted.
    """
    path = Path(path)
    display = media_checks.sanitise_filename(original_name)
    scratch = stored = None
    try:
        current = _touch_report(report, actor)
        if case is not None:
            case = TypicalCase.objects.get(pk=case.pk, report=current)
        detected = media_checks.detect_kind(path, original_name)
        _refuse_kind_for_target(detected.kind, display, case)
        size = path.stat().st_size
        if size > media_size_limit(detected.kind):
            raise media_checks.MediaRefused(
                _("“%(name)s” is larger than the %(limit)s allowed for a %(kind)s.")
                % {
                    "name": display,
                    "limit": _human_size(media_size_limit(detected.kind)),
                    "kind": MediaKind(detected.kind).label,
                },
                code="too_large",
            )
        info = {}
        stored_path, fmt, extension = path, detected.format, detected.extension
        if detected.kind == MediaKind.PICTURE:
            checked = media_checks.check_picture(path, original_name)
            # The original (with its EXIF and GPS position) is never stored.
            fmt = media_checks.reencoded_format(checked.format)
            extension = media_checks.FORMATS[fmt][2]
            fd, scratch = tempfile.mkstemp(suffix="." + extension, dir=_scratch_dir())
            os.close(fd)
            clean = media_checks.reencode_picture(path, scratch)
            stored_path = Path(scratch)
            info = {"width": clean.width, "height": clean.height}
        elif detected.kind == MediaKind.VIDEO:
            video = media_checks.check_video(path, original_name)
            info = {
                "probed": video.probed,
                "duration": video.duration,
                "codec": video.codec or "",
                "width": video.width,
                "height": video.height,
            }
        else:
            media_checks.check_document(path, original_name)
        checksum = sha256 if sha256 and stored_path == path else media_checks.sha256_of(stored_path)
        duplicate = current.media.filter(sha256=checksum).select_related("case").first()
        if duplicate is not None:
            raise media_checks.MediaRefused(
                (
                    _("“%(name)s” is already in this report as “%(other)s” (case “%(case)s”).")
                    if duplicate.case_id
                    else _("“%(name)s” is already in this report as “%(other)s”.")
                )
                % {
                    "name": display,
                    "other": duplicate.original_name,
                    "case": duplicate.case.title if duplicate.case_id else "",
                },
                code="duplicate",
            )
        media = FeedbackMedia(
            report=current,
            case=case,
            kind=detected.kind,
            format=fmt,
            content_type=media_checks.FORMATS[fmt][1],
            original_name=display,
            caption=(caption or "").strip()[:200],
            size=stored_path.stat().st_size,
            sha256=checksum,
            uploaded_by=actor,
            position=current.media.filter(case=case).count(),
            state=MediaState.PROCESSING,
            **{k: v for k, v in info.items() if v is not None},
        )
        name = media_checks.random_storage_name(detected.kind, extension)
        media.file.name = stored = _store(stored_path, name)
        try:
            with transaction.atomic():
                media.save()
        except IntegrityError as error:  # the same file, uploaded twice at the same moment
            raise media_checks.MediaRefused(
                _("“%(name)s” is already in this report.") % {"name": display}, code="duplicate"
            ) from error
        audit_log(
            media,
            "feedback.media.added",
            actor=actor,
            changes={
                "file": ["", display],
                "kind": ["", detected.kind],
                "size": ["", media.size],
                "sha256": ["", checksum],
                **({"case": ["", case.title]} if case else {}),
            },
        )
        _queue_processing(media)
        stored = None
        return media
    except BaseException:
        if stored:  # nothing will point at it
            _delete_quietly(stored)
        raise
    finally:
        for leftover in (scratch, path):
            if leftover and os.path.exists(leftover):
                os.unlink(leftover)


def _scratch_dir() -> str:
    directory = Path(settings.FEEDBACK_UPLOAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return str(directory)


def _store(path: Path, name: str) -> str:
    """Put the file at `path` into private storage as `name`; local storage moves it."""
    from .models import private_storage

    storage = private_storage()
    if hasattr(storage, "path"):
        try:
            target = Path(storage.path(name))
        except NotImplementedError:
            target = None
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(path, target)  # same file system: a rename, no copy
                return name
            except OSError:
                shutil.copyfile(path, target)
                return name
    with open(path, "rb") as f:
        return storage.save(name, File(f, name=os.path.basename(name)))


def _delete_quietly(name: str) -> None:
    from .models import private_storage

    try:
        private_storage().delete(name)
    except Exception:
        logger.warning("Could not delete %s", name)


def _delete_files_on_commit(names) -> None:
    from .models import private_storage

    def _delete():
        storage = private_storage()
        for name in names:
            if name:
                try:
                    storage.delete(name)
                except Exception:
                    logger.warning("Could not delete %s", name)

    transaction.on_commit(_delete)


def _queue_processing(media: FeedbackMedia) -> None:
    from .tasks import process_media

    media_id = str(media.pk)

    def _queue():
        try:
            process_media.delay(media_id)
        except Exception:
            logger.exception("Could not queue processing of %s", media_id)

    transaction.on_commit(_queue)


@transaction.atomic
def media_delete(media: FeedbackMedia, *, actor) -> None:
    _touch_report(media.report, actor)
    media = FeedbackMedia.objects.select_for_update().get(pk=media.pk)
    names = [media.file.name, media.thumbnail.name, media.web_copy.name, media.poster.name]
    audit_log(
        media,
        "feedback.media.deleted",
        actor=actor,
        changes={"file": [media.original_name, ""], "sha256": [media.sha256, ""]},
    )
    media.delete()
    _delete_files_on_commit(names)


@transaction.atomic
def media_update_caption(media: FeedbackMedia, *, actor, caption: str) -> FeedbackMedia:
    _touch_report(media.report, actor)
    media = FeedbackMedia.objects.select_for_update().get(pk=media.pk)
    caption = (caption or "").strip()[:200]
    if caption != media.caption:
        audit_log(
            media,
            "feedback.media.changed",
            actor=actor,
            changes={"caption": [media.caption, caption]},
        )
        media.caption = caption
        media.save(update_fields=["caption"])
    return media


THUMBNAIL_SIDE = 400
WEB_COPY_SIDE = 1600


def media_process(media_id) -> str:
    """Make a stored file's thumbnail and web-size copy (pictures) or poster frame (videos).

    Runs in a Celery worker; safe to run twice (a ready file is left alone). A failure is kept on
    the row, for the uploader to see, and logged."""
    from .models import private_storage

    media = FeedbackMedia.objects.filter(pk=media_id).first()
    if media is None or media.state == MediaState.READY:
        return "gone" if media is None else "ready"
    storage = private_storage()
    workdir = tempfile.mkdtemp(dir=_scratch_dir())
    made: dict[str, str] = {}
    try:
        local = _local_copy(storage, media.file.name, workdir)
        if media.kind == MediaKind.PICTURE:
            thumb = os.path.join(workdir, "thumb.jpg")
            media_checks.make_thumbnail(local, thumb, THUMBNAIL_SIDE)
            made["thumbnail"] = _store(
                Path(thumb), media_checks.random_storage_name("thumbnails", "jpg")
            )
            if max(media.width or 0, media.height or 0) > WEB_COPY_SIDE:
                web = os.path.join(workdir, "web." + media_checks.FORMATS[media.format][2])
                media_checks.reencode_picture(local, web, max_side=WEB_COPY_SIDE)
                made["web_copy"] = _store(
                    Path(web),
                    media_checks.random_storage_name("web", media_checks.FORMATS[media.format][2]),
                )
        elif media.kind == MediaKind.VIDEO:
            poster = os.path.join(workdir, "poster.jpg")
            if media_checks.poster_frame(local, poster):
                thumb = os.path.join(workdir, "thumb.jpg")
                media_checks.make_thumbnail(poster, thumb, THUMBNAIL_SIDE)
                made["poster"] = _store(
                    Path(poster), media_checks.random_storage_name("posters", "jpg")
                )
                made["thumbnail"] = _store(
                    Path(thumb), media_checks.random_storage_name("thumbnails", "jpg")
                )
        updated = FeedbackMedia.objects.filter(pk=media.pk).update(
            state=MediaState.READY, failure="", **made
        )
        if not updated:  # deleted meanwhile
            for name in made.values():
                storage.delete(name)
        return "ready"
    except Exception as error:
        logger.exception("Processing %s failed", media_id)
        for name in made.values():
            storage.delete(name)
        FeedbackMedia.objects.filter(pk=media.pk).update(
            state=MediaState.FAILED, failure=str(error)[:1000]
        )
        return "failed"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _local_copy(storage, name: str, workdir: str) -> str:
    """A local path for the stored file: the file itself where storage is local, else a copy."""
    try:
        return storage.path(name)
    except NotImplementedError:
        target = os.path.join(workdir, os.path.basename(name))
        with storage.open(name, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        return target


# --- reminders ----------------------------------------------------------------------------------


def reminder_send(
    *,
    campaign: Campaign,
    department: Department,
    actor=None,
    days_before: int | None = None,
    today: dt.date | None = None,
) -> FeedbackReminder | None:
    """Email a department's active staff that its report is due. By hand (`actor`) or
    automatically (`days_before`, once per department and day mark). Returns None where an
    automatic reminder was already sent or the report is already submitted."""
    automatic = actor is None
    if actor is not None and not actor.has_perm("feedback.send_reminder", department):
        raise NotAllowed(_("You may not remind this department."))
    report = FeedbackReport.objects.filter(campaign=campaign, department=department).first()
    if report is not None and report.status not in REPORT_EDITABLE_STATES:
        if automatic:
            return None
        raise DomainError(
            _("%(department)s has already submitted its report.") % {"department": department},
            code="already_submitted",
        )
    staff = list(department_staff(department.pk))
    deadline = report.deadline if report else campaign.feedback_deadline
    try:
        with transaction.atomic():
            reminder = FeedbackReminder.objects.create(
                campaign=campaign,
                department=department,
                kind=ReminderKind.AUTOMATIC if automatic else ReminderKind.MANUAL,
                days_before=days_before if automatic else None,
                recipients=len(staff),
                sent_by=actor,
            )
            audit_log(
                department,
                "feedback.reminder.sent",
                actor=actor,
                changes={
                    "campaign": ["", campaign.year],
                    "recipients": ["", len(staff)],
                    "kind": ["", reminder.kind],
                },
            )
            from qualitymonth.notifications import absolute_url

            for person in staff:
                notify(
                    person,
                    "feedback_reminder",
                    {
                        "department": department,
                        "campaign": campaign,
                        "deadline": deadline,
                        "report": report,
                        "overdue": (today or timezone.localdate()) > deadline,
                        "url": absolute_url("feedback:report_edit", campaign.year),
                    },
                )
    except IntegrityError:  # this automatic reminder went out already
        return None
    return reminder


@dataclass
class RemindersSent:
    reminded: int = 0
    people: int = 0
    nobody: list = field(default_factory=list)  # departments without staff on the portal
    refused: list = field(default_factory=list)  # (department, reason)


def reminders_send_many(*, campaign: Campaign, departments, actor) -> RemindersSent:
    """Remind each department (by hand, as `actor`), collecting what happened; one department's
    refusal (already submitted, outside the person's region) does not stop the others."""
    result = RemindersSent()
    for department in departments:
        try:
            reminder = reminder_send(campaign=campaign, department=department, actor=actor)
        except (DomainError, NotAllowed) as refusal:
            result.refused.append((department, getattr(refusal, "message", str(refusal))))
            continue
        result.reminded += 1
        result.people += reminder.recipients
        if reminder.recipients == 0:
            result.nobody.append(department)
    return result


def reminders_send_due(*, today: dt.date | None = None) -> int:
    """The periodic task's work: remind every department without a submitted report of each
    open campaign on the configured days before its deadline. Returns how many were sent."""
    from activities.enums import CampaignStatus

    today = today or timezone.localdate()
    sent = 0
    for campaign in Campaign.objects.exclude(status=CampaignStatus.PREPARING):
        days = (campaign.feedback_deadline - today).days
        if days not in settings.FEEDBACK_REMINDER_DAYS:
            continue
        done = FeedbackReport.objects.filter(
            campaign=campaign, status__in=(ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)
        ).values("department_id")
        extended = FeedbackReport.objects.filter(
            campaign=campaign, deadline_extended_to__isnull=False
        ).values("department_id")
        for department in (
            Department.objects.filter(is_active=True).exclude(pk__in=done).exclude(pk__in=extended)
        ):
            if reminder_send(
                campaign=campaign, department=department, days_before=days, today=today
            ):
                sent += 1
    return sent
