"""The staff workspace: a department's activities, the form to register and revise one, and its
page with the actions the person may take now and its full history.

Views check who may open what (through the selectors and `accounts/rules.py`) and call the
services in `services.py`; every rule lives there. Refused actions come back as clear messages,
and nothing a person typed is lost.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.rules import is_co_organiser_staff, roles_of
from qualitymonth.errors import DomainError, EditConflict

from . import services
from .enums import ACTIVITY_EDITABLE_STATES, ActivityStatus
from .forms import ActivityForm, CancelForm, WorkspaceFilterForm
from .models import Activity, Campaign, ContentArea, Department
from .selectors import (
    activity_history,
    activity_status_counts,
    activity_workspace,
    activity_workspace_scope,
    campaign_current,
    department_list,
)
from .services import (
    ACTIVITY_WORKFLOW,
    activity_cancel,
    activity_may_edit,
    activity_missing_for_submission,
    activity_submit,
    activity_update,
    activity_withdraw,
)

PAGE_SIZE = 25
# The transitions the workspace offers; reviewing happens on the review pages.
WORKSPACE_ACTIONS = ("submit", "withdraw", "cancel")


def _department_of(user) -> Department | None:
    department_id = roles_of(user).department_id
    return Department.objects.filter(pk=department_id).first() if department_id else None


def _require_workspace(user) -> None:
    """The workspace is for department staff (and administrators); others get the 403 page."""
    roles = roles_of(user)
    if not (roles.is_admin or roles.department_id is not None):
        raise PermissionDenied


def _workspace_activity(user, pk: int, *, detailed: bool = False) -> Activity:
    """An activity the person may open in the workspace; 404 for any other, whether it exists
    or not (another department's draft must not be told apart from a wrong number)."""
    queryset = activity_workspace_scope(user).select_related(
        "campaign", "key_arrangement", "organiser", "region__parent__parent"
    )
    if detailed:
        queryset = queryset.prefetch_related(
            Prefetch("content_areas", queryset=ContentArea.objects.order_by("number")),
            Prefetch("co_organisers", queryset=Department.objects.order_by("level", "name_zh")),
        )
    return get_object_or_404(queryset, pk=pk)


def _version(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- "My activities" -------------------------------------------------------------------------


@login_required
def workspace(request):
    """The activities of the person's department and those it co-organises, by campaign (the
    current one first), key arrangement and status, with how many are in each status.

    Administrators choose a department or see all. The same few queries however many rows."""
    _require_workspace(request.user)
    roles = roles_of(request.user)
    campaigns = list(Campaign.objects.order_by("-year"))
    by_year = {str(c.year): c for c in campaigns}
    current = campaign_current()
    data = request.GET.copy()
    if data.get("campaign") not in by_year and current is not None:
        data["campaign"] = str(current.year)
    campaign = by_year.get(data.get("campaign", ""))
    departments = list(department_list().order_by("level", "name_zh")) if roles.is_admin else None
    if roles.is_admin and "department" not in data and roles.department_id:
        data["department"] = str(roles.department_id)
    filters = WorkspaceFilterForm(
        data, campaigns=campaigns, campaign=campaign, departments=departments
    )
    filters.is_valid()  # an unknown value is ignored; the form says so next to the filter
    chosen = filters.cleaned_data
    department = chosen.get("department") if roles.is_admin else _department_of(request.user)
    activities = activity_workspace(
        request.user,
        department=department,
        campaign=campaign,
        key_arrangement=chosen.get("key_arrangement"),
    )
    counts = activity_status_counts(activities)
    status = chosen.get("status") or ""
    if status:
        activities = activities.filter(status=status)
    page = Paginator(activities.order_by("starts_at", "pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "activities/workspace/list.html",
        {
            "filters": filters,
            "department": department,
            "campaign": campaign,
            "page": page,
            "status": status,
            "status_counts": [
                (value, label, counts.get(value, 0)) for value, label in ActivityStatus.choices
            ],
            "total": sum(counts.values()),
            "may_add": request.user.has_perm("activities.add_activity"),
        },
    )


# --- create and edit ---------------------------------------------------------------------------


def _posted_as_initial(fields, data) -> dict:
    """The posted values as a form's initial values, to redraw the form without judging it."""
    initial = {}
    for name, field in fields.items():
        widget = field.widget
        if getattr(widget, "allow_multiple_selected", False):
            initial[name] = data.getlist(name)
        elif isinstance(widget, forms.CheckboxInput):
            initial[name] = name in data
        elif name in data:
            initial[name] = data.get(name)
    return initial


def _error_fields(form) -> list[tuple[str, str]]:
    """The fields with messages, as (anchor, label), for the summary above the form."""
    found = {}
    for name in form.errors:
        if name == NON_FIELD_ERRORS:
            continue
        anchor = "region" if name.startswith("region") else name
        found[anchor] = _("Region") if anchor == "region" else form.fields[name].label
    return list(found.items())


def _render_form(request, form, activity=None, *, status=200):
    context = {
        "form": form,
        "error_fields": _error_fields(form),
        "activity": activity,
        "campaign": form.campaign,
        "last_decision": None,
        "region_api": reverse("region-list"),
    }
    if activity is not None and activity.status == ActivityStatus.RETURNED:
        context["last_decision"] = ACTIVITY_WORKFLOW.last_decision(activity)
    return render(request, "activities/workspace/form.html", context, status=status)


def _after_save(request, activity: Activity, *, submit: bool, created: bool):
    """Submit if asked; say what happened; go to the activity (or back to the form with what a
    submission still needs, field by field)."""
    if submit:
        try:
            activity_submit(activity, actor=request.user, expected_version=activity.version)
        except ValidationError:
            messages.warning(
                request,
                _(
                    "Saved as a draft, but not submitted yet: complete the fields marked below, "
                    "then submit."
                ),
            )
            return redirect(reverse("activities:activity_edit", args=[activity.pk]) + "?check=1")
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("activities:activity_manage", activity.pk)
        messages.success(
            request,
            _(
                "Submitted for review. The reviewers are told by email; their decision will show "
                "here and reach you by email."
            ),
        )
    elif created:
        messages.success(
            request,
            _("Saved as a draft. Nobody outside your department sees it until it is approved."),
        )
    else:
        messages.success(request, _("Your changes are saved."))
    return redirect("activities:activity_manage", activity.pk)


@login_required
def activity_create(request):
    """Register a new activity in the current campaign, as a draft (and submit it, if asked)."""
    if not request.user.has_perm("activities.add_activity"):
        raise PermissionDenied
    roles = roles_of(request.user)
    campaign = campaign_current()
    if campaign is None:
        messages.error(
            request,
            _("No campaign is being prepared or open yet: activities cannot be registered."),
        )
        return redirect("activities:workspace")
    own = _department_of(request.user)
    options = {
        "campaign": campaign,
        "choose_organiser": roles.is_admin,
        "organiser": own,
        "instance": Activity(campaign=campaign, organiser=own, status=ActivityStatus.DRAFT),
    }
    if request.method != "POST":
        initial = {"region": own.region} if own is not None and own.region_id else {}
        return _render_form(request, ActivityForm(initial=initial, **options))
    if "_regions" in request.POST:  # no JavaScript: redraw the region lists, judge nothing yet
        fields = ActivityForm(**options).fields
        return _render_form(
            request, ActivityForm(initial=_posted_as_initial(fields, request.POST), **options)
        )
    form = ActivityForm(request.POST, **options)
    if form.is_valid():
        organiser = form.cleaned_data.get("organiser") or own
        try:
            activity = services.activity_create(
                actor=request.user,
                campaign=campaign,
                organiser=organiser,
                **form.service_arguments(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return _after_save(
                request, activity, submit=request.POST.get("action") == "submit", created=True
            )
    return _render_form(request, form, status=400)


@login_required
def activity_edit(request, pk):
    """Revise a draft or an activity returned for revision. The form carries the version it was
    loaded at: if someone saved in between, the person's input stays and the page says so."""
    activity = _workspace_activity(request.user, pk)
    if not request.user.has_perm("activities.change_activity", activity):
        raise PermissionDenied
    last = (
        ACTIVITY_WORKFLOW.last_decision(activity)
        if activity.status == ActivityStatus.RETURNED
        else None
    )
    options = {
        "campaign": activity.campaign,
        "organiser": activity.organiser,
        "field_comments": last.field_comments if last else None,
    }
    if request.method != "POST":
        if activity.status not in ACTIVITY_EDITABLE_STATES:
            messages.info(request, _not_editable_message(activity))
            return redirect("activities:activity_manage", activity.pk)
        form = ActivityForm(instance=activity, initial={"version": activity.version}, **options)
        if request.GET.get("check"):
            form.mark_missing(activity_missing_for_submission(activity))
        return _render_form(request, form, activity)
    if "_regions" in request.POST:
        fields = ActivityForm(instance=activity, **options).fields
        form = ActivityForm(
            instance=activity, initial=_posted_as_initial(fields, request.POST), **options
        )
        return _render_form(request, form, activity)
    form = ActivityForm(request.POST, instance=activity, **options)
    if form.is_valid():
        try:
            activity_update(
                activity,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                **form.service_arguments(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        except EditConflict as error:
            return _render_conflict(request, activity, error, options)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return _after_save(
                request, activity, submit=request.POST.get("action") == "submit", created=False
            )
    return _render_form(request, form, activity, status=400)


def _render_conflict(request, activity, error, options):
    """Someone saved or acted on the activity since this person opened the form: keep their
    input, show what is saved now where it differs, and let a second save replace it."""

    def saved():
        return Activity.objects.select_related("campaign", "key_arrangement", "region").get(
            pk=activity.pk
        )

    current = saved()
    data = request.POST.copy()
    data["version"] = str(current.version)
    kept = ActivityForm(data, instance=saved(), **options)  # its own copy: validating writes on it
    kept.is_valid()
    kept.note_conflict(current)
    last = ACTIVITY_WORKFLOW.last_actor(current)
    if last is not None:
        said = _(
            "%(who)s saved this activity at %(when)s, after you opened this form; it is now "
            "“%(status)s”."
        ) % {
            "who": last.actor.get_full_name() if last.actor_id else last.actor_repr,
            "when": date_format(timezone.localtime(last.created_at), "DATETIME_FORMAT"),
            "status": current.get_status_display(),
        }
    else:
        said = error.message
    kept.add_error(
        None,
        _(
            "%(message)s Your input below is not saved yet. Where the saved activity differs, its "
            "value is shown under the field. Save again to replace it with your input."
        )
        % {"message": said},
    )
    return _render_form(request, kept, current, status=409)


def _not_editable_message(activity: Activity):
    if activity.status == ActivityStatus.SUBMITTED:
        return _(
            "This activity is waiting for review and cannot be changed now. Withdraw the "
            "submission first if you need to change it."
        )
    return _(
        "Only a draft or an activity returned for revision can be changed; this one is "
        "“%(status)s”."
    ) % {"status": activity.get_status_display()}


# --- the activity's page ---------------------------------------------------------------------


def _manage_context(request, activity: Activity, *, cancel_form=None) -> dict:
    user = request.user
    allowed = {t.name for t in ACTIVITY_WORKFLOW.allowed(activity, user)}
    last = ACTIVITY_WORKFLOW.last_decision(activity)
    may_change = user.has_perm("activities.change_activity", activity)
    roles = roles_of(user)
    co_organising = (
        not may_change and roles.department_id is not None and is_co_organiser_staff(user, activity)
    )
    editable = activity_may_edit(activity, user)
    return {
        "activity": activity,
        "history": activity_history(activity),
        "last_decision": last,
        # The reviewer's comments stand next to the fields while the activity is being revised.
        "field_comments": (
            last.field_comments if last and activity.status == ActivityStatus.RETURNED else {}
        ),
        "actions": [name for name in WORKSPACE_ACTIONS if name in allowed],
        "may_review": bool(allowed & {"approve", "return", "reject"}),
        "may_edit": editable,
        "co_organising": co_organising,
        "missing": activity_missing_for_submission(activity) if "submit" in allowed else {},
        "cancel_form": cancel_form or CancelForm(initial={"version": activity.version}),
    }


def _render_manage(request, activity, *, cancel_form=None, status=200):
    context = _manage_context(request, activity, cancel_form=cancel_form)
    return render(request, "activities/workspace/manage.html", context, status=status)


@login_required
def activity_manage(request, pk):
    """The activity in the workspace: its details, status, the reviewer's comments, the actions
    the person may take now, and everything that happened to it."""
    return _render_manage(request, _workspace_activity(request.user, pk, detailed=True))


_DONE = {
    "submit": _(
        "Submitted for review. The reviewers are told by email; their decision will show here "
        "and reach you by email."
    ),
    "withdraw": _("The submission is withdrawn: the activity is a draft again."),
    "cancel": _(
        "The activity is cancelled. The reason is kept on it and told to the enterprises "
        "registered for it."
    ),
}


@login_required
@require_POST
def activity_transition(request, pk, action):
    """Submit, withdraw or cancel, from the buttons of the activity's page. The page's version
    travels along, so acting on a stale page is refused with a clear message."""
    if action not in WORKSPACE_ACTIONS:
        raise Http404
    activity = _workspace_activity(request.user, pk, detailed=True)
    if not request.user.has_perm(ACTIVITY_WORKFLOW.transitions[action].permission, activity):
        raise PermissionDenied
    version = _version(request.POST.get("version"))
    try:
        if action == "submit":
            activity_submit(activity, actor=request.user, expected_version=version)
        elif action == "withdraw":
            activity_withdraw(activity, actor=request.user, expected_version=version)
        else:
            form = CancelForm(request.POST)
            if not form.is_valid():
                return _render_manage(request, activity, cancel_form=form, status=400)
            try:
                activity_cancel(
                    activity,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    expected_version=form.cleaned_data["version"],
                )
            except DomainError as error:
                form.add_error("reason" if error.field == "comment" else None, error.message)
                activity = _workspace_activity(request.user, pk, detailed=True)
                return _render_manage(request, activity, cancel_form=form, status=409)
    except ValidationError:
        # Only a submission is refused this way: the activity is incomplete.
        messages.warning(
            request,
            _("Not submitted yet: complete the fields marked below, then submit."),
        )
        return redirect(reverse("activities:activity_edit", args=[activity.pk]) + "?check=1")
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("activities:activity_manage", activity.pk)
    messages.success(request, _DONE[action])
    return HttpResponseRedirect(reverse("activities:activity_manage", args=[activity.pk]))
