"""Reads of feedback reports, always limited to what the person may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.rules import roles_of
from activities.models import Campaign, Department, Region
from activities.selectors import region_scope_q

from .enums import DepartmentFeedbackState, ReportStatus
from .models import FeedbackMedia, FeedbackReminder, FeedbackReport, TypicalCase


def departments_reviewed_by(user) -> Q | None:
    """A condition on Department for the departments whose reports `user` reviews; None: all;
    Q(pk__in=[]) for none."""
    roles = roles_of(user)
    if roles.is_admin or roles.is_national_reviewer:
        return None
    if roles.is_reviewer:
        return region_scope_q(roles.reviewer_region)
    return Q(pk__in=[])


def reports_visible_to(user) -> QuerySet[FeedbackReport]:
    roles = roles_of(user)
    reports = FeedbackReport.objects.select_related("campaign", "department", "department__region")
    if roles.is_admin or roles.is_national_reviewer:
        return reports
    condition = Q(pk__in=[])
    if roles.department_id is not None:
        condition |= Q(department_id=roles.department_id)
    if roles.is_reviewer:
        condition |= region_scope_q(roles.reviewer_region, "department__region")
    return reports.filter(condition)


def report_review_queue(user, *, campaign: Campaign | None = None) -> QuerySet[FeedbackReport]:
    """Submitted reports `user` reviews, oldest first."""
    scope = departments_reviewed_by(user)
    reports = FeedbackReport.objects.filter(status=ReportStatus.SUBMITTED).select_related(
        "campaign", "department", "department__region"
    )
    if campaign is not None:
        reports = reports.filter(campaign=campaign)
    if scope is not None:
        reports = reports.filter(department__in=Department.objects.filter(scope))
    return reports.annotate(case_count=Count("cases", distinct=True)).order_by("submitted_at", "pk")


def report_of(department_id: int, campaign: Campaign) -> FeedbackReport | None:
    return FeedbackReport.objects.filter(department_id=department_id, campaign=campaign).first()


@dataclass
class DepartmentFeedback:
    """One row of the overdue table: where a department stands with its report."""

    department: Department
    state: str
    report_id: int | None
    submitted_at: dt.datetime | None
    deadline: dt.date
    overdue: bool
    staff_count: int
    last_reminder_at: dt.datetime | None
    reminder_count: int

    @property
    def state_label(self):
        return DepartmentFeedbackState(self.state).label


def feedback_overview(
    user,
    campaign: Campaign,
    *,
    region: Region | None = None,
    state: str | None = None,
    today: dt.date | None = None,
) -> list[DepartmentFeedback]:
    """Every active department `user` oversees with the state of its report for `campaign`, its
    staff and its reminders: one query."""
    today = today or timezone.localdate()
    departments = Department.objects.filter(is_active=True).select_related("region")
    scope = departments_reviewed_by(user)
    if scope is not None:
        departments = departments.filter(scope)
    if region is not None:
        departments = departments.filter(region_scope_q(region))
    reports = FeedbackReport.objects.filter(campaign=campaign, department=OuterRef("pk"))
    reminders = FeedbackReminder.objects.filter(campaign=campaign, department=OuterRef("pk"))
    departments = departments.annotate(
        report_id=Subquery(reports.values("pk")[:1]),
        report_status=Subquery(reports.values("status")[:1]),
        report_submitted_at=Subquery(reports.values("submitted_at")[:1]),
        report_extended=Subquery(reports.values("deadline_extended_to")[:1]),
        staff_count=Count("members", filter=Q(members__user__is_active=True), distinct=True),
        last_reminder_at=Subquery(reminders.order_by("-sent_at").values("sent_at")[:1]),
        reminder_count=Subquery(
            reminders.order_by().values("department").annotate(n=Count("pk")).values("n")[:1]
        ),
    ).order_by("region__code", "level", "pk")
    rows = []
    for d in departments:
        deadline = d.report_extended or campaign.feedback_deadline
        row_state = d.report_status or DepartmentFeedbackState.NOT_STARTED
        done = row_state in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)
        if state and row_state != state:
            continue
        rows.append(
            DepartmentFeedback(
                department=d,
                state=row_state,
                report_id=d.report_id,
                submitted_at=d.report_submitted_at,
                deadline=deadline,
                overdue=not done and today > deadline,
                staff_count=d.staff_count,
                last_reminder_at=d.last_reminder_at,
                reminder_count=d.reminder_count or 0,
            )
        )
    return rows


def cases_published(
    *, campaign: Campaign | None = None, key_arrangement_id=None, region: Region | None = None
) -> QuerySet[TypicalCase]:
    """The public showcase: published cases, newest first. Publishing needs an accepted report
    and the department's consent (services.case_publish, and reopening a report unpublishes its
    cases); they are read again here, so no case that slipped past them is ever shown."""
    cases = TypicalCase.objects.filter(
        published_at__isnull=False,
        publication_consent=True,
        report__status=ReportStatus.ACCEPTED,
    ).select_related("key_arrangement", "region", "report__department", "report__campaign")
    if campaign is not None:
        cases = cases.filter(report__campaign=campaign)
    if key_arrangement_id:
        cases = cases.filter(key_arrangement_id=key_arrangement_id)
    if region is not None:
        cases = cases.filter(region_scope_q(region))
    return cases.order_by("-published_at", "-pk")


def media_of(report: FeedbackReport, case: TypicalCase | None = None) -> QuerySet[FeedbackMedia]:
    media = FeedbackMedia.objects.filter(report=report)
    return media.filter(case=case) if case is not None else media.filter(case__isnull=True)


def last_reminder(campaign: Campaign, department: Department) -> FeedbackReminder | None:
    return FeedbackReminder.objects.filter(campaign=campaign, department=department).first()


def report_history(report: FeedbackReport) -> list[dict]:
    """Everything that happened to `report` and to its current typical cases and files, newest
    first, in words: the same entries as ``activities.selectors.activity_history`` (``when``,
    ``who``, ``action``, ``code``, ``comment``, ``field_comments``, ``changes``, ``edited``,
    ``decision``), for ``templates/activities/_history.html``. Four queries."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils.translation import gettext_lazy as _

    from qualitymonth.models import AuditLogEntry
    from qualitymonth.review import history_in_words

    from .services import FEEDBACK_WORKFLOW

    words = {
        "feedback.report.created": _("Report started"),
        "feedback.report.changed": _("Report changed"),
        "feedback.report.deadline_extended": _("Deadline extended"),
        f"feedback.report.{ReportStatus.SUBMITTED}": _("Submitted for review"),
        f"feedback.report.{ReportStatus.DRAFT}": _("Submission withdrawn: a draft again"),
        f"feedback.report.{ReportStatus.ACCEPTED}": _("Accepted"),
        f"feedback.report.{ReportStatus.RETURNED}": _("Returned for revision"),
        "feedback.case.created": _("Typical case added"),
        "feedback.case.changed": _("Typical case changed"),
        "feedback.case.deleted": _("Typical case deleted"),
        "feedback.case.published": _("Typical case published"),
        "feedback.case.unpublished": _("Typical case withdrawn from publication"),
        "feedback.media.added": _("File added"),
        "feedback.media.changed": _("Caption changed"),
        "feedback.media.deleted": _("File deleted"),
    }
    labels = {
        **FEEDBACK_WORKFLOW.field_labels,
        **{
            f.name: f.verbose_name
            for f in TypicalCase._meta.concrete_fields
            if f.name in ("title", "key_arrangement", "region", "body", "publication_consent")
        },
        "deadline_extended_to": FeedbackReport._meta.get_field("deadline_extended_to").verbose_name,
        "published_at": TypicalCase._meta.get_field("published_at").verbose_name,
        "file": FeedbackMedia._meta.get_field("original_name").verbose_name,
        "caption": FeedbackMedia._meta.get_field("caption").verbose_name,
        "kind": FeedbackMedia._meta.get_field("kind").verbose_name,
        "size": FeedbackMedia._meta.get_field("size").verbose_name,
        "sha256": FeedbackMedia._meta.get_field("sha256").verbose_name,
        "case": _("typical case"),
    }

    def label(name: str):
        return labels.get(name, name.replace("_", " "))

    def readable(value) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        if value in ("True", "False"):
            return str(_("yes") if value == "True" else _("no"))
        if isinstance(value, list | tuple):
            return "; ".join(readable(v) for v in value)
        return str(value)

    types = ContentType.objects.get_for_models(FeedbackReport, TypicalCase, FeedbackMedia)
    case_ids = [str(pk) for pk in report.cases.values_list("pk", flat=True)]
    media_ids = [str(pk) for pk in report.media.values_list("pk", flat=True)]
    entries = AuditLogEntry.objects.filter(
        Q(content_type=types[FeedbackReport], object_id=str(report.pk))
        | Q(content_type=types[TypicalCase], object_id__in=case_ids)
        | Q(content_type=types[FeedbackMedia], object_id__in=media_ids)
    ).select_related("actor")
    # A report's review decisions in the report's words ("approved" is "accepted" here).
    decision_kinds = {ReportStatus.ACCEPTED: "approved", ReportStatus.RETURNED: "returned"}
    decision_states = {kind: state for state, kind in decision_kinds.items()}

    def action_of(entry, code):
        action = words.get(entry.action) or entry.action
        if entry.content_type_id != types[FeedbackReport].id and entry.object_repr:
            action = f"{action}: {entry.object_repr}"
        return action

    return history_in_words(
        entries,
        list(FEEDBACK_WORKFLOW.decisions(report)),
        code_of=lambda entry: entry.action.rsplit(".", 1)[-1],
        action_of=action_of,
        decision_kind_of=lambda entry, code: (
            decision_kinds.get(code) if entry.action.startswith("feedback.report.") else None
        ),
        orphan_action=lambda decision: (
            words.get(f"feedback.report.{decision_states.get(decision.decision)}")
            or decision.get_decision_display()
        ),
        label=label,
        readable=lambda name, value: readable(value),
        shows_changes=lambda code: code not in ("created", "added"),
    )


__all__ = [
    "DepartmentFeedback",
    "cases_published",
    "departments_reviewed_by",
    "feedback_overview",
    "last_reminder",
    "media_of",
    "report_history",
    "report_of",
    "report_review_queue",
    "reports_visible_to",
]
