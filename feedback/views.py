"""The department's feedback report in the staff workspace: start it, write the summary and
figures, choose the activities it covers, add typical cases, pictures and videos, submit it by
the deadline (or withdraw it), and see what the reviewers said and everything that happened.

Views check who may open what (`accounts/rules.py`) and call `feedback.services`; every rule
lives there. Refused actions come back as clear messages, and nothing a person typed is lost.
"""

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.rules import roles_of
from activities.models import Activity, Campaign, Department
from activities.selectors import department_list
from qualitymonth.errors import DomainError, EditConflict

from . import services
from .enums import REPORT_EDITABLE_STATES, ReportStatus
from .forms import CIRCULAR_ON_FEEDBACK, CaseForm, DepartmentChoiceForm, ReportForm
from .models import FeedbackMedia, FeedbackReport, TypicalCase
from .selectors import report_history
from .services import FEEDBACK_WORKFLOW

MEDIA_PANEL = "feedback/_media_panel.html"


# --- whose report ----------------------------------------------------------------------------


def _require_workspace(user) -> None:
    """The feedback report is written by department staff (and administrators on their behalf);
    anyone else gets the 403 page."""
    roles = roles_of(user)
    if not (roles.is_admin or roles.department_id is not None):
        raise PermissionDenied


def _chosen_department(request) -> Department | None:
    """The department whose report the page shows: the person's own; administrators choose one
    with ``?department=<id>`` (None until they do). An unknown department is a 404."""
    _require_workspace(request.user)
    roles = roles_of(request.user)
    chosen = request.GET.get("department") if roles.is_admin else None
    if chosen:
        if not chosen.isdigit():
            raise Http404
        return get_object_or_404(department_list(), pk=int(chosen))
    if roles.department_id is None:
        return None
    return Department.objects.select_related("region").get(pk=roles.department_id)


def _report_url(user, year: int, department_id: int) -> str:
    """The report page; for an administrator acting for another department, with its id."""
    url = reverse("feedback:report_edit", args=[year])
    if roles_of(user).department_id != department_id:
        url += "?" + urlencode({"department": department_id})
    return url


def _report_queryset():
    return FeedbackReport.objects.select_related("campaign", "department", "department__region")


def _workspace_case(user, pk: int) -> TypicalCase:
    """A case of a report the person may change; 404 for any other (another department's case
    must not be told apart from a wrong number); 403 for reviewers, who see it on the review
    pages."""
    _require_workspace(user)
    case = get_object_or_404(
        TypicalCase.objects.select_related(
            "report__campaign",
            "report__department",
            "key_arrangement",
            "region__parent__parent",
        ),
        pk=pk,
    )
    if not user.has_perm("feedback.change_report", case.report):
        if user.has_perm("feedback.view_report", case.report):
            raise PermissionDenied
        raise Http404
    return case


