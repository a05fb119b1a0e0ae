"""Reviewers' pages: the queue of submitted activities (with bulk approval) and the review of one
activity (approve, return for revision, reject).

Views check who is asking, read through selectors and act through the services of
activities/services.py, which own the rules: who may review what, which comments are required,
and refusing a second reviewer (optimistic locking).
"""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from qualitymonth.errors import DomainError, EditConflict, IllegalTransition
from qualitymonth.review import waited_for

from .enums import ActivityStatus
from .review_forms import ActivityReviewForm, ReviewAction, ReviewQueueFilterForm
from .selectors import (
    activity_history,
    activity_review_queue,
    activity_review_scope,
    campaign_current,
)
from .services import (
    ACTIVITY_WORKFLOW,
    activity_approve,
    activity_bulk_approve,
    activity_reject,
    activity_return,
)

PAGE_SIZE = 25
# Submissions waiting longer than this are marked in the queue.
LONG_WAIT_DAYS = 7

_RELATED = ("campaign", "key_arrangement", "organiser", "region", "created_by")


def _require_reviewer(user) -> None:
    if not user.has_perm("activities.view_review_queue"):
        raise PermissionDenied


# --- the queue ----------------------------------------------------------------------------------


@login_required
def review_queue(request):
    """Submitted activities in the reviewer's scope, the longest waiting first; a POST approves
    the selected ones."""
    _require_reviewer(request.user)
    if request.method == "POST":
        return _bulk_approve(request)
    form = ReviewQueueFilterForm(
        request.GET or None,
        queue=activity_review_queue(request.user),
        campaign=campaign_current(),
    )
    queue = activity_review_queue(request.user, **form.filters())
    page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for activity in page:
        waited = now - activity.submitted_at if activity.submitted_at else None
        activity.waited_days = waited.days if waited else 0
        activity.waited = waited_for(waited) if waited else ""
    return render(
        request,
        "activities/review/queue.html",
        {"form": form, "page": page, "long_wait_days": LONG_WAIT_DAYS},
    )


def _bulk_approve(request):
    # Each checkbox carries "id:version": approve only what the reviewer saw in the queue.
    versions = {}
    for value in request.POST.getlist("activity"):
        pk, _sep, version = value.partition(":")
        if pk.isdigit():
            versions[int(pk)] = int(version) if version.isdigit() else None
    ids = set(versions)
    # Any state, so that one approved meanwhile is reported with who did it, not skipped.
    chosen = list(
        activity_review_scope(request.user)
        .filter(pk__in=ids)
        .select_related(*_RELATED)
        .order_by("submitted_at", "pk")
    )
    back = request.get_full_path()
    if not chosen:
        messages.warning(request, _("Select the activities to approve first."))
        return redirect(back)
    approved, refused = activity_bulk_approve(
        chosen,
        actor=request.user,
        versions={pk: v for pk, v in versions.items() if v is not None},
    )
    if approved:
        messages.success(
            request,
            ngettext(
                "%(count)d activity approved and published: %(titles)s",
                "%(count)d activities approved and published: %(titles)s",
                len(approved),
            )
            % {"count": len(approved), "titles": "; ".join(a.title for a in approved)},
        )
    for activity, reason in refused:
        messages.error(
            request,
            _("“%(title)s” was not approved: %(reason)s")
            % {"title": activity.title, "reason": reason},
        )
    return redirect(back)


# --- one review ---------------------------------------------------------------------------------


@login_required
def activity_review(request, pk):
    """The whole activity, what changed since it was last returned, its history, and the review
    actions. An activity outside the reviewer's scope does not exist for them (404)."""
    _require_reviewer(request.user)
    activity = _reviewed_activity(request.user, pk)
    status = 200
    error = None
    if request.method == "POST":
        form = ActivityReviewForm(request.POST)
        if form.is_valid():
            try:
                _perform(activity, form, request.user)
            except (EditConflict, IllegalTransition) as refusal:
                # Someone acted first: show the activity as it is now and keep what was typed,
                # so the reviewer decides again on what they can see.
                activity = _reviewed_activity(request.user, pk)
                data = request.POST.copy()
                data["version"] = str(activity.version)
                form = ActivityReviewForm(data)
                form.is_valid()
                error, status = refusal.message, 409
            except DomainError as refusal:
                field = refusal.field if refusal.field in form.fields else None
                form.add_error(field, refusal.message)
                status = 400
            else:
                messages.success(request, _done_message(form.cleaned_data["action"], activity))
                return redirect("activities:review_queue")
        else:
            status = 400
    else:
        form = ActivityReviewForm(initial={"version": activity.version})
    context = _review_context(activity, request.user, form, error)
    return render(request, "activities/review/review.html", context, status=status)


def _reviewed_activity(user, pk):
    return get_object_or_404(activity_review_scope(user).select_related(*_RELATED), pk=pk)


def _perform(activity, form, actor) -> None:
    data = form.cleaned_data
    version = data["version"]
    action = data["action"]
    if action == ReviewAction.APPROVE:
        activity_approve(activity, actor=actor, comment=data["comment"], expected_version=version)
    elif action == ReviewAction.RETURN:
        activity_return(
            activity,
            actor=actor,
            comment=data["comment"],
            field_comments=form.field_comments(),
            expected_version=version,
        )
    else:
        activity_reject(activity, actor=actor, reason=data["comment"], expected_version=version)


def _done_message(action: str, activity) -> str:
    messages_by_action = {
        ReviewAction.APPROVE: _("“%(title)s” is approved and published."),
        ReviewAction.RETURN: _("“%(title)s” is returned to its organiser for revision."),
        ReviewAction.REJECT: _("“%(title)s” is rejected; its organiser is told the reason."),
    }
    return messages_by_action[action] % {"title": activity.title}


def _review_context(activity, user, form, error) -> dict:
    allowed = {t.name for t in ACTIVITY_WORKFLOW.allowed(activity, user)}
    actions = [name for name in ReviewAction.ALL if name in allowed]
    last = ACTIVITY_WORKFLOW.last_decision(activity)
    resubmitted = last is not None and activity.status == ActivityStatus.SUBMITTED
    changes, unchanged_asked = (
        ACTIVITY_WORKFLOW.review_changes(activity, last, readable=_readable)
        if resubmitted
        else ([], [])
    )
    waiting = activity.status == ActivityStatus.SUBMITTED and activity.submitted_at
    return {
        "activity": activity,
        "waited": waited_for(timezone.now() - activity.submitted_at) if waiting else "",
        "form": form,
        "actions": actions,
        "review_error": error,
        "last_decision": last if resubmitted else None,
        "changes": changes,
        # What the last review asked about fields the organiser then left as they were.
        "unchanged_asked": unchanged_asked,
        "history": activity_history(activity),
        "queue_url": reverse("activities:review_queue"),
    }


# --- what the page shows ---------------------------------------------------------------------

# Foreign keys are described as "<pk>:<name>" in snapshots (so a renamed region still differs);
# people read the name.
_FOREIGN_KEYS = {"key_arrangement", "region"}
_PK_PREFIX = re.compile(r"^\d+:")


def _readable(name: str, value: str) -> str:
    return _PK_PREFIX.sub("", value) if name in _FOREIGN_KEYS else value


def _labelled(field_comments: dict) -> list[tuple[str, str]]:
    return [
        (ACTIVITY_WORKFLOW.field_labels.get(name, name), text)
        for name, text in (field_comments or {}).items()
    ]
