"""Reviewers' feedback pages: the queue of submitted reports, the review of one report (accept,
return with comments, reopen an accepted one), the overview of who has reported (with reminders
and a CSV download) and a later deadline for one department.

Views check who is asking, read through selectors and act through feedback/services.py, which
owns the rules: who may review or remind whom, which comments are required, refusing a second
reviewer (optimistic locking), refusing to remind a department that has already submitted.
"""

import csv
import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import CharField, Exists, OuterRef, Prefetch
from django.db.models.functions import Cast
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.rules import roles_of
from activities.models import Activity, Campaign, Department
from activities.selectors import campaign_current, region_scope_q
from qualitymonth.errors import DomainError, EditConflict, IllegalTransition
from qualitymonth.models import ReviewDecision, ReviewDecisionKind
from qualitymonth.review import waited_for
from registrations.exports import defuse_formula

from . import services
from .enums import REPORT_DONE_STATES, DepartmentFeedbackState, ReportStatus
from .models import FeedbackMedia, FeedbackReport, TypicalCase
from .review_forms import (
    DeadlineExtensionForm,
    OverviewFilterForm,
    ReportQueueFilterForm,
    ReportReviewForm,
    ReviewAction,
)
from .selectors import (
    departments_reviewed_by,
    feedback_overview,
    report_history,
    report_review_queue,
    reports_visible_to,
)
from .tasks import send_reminders

PAGE_SIZE = 25
OVERVIEW_PAGE_SIZE = 200
# More departments than this at once are reminded by a Celery worker (where one is configured).
REMIND_INLINE_MAX = 50
# Reports waiting longer than this are marked in the queue.
LONG_WAIT_DAYS = 7


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied


# --- the queue ----------------------------------------------------------------------------------


@login_required
def report_queue(request):
    """Submitted reports in the reviewer's scope, the longest waiting first."""
    _require(request.user, "feedback.view_report_queue")
    form = ReportQueueFilterForm(request.GET or None, user=request.user)
    filters = form.filters()
    everything = report_review_queue(request.user)
    queue = report_review_queue(request.user, campaign=filters.get("campaign"))
    if filters.get("region") is not None:
        queue = queue.filter(region_scope_q(filters["region"], "department__region"))
    now = timezone.now()
    if filters.get("waiting_days"):
        queue = queue.filter(submitted_at__lte=now - dt.timedelta(days=filters["waiting_days"]))
    decided = ReviewDecision.objects.filter(
        content_type=ContentType.objects.get_for_model(FeedbackReport),
        object_id=Cast(OuterRef("pk"), CharField()),
    )
    queue = queue.annotate(reviewed_before=Exists(decided))
    page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page"))
    for report in page:
        waited = now - report.submitted_at if report.submitted_at else None
        report.waited_days = waited.days if waited else 0
        report.waited = waited_for(waited) if waited else ""
    return render(
        request,
        "feedback/review/queue.html",
        {
            "form": form,
            "page": page,
            "total": everything.count() if form.active else page.paginator.count,
            "long_wait_days": LONG_WAIT_DAYS,
            "may_see_overview": request.user.has_perm("feedback.view_overdue"),
        },
    )


# --- one review ---------------------------------------------------------------------------------


@login_required
def report_review(request, pk):
    """The whole report, what changed since it was last returned, earlier decisions, its history,
    and the review actions. A report the person may not see does not exist for them (404); the
    department's own staff are sent to their workspace."""
    report = _reviewed_report(request.user, pk)
    if not request.user.has_perm("feedback.review_report", report):
        if roles_of(request.user).department_id == report.department_id:
            return redirect("feedback:report_edit", report.campaign.year)
        raise Http404
    status = 200
    error = None
    if request.method == "POST":
        form = ReportReviewForm(request.POST)
        if form.is_valid():
            action = form.cleaned_data["action"]
            try:
                _perform(report, form, request.user)
            except (EditConflict, IllegalTransition) as refusal:
                # Someone acted first: show the report as it is now and keep what was typed, so
                # the reviewer decides again on what they can see.
                report = _reviewed_report(request.user, pk)
                data = request.POST.copy()
                data["version"] = str(report.version)
                form = ReportReviewForm(data)
                form.is_valid()
                error, status = refusal.message, 409
            except DomainError as refusal:
                field = refusal.field if refusal.field in form.fields else None
                form.add_error(field, refusal.message)
                status = 400
            else:
                messages.success(request, _done_message(action, report))
                if action == ReviewAction.RETURN:
                    return redirect("feedback:report_queue")
                return redirect("feedback:report_review", report.pk)
        else:
            status = 400
    else:
        form = ReportReviewForm(initial={"version": report.version})
    context = _review_context(request, report, form, error)
    return render(request, "feedback/review/review.html", context, status=status)