def _version(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _last_change(report: FeedbackReport) -> str | None:
    """“Who changed the report when” in words, from the newest entry of its history (a case or a
    file counts: they change what the reviewers see)."""
    history = report_history(report)
    if not history:
        return None
    last = history[0]
    return _("%(who)s changed the report at %(when)s, after you opened this page.") % {
        "who": last["who"],
        "when": date_format(timezone.localtime(last["when"]), "DATETIME_FORMAT"),
    }


def _media_panel_ready() -> bool:
    """Whether the media panel's template is installed (the page works without it)."""
    try:
        get_template(MEDIA_PANEL)
    except TemplateDoesNotExist:
        return False
    return True


def _not_editable_message(report: FeedbackReport):
    if report.status == ReportStatus.SUBMITTED:
        return _(
            "The report is waiting for review and cannot be changed now. Withdraw the submission "
            "first if you need to change it."
        )
    return _("The report is “%(status)s” and cannot be changed now.") % {
        "status": report.get_status_display()
    }


# --- the report page -----------------------------------------------------------------------------


def _field_comments(report: FeedbackReport, last) -> dict[str, str]:
    # The reviewer's comments stand next to the fields while the report is being revised.
    if last is not None and report.status == ReportStatus.RETURNED:
        return dict(last.field_comments or {})
    return {}


def _page_context(request, campaign, department, report, *, form=None) -> dict:
    user = request.user
    today = timezone.localdate()
    context = {
        "campaign": campaign,
        "department": department,
        "report": report,
        "circular": CIRCULAR_ON_FEEDBACK,
        "report_url": _report_url(user, campaign.year, department.pk),
        "acting_for_other": roles_of(user).department_id != department.pk,
        "department_form": _department_form(request, department),
    }
    if report is None:
        deadline = campaign.feedback_deadline
        context.update(
            {
                "deadline": deadline,
                "days_left": (deadline - today).days,
                "may_start": user.has_perm(
                    "feedback.change_report", FeedbackReport(department=department)
                ),
            }
        )
        return context
    may_edit = services.report_may_edit(report, user)
    last = FEEDBACK_WORKFLOW.last_decision(report)
    field_comments = _field_comments(report, last)
    if may_edit and form is None:
        form = ReportForm(
            instance=copy.copy(report),
            initial={"version": report.version},
            report=report,
            field_comments=field_comments,
        )
    allowed = {t.name for t in FEEDBACK_WORKFLOW.allowed(report, user)}
    missing = (
        services.report_missing_items(report) if report.status in REPORT_EDITABLE_STATES else {}
    )
    cases = list(
        report.cases.select_related("key_arrangement", "region").annotate(
            media_count=Count("media")
        )
    )
    context.update(
        {
            "form": form,
            "error_fields": form.error_fields() if form is not None and form.errors else [],
            "may_edit": may_edit,
            "may_withdraw": "withdraw" in allowed,
            "missing": missing,
            "checklist": _checklist(report, missing, cases) if may_edit else [],
            "deadline": report.deadline,
            "days_left": (report.deadline - today).days,
            "deadline_passed": services.report_deadline_passed(report, today=today),
            "last_decision": last,
            "field_comments": field_comments,
            "cases": cases,
            "history": report_history(report),
            "media_panel": _media_panel_ready(),
        }
    )
    if not may_edit:
        context["details"] = _detailed(report)
    return context


def _checklist(report: FeedbackReport, missing: dict, cases: list) -> list[dict]:
    """What a submission needs, item by item, done or not; then what the circular asks for
    besides (recommended, not required)."""
    labels = FEEDBACK_WORKFLOW.field_labels
    items = [
        {
            "anchor": name,
            "label": labels[name],
            "done": name not in missing,
            "message": missing.get(name, ""),
            "required": True,
        }
        for name in ("summary", *services.REPORT_FIGURES)
    ]
    if "media" in missing:
        items.append(
            {
                "anchor": "media",
                "label": labels["media"],
                "done": False,
                "message": missing["media"],
                "required": True,
            }
        )
    count = report.activities.count()
    items += [
        {
            "anchor": "activities",
            "label": labels["activities"],
            "done": bool(count),
            "message": _("%(n)s chosen") % {"n": count},
            "required": False,
        },
        {
            "anchor": "cases",
            "label": labels["cases"],
            "done": bool(cases),
            "message": _("%(n)s added") % {"n": len(cases)},
            "required": False,
        },
    ]
    return items


def _detailed(report: FeedbackReport) -> FeedbackReport:
    """The report with everything `_report_details.html` shows, in a fixed number of queries."""
    return (
        _report_queryset()
        .prefetch_related(
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
                ).prefetch_related(
                    Prefetch(
                        "media", queryset=FeedbackMedia.objects.order_by("position", "created_at")
                    )
                ),
            ),
            Prefetch("media", queryset=FeedbackMedia.objects.order_by("position", "created_at")),
        )
        .get(pk=report.pk)
    )


def _department_form(request, department):
    if not roles_of(request.user).is_admin:
        return None
    return DepartmentChoiceForm(
        initial={"department": department.pk if department else None},
        departments=department_list(),
    )