def _reviewed_report(user, pk) -> FeedbackReport:
    """The report with everything ``feedback/_report_details.html`` shows, prefetched."""
    media = FeedbackMedia.objects.order_by("position", "created_at")
    reports = reports_visible_to(user).prefetch_related(
        Prefetch(
            "activities",
            queryset=Activity.objects.order_by("starts_at", "pk").only(
                "pk", "title", "starts_at", "status"
            ),
        ),
        Prefetch(
            "cases",
            queryset=TypicalCase.objects.select_related(
                "key_arrangement", "region__parent__parent"
            ).prefetch_related(Prefetch("media", queryset=media)),
        ),
        Prefetch("media", queryset=media),
    )
    return get_object_or_404(reports, pk=pk)


def _perform(report, form, actor) -> None:
    data = form.cleaned_data
    version, action, comment = data["version"], data["action"], data["comment"]
    if action == ReviewAction.ACCEPT:
        services.report_accept(report, actor=actor, comment=comment, expected_version=version)
    elif action == ReviewAction.RETURN:
        services.report_return(
            report,
            actor=actor,
            comment=comment,
            field_comments=form.field_comments(),
            expected_version=version,
        )
    else:
        services.report_reopen(report, actor=actor, comment=comment, expected_version=version)


def _done_message(action: str, report) -> str:
    texts = {
        ReviewAction.ACCEPT: _("The report of %(department)s is accepted."),
        ReviewAction.RETURN: _(
            "The report of %(department)s is returned to the department for revision."
        ),
        ReviewAction.REOPEN: _(
            "The report of %(department)s is reopened: the department may correct it and submit "
            "it again. Its published cases were withdrawn meanwhile."
        ),
    }
    return texts[action] % {"department": report.department.name}


def _labelled(field_comments: dict) -> list[tuple[str, str]]:
    labels = services.FEEDBACK_WORKFLOW.field_labels
    return [(labels.get(name, name), text) for name, text in (field_comments or {}).items()]


def _decision_label(decision) -> str:
    if decision.decision == ReviewDecisionKind.APPROVED:
        return str(_("Accepted"))
    return decision.get_decision_display()


def _case_actions(user, cases) -> None:
    """Mark each case with the publish or unpublish address the person may use now."""
    for case in cases:
        case.publish_url = (
            reverse("feedback:case_publish", args=[case.pk])
            if services.case_may_publish(case, user)
            else None
        )
        case.unpublish_url = (
            reverse("feedback:case_unpublish", args=[case.pk])
            if services.case_may_unpublish(case, user)
            else None
        )


def _review_context(request, report, form, error) -> dict:
    user = request.user
    workflow = services.FEEDBACK_WORKFLOW
    allowed = {t.name for t in workflow.allowed(report, user)}
    actions = [name for name in ReviewAction.ALL if name in allowed]
    decisions = list(workflow.decisions(report))
    for decision in decisions:
        decision.label = _decision_label(decision)
        decision.labelled_comments = _labelled(decision.field_comments)
    last = decisions[0] if decisions else None
    resubmitted = last is not None and report.status == ReportStatus.SUBMITTED
    changes, unchanged_asked = (
        services.FEEDBACK_WORKFLOW.review_changes(report, last) if resubmitted else ([], [])
    )
    cases = list(report.cases.all())  # the prefetched ones the details show too
    _case_actions(user, cases)
    waiting = report.status == ReportStatus.SUBMITTED and report.submitted_at
    return {
        "report": report,
        "cases": cases,
        "waited": waited_for(timezone.now() - report.submitted_at) if waiting else "",
        "form": form,
        "actions": actions,
        "review_error": error,
        "decisions": decisions,
        "last_decision": last if resubmitted else None,
        "changes": changes,
        "unchanged_asked": unchanged_asked,
        "history": report_history(report),
        "queue_url": reverse("feedback:report_queue"),
        "this_url": request.get_full_path(),
    }