def _render(request, campaign, department, report, *, form=None, status=200):
    context = _page_context(request, campaign, department, report, form=form)
    return render(request, "feedback/report_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def report_edit(request, year):
    """The department's report for the campaign of `year`: the start page until it is started,
    then the form (draft, returned) or the report read-only (submitted, accepted), with its
    typical cases, media, the reviewers' comments and its history."""
    campaign = get_object_or_404(Campaign, year=year)
    department = _chosen_department(request)
    if department is None:  # an administrator without a department chooses one
        return render(
            request,
            "feedback/report_edit.html",
            {
                "campaign": campaign,
                "department": None,
                "department_form": _department_form(request, None),
            },
        )
    report = _report_queryset().filter(campaign=campaign, department=department).first()
    if request.method != "POST":
        return _render(request, campaign, department, report)
    action = request.POST.get("action")
    if report is None:
        if action != "start":
            messages.error(request, _("Start the report first."))
            return redirect(_report_url(request.user, year, department.pk))
        return _start(request, campaign, department)
    if action == "withdraw":
        return _withdraw(request, report)
    if action not in ("save", "submit", "start"):
        messages.error(request, _("Unknown action."))
        return redirect(_report_url(request.user, year, department.pk))
    if action == "start":  # started by a colleague meanwhile: nothing to do
        return redirect(_report_url(request.user, year, department.pk))
    return _save(request, report, submit=action == "submit")


def _start(request, campaign, department):
    services.report_start(department=department, campaign=campaign, actor=request.user)
    messages.success(
        request,
        _(
            "The report is started as a draft. Save as often as you like; submit it when it is "
            "complete."
        ),
    )
    return redirect(_report_url(request.user, campaign.year, department.pk))


def _save(request, report, *, submit: bool):
    url = _report_url(request.user, report.campaign.year, report.department_id)
    if not services.report_may_edit(report, request.user):
        messages.error(request, _not_editable_message(report))
        return redirect(url)
    last = FEEDBACK_WORKFLOW.last_decision(report)
    options = {"report": report, "field_comments": _field_comments(report, last)}
    form = ReportForm(request.POST, instance=copy.copy(report), **options)
    if not form.is_valid():
        return _render(request, report.campaign, report.department, report, form=form, status=400)
    try:
        services.report_update(
            report,
            actor=request.user,
            expected_version=form.cleaned_data["version"],
            **form.service_arguments(),
        )
    except ValidationError as error:
        form.add_service_errors(error)
        return _render(request, report.campaign, report.department, report, form=form, status=400)
    except EditConflict:
        return _render_conflict(request, report, form, options)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(url)
    if not submit:
        messages.success(request, _("Your changes are saved."))
        return redirect(url)
    try:
        services.report_submit(report, actor=request.user, expected_version=report.version)
    except ValidationError as error:
        messages.warning(
            request,
            _(
                "Your changes are saved, but the report is not submitted yet: complete what is "
                "marked below, then submit."
            ),
        )
        fresh = _report_queryset().get(pk=report.pk)
        form = ReportForm(instance=copy.copy(fresh), initial={"version": fresh.version}, **options)
        form.mark_missing(getattr(error, "message_dict", {}))
        return _render(request, fresh.campaign, fresh.department, fresh, form=form, status=400)
    except DomainError as error:  # the deadline has passed, or someone acted meanwhile
        messages.error(
            request,
            _("Your changes are saved, but the report is not submitted: %(reason)s")
            % {"reason": error.message},
        )
        return redirect(url)
    messages.success(
        request,
        _(
            "The report is submitted for review. The reviewers are told by email; their decision "
            "will show here and reach you by email."
        ),
    )
    return redirect(url)


def _render_conflict(request, report, form, options):
    """Someone changed the report since this person opened the page: keep their input, show
    what is saved now where it differs, and let a second save replace it."""
    current = _report_queryset().get(pk=report.pk)
    data = request.POST.copy()
    data["version"] = str(current.version)
    kept = ReportForm(data, instance=copy.copy(current), **options)
    kept.is_valid()
    kept.note_conflict(current)
    said = _last_change(current) or _("The report was changed after you opened this page.")
    kept.add_error(
        None,
        _(
            "%(message)s Your input below is not saved yet. Where the saved report differs, its "
            "value is shown under the field. Save again to replace it with your input."
        )
        % {"message": said},
    )
    if current.status not in REPORT_EDITABLE_STATES:
        messages.error(request, _not_editable_message(current))
        return redirect(_report_url(request.user, current.campaign.year, current.department_id))
    return _render(request, current.campaign, current.department, current, form=kept, status=409)


def _withdraw(request, report):
    url = _report_url(request.user, report.campaign.year, report.department_id)
    if not request.user.has_perm("feedback.submit_report", report):
        raise PermissionDenied
    try:
        services.report_withdraw(
            report, actor=request.user, expected_version=_version(request.POST.get("version"))
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(url)
    messages.success(
        request,
        _("The submission is withdrawn: the report is a draft again. Submit it again when ready."),
    )
    return redirect(url)


# --- typical cases -----------------------------------------------------------------------------


def _posted_as_initial(form_class, data, **options) -> dict:
    """The posted values as a form's initial values, to redraw the form without judging it."""
    fields = form_class(**options).fields
    initial = {}
    for name in fields:
        if name == "publication_consent":
            initial[name] = name in data
        elif name in data:
            initial[name] = data.get(name)
    return initial


def _render_case_form(request, form, report, case=None, *, status=200):
    last = FEEDBACK_WORKFLOW.last_decision(report)
    return render(
        request,
        "feedback/case_form.html",
        {
            "form": form,
            "error_fields": form.error_fields() if form.errors else [],
            "report": report,
            "campaign": report.campaign,
            "case": case,
            "report_url": _report_url(request.user, report.campaign.year, report.department_id),
            "region_api": reverse("region-list"),
            "cases_comment": _field_comments(report, last).get("cases"),
            "may_edit": True,
            "media_panel": case is not None and _media_panel_ready(),
        },
        status=status,
    )


def _refuse_unless_editable(request, report):
    """None if the person may change the report now, else the redirect that says why not."""
    if services.report_may_edit(report, request.user):
        return None
    messages.error(request, _not_editable_message(report))
    return redirect(_report_url(request.user, report.campaign.year, report.department_id))


@login_required
@require_http_methods(["GET", "POST"])
def case_create(request, year):
    """Add a typical case to the department's report."""
    campaign = get_object_or_404(Campaign, year=year)
    department = _chosen_department(request)
    if department is None:
        return redirect("feedback:report_edit", year)
    report = _report_queryset().filter(campaign=campaign, department=department).first()
    if report is None:
        messages.error(request, _("Start the report first, then add its typical cases."))
        return redirect(_report_url(request.user, year, department.pk))
    refused = _refuse_unless_editable(request, report)
    if refused:
        return refused
    options = {"campaign": campaign, "instance": TypicalCase(report=report)}
    if request.method != "POST":
        initial = {"version": report.version}
        if department.region_id:
            initial["region"] = department.region
        return _render_case_form(request, CaseForm(initial=initial, **options), report)
    if "_regions" in request.POST:  # no JavaScript: redraw the region lists, judge nothing yet
        initial = _posted_as_initial(CaseForm, request.POST, **options)
        return _render_case_form(request, CaseForm(initial=initial, **options), report)
    form = CaseForm(request.POST, **options)
    if form.is_valid():
        try:
            case = services.case_create(
                report,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                **form.service_arguments(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        except EditConflict:
            return _case_conflict(request, report, form, options, None)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect(_report_url(request.user, year, department.pk))
        else:
            messages.success(
                request,
                _("The typical case is added. Add its pictures and videos below."),
            )
            return redirect("feedback:case_edit", case.pk)
    return _render_case_form(request, form, report, status=400)


def _case_conflict(request, report, form, options, case):
    """The report changed since the form was opened: keep the input, say who, save again."""
    current = _report_queryset().get(pk=report.pk)
    if current.status not in REPORT_EDITABLE_STATES:
        messages.error(request, _not_editable_message(current))
        return redirect(_report_url(request.user, current.campaign.year, current.department_id))
    data = request.POST.copy()
    data["version"] = str(current.version)
    saved = (
        TypicalCase.objects.select_related("key_arrangement", "region").filter(pk=case.pk).first()
        if case is not None
        else None
    )
    options = {**options, "instance": copy.copy(saved) if saved else options["instance"]}
    kept = CaseForm(data, **options)
    kept.is_valid()
    kept.note_conflict(saved)
    said = _last_change(current) or _("The report was changed after you opened this page.")
    kept.add_error(
        None,
        _(
            "%(message)s Your input below is not saved yet. Where the saved case differs, its "
            "value is shown under the field. Save again to keep your input."
        )
        % {"message": said},
    )
    return _render_case_form(request, kept, current, saved or case, status=409)


@login_required
@require_http_methods(["GET", "POST"])
def case_edit(request, pk):
    """Change a typical case of a report in draft or returned; add its pictures and videos."""
    case = _workspace_case(request.user, pk)
    report = case.report
    refused = _refuse_unless_editable(request, report)
    if refused:
        return refused
    # The reviewer comments on the cases as a whole; the page shows it above the form.
    options = {"campaign": report.campaign, "instance": copy.copy(case)}
    if request.method != "POST":
        form = CaseForm(initial={"version": report.version}, **options)
        return _render_case_form(request, form, report, case)
    if "_regions" in request.POST:
        initial = _posted_as_initial(CaseForm, request.POST, **options)
        return _render_case_form(request, CaseForm(initial=initial, **options), report, case)
    form = CaseForm(request.POST, **options)
    if form.is_valid():
        try:
            services.case_update(
                case,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                **form.service_arguments(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        except EditConflict:
            return _case_conflict(request, report, form, options, case)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect(_report_url(request.user, report.campaign.year, report.department_id))
        else:
            messages.success(request, _("The typical case is saved."))
            return redirect(_report_url(request.user, report.campaign.year, report.department_id))
    return _render_case_form(request, form, report, case, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def case_delete(request, pk):
    """Delete a typical case with its pictures and videos, after asking."""
    case = _workspace_case(request.user, pk)
    report = case.report
    refused = _refuse_unless_editable(request, report)
    if refused:
        return refused
    url = _report_url(request.user, report.campaign.year, report.department_id)
    if request.method == "POST":
        try:
            services.case_delete(
                case,
                actor=request.user,
                expected_version=_version(request.POST.get("version")),
            )
        except EditConflict:
            messages.error(
                request,
                _(
                    "The report was changed after you opened the confirmation; the case is not "
                    "deleted. Look at it again and confirm once more."
                ),
            )
            return redirect(reverse("feedback:case_delete", args=[case.pk]))
        except DomainError as error:
            messages.error(request, error.message)
            return redirect(url)
        messages.success(
            request,
            _("The typical case “%(title)s” is deleted, with its pictures and videos.")
            % {"title": case.title},
        )
        return redirect(url)
    return render(
        request,
        "feedback/case_delete.html",
        {
            "case": case,
            "report": report,
            "report_url": url,
            "media_count": case.media.count(),
        },
    )


urlpatterns = [
    path("workspace/feedback/<int:year>/", report_edit, name="report_edit"),
    path("workspace/feedback/<int:year>/cases/new/", case_create, name="case_create"),
    path("workspace/feedback/cases/<int:pk>/", case_edit, name="case_edit"),
    path("workspace/feedback/cases/<int:pk>/delete/", case_delete, name="case_delete"),
]