# --- who has reported ---------------------------------------------------------------------------


class RemindAction:
    SELECTED = "remind_selected"
    PENDING = "remind_pending"


@login_required
def overview(request):
    """Every department the person oversees and where its report stands for a campaign: filters
    by region and state, totals per state, reminders (selected, all not yet submitted, one) and
    a CSV download. The table is read in one query whatever the number of departments."""
    _require(request.user, "feedback.view_overdue")
    form = OverviewFilterForm(request.GET or None, user=request.user, campaign=campaign_current())
    filters = form.filters()
    campaign = filters["campaign"]
    if request.method == "POST":
        if campaign is None:
            raise Http404
        return _remind(request, campaign, filters["region"])
    rows = feedback_overview(request.user, campaign, region=filters["region"]) if campaign else []
    totals = dict.fromkeys(DepartmentFeedbackState.values, 0)
    overdue_count = 0
    for row in rows:
        totals[row.state] += 1
        overdue_count += row.overdue
    shown = [
        row
        for row in rows
        if (not filters["state"] or row.state == filters["state"])
        and (not filters["overdue"] or row.overdue)
    ]
    if request.GET.get("format") == "csv" and campaign is not None:
        return _overview_csv(campaign, shown)
    page = Paginator(shown, OVERVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    csv_query = request.GET.copy()
    csv_query.pop("page", None)
    csv_query["format"] = "csv"
    return render(
        request,
        "feedback/overview.html",
        {
            "form": form,
            "campaign": campaign,
            "page": page,
            "total": len(rows),
            "shown": len(shown),
            "totals": [
                (DepartmentFeedbackState(state), count, state == filters["state"])
                for state, count in totals.items()
            ],
            "overdue_count": overdue_count,
            "pending_count": sum(
                count for state, count in totals.items() if state not in REPORT_DONE_STATES
            ),
            "may_extend": request.user.has_perm("feedback.extend_deadline"),
            "csv_query": csv_query.urlencode(),
            "done_states": REPORT_DONE_STATES,
        },
    )


def _overview_csv(campaign: Campaign, rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"feedback-overview-{campaign.year}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response.write("\ufeff")  # Excel opens UTF-8 only with the byte order mark
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Department"),
            _("Region"),
            _("State"),
            _("Overdue"),
            _("Deadline"),
            _("Submitted"),
            _("Staff"),
            _("Reminders"),
            _("Last reminder"),
        ]
    )
    for row in rows:
        department = row.department
        writer.writerow(
            [
                defuse_formula(department.name),
                defuse_formula(department.region.name if department.region_id else _("National")),
                row.state_label,
                _("yes") if row.overdue else _("no"),
                row.deadline.isoformat(),
                timezone.localtime(row.submitted_at).strftime("%Y-%m-%d %H:%M")
                if row.submitted_at
                else "",
                row.staff_count,
                row.reminder_count,
                timezone.localtime(row.last_reminder_at).strftime("%Y-%m-%d %H:%M")
                if row.last_reminder_at
                else "",
            ]
        )
    return response


def _remind(request, campaign: Campaign, region):
    """Remind the chosen departments: those ticked, one (its row's button), or every one in the
    filtered region without a submitted report."""
    back = request.get_full_path()
    one = request.POST.get("remind", "")
    if one.isdigit():
        departments = _departments_in_scope(request.user, [int(one)])
    elif request.POST.get("action") == RemindAction.PENDING:
        rows = feedback_overview(request.user, campaign, region=region)
        departments = [row.department for row in rows if row.state not in REPORT_DONE_STATES]
    else:
        ids = [int(v) for v in request.POST.getlist("department") if v.isdigit()]
        departments = _departments_in_scope(request.user, ids)
    if not departments:
        messages.warning(request, _("Select the departments to remind first."))
        return redirect(back)
    if len(departments) > REMIND_INLINE_MAX and not settings.CELERY_TASK_ALWAYS_EAGER:
        # Thousands of departments take minutes: a worker sends them; the table fills in.
        send_reminders.delay(campaign.pk, [d.pk for d in departments], request.user.pk)
        messages.info(
            request,
            _(
                "Reminders to %(count)d departments are being sent in the background. "
                "Reload this page to see them in the table."
            )
            % {"count": len(departments)},
        )
        return redirect(back)
    sent = services.reminders_send_many(
        campaign=campaign, departments=departments, actor=request.user
    )
    reminded, people, refused = sent.reminded, sent.people, sent.refused
    nobody = [d.name for d in sent.nobody]
    if reminded:
        messages.success(
            request,
            ngettext(
                "%(count)d department reminded",
                "%(count)d departments reminded",
                reminded,
            )
            % {"count": reminded}
            + ngettext(
                ": %(people)d person emailed.",
                ": %(people)d people emailed.",
                people,
            )
            % {"people": people},
        )
    if nobody:
        messages.warning(
            request,
            _("Nobody could be emailed at %(names)s: they have no staff on the portal yet.")
            % {"names": "、".join(nobody)},
        )
    if refused:
        messages.error(
            request,
            _("Not reminded: %(list)s")
            % {"list": "; ".join(f"{d.name} ({reason})" for d, reason in refused)},
        )
    return redirect(back)


def _departments_in_scope(user, ids) -> list[Department]:
    departments = Department.objects.filter(pk__in=ids).select_related("region")
    scope = departments_reviewed_by(user)
    if scope is not None:
        departments = departments.filter(scope)
    return list(departments.order_by("region__code", "level", "pk"))


# --- a later deadline ---------------------------------------------------------------------------


@login_required
def deadline_extend(request, year, department):
    """Grant one department a later deadline for a campaign (administrators), with a reason."""
    _require(request.user, "feedback.extend_deadline")
    campaign = get_object_or_404(Campaign, year=year)
    department = get_object_or_404(Department.objects.select_related("region"), pk=department)
    report = FeedbackReport.objects.filter(campaign=campaign, department=department).first()
    status = 200
    if request.method == "POST":
        form = DeadlineExtensionForm(request.POST)
        if form.is_valid():
            try:
                services.report_extend_deadline(
                    department=department,
                    campaign=campaign,
                    until=form.cleaned_data["until"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as refusal:
                for field, errors in refusal.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
                status = 400
            except DomainError as refusal:
                field = refusal.field if refusal.field in form.fields else None
                form.add_error(field, refusal.message)
                status = 400
            else:
                messages.success(
                    request,
                    _("%(department)s now has until %(date)s to submit its report.")
                    % {
                        "department": department.name,
                        "date": date_format(form.cleaned_data["until"], "DATE_FORMAT"),
                    },
                )
                return redirect(f"{reverse('feedback:overview')}?campaign={campaign.year}")
        else:
            status = 400
    else:
        initial = {"until": report.deadline_extended_to} if report else {}
        form = DeadlineExtensionForm(initial=initial)
    return render(
        request,
        "feedback/review/deadline.html",
        {
            "form": form,
            "campaign": campaign,
            "department": department,
            "report": report,
            "deadline": report.deadline if report else campaign.feedback_deadline,
        },
        status=status,
    )


urlpatterns = [
    path("review/feedback/", report_queue, name="report_queue"),
    path("review/feedback/overview/", overview, name="overview"),
    path(
        "review/feedback/overview/<int:year>/<int:department>/deadline/",
        deadline_extend,
        name="deadline_extend",
    ),
    path("review/feedback/<int:pk>/", report_review, name="report_review"),
]
