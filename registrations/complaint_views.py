"""Fee-complaint pages: the public report form and its thank-you page; for platform
administrators, the queue, a complaint's page with its decision form, and its evidence files.

Evidence is only ever served here, to administrators, never from a public media address. Rules
live in `complaints.py`; these views check who asks, call the services and say what happened.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from qualitymonth.errors import DomainError, IllegalTransition
from qualitymonth.middleware import client_ip

from . import complaints
from .complaint_forms import FeeComplaintDecisionForm, FeeComplaintForm, FeeComplaintQueueFilterForm
from .models import FeeComplaintEvidence, FeeComplaintStatus

PAGE_SIZE = 25
# Open complaints older than this are marked in the queue.
LONG_WAIT_DAYS = 7
SESSION_KEY = "fee_complaint_submitted"
_KEPT_ON_SEARCH = (
    "search",
    "activity",
    "organiser",
    "organiser_name",
    "description",
    "amount",
    "occurred_on",
    "reporter_name",
    "reporter_contact",
)


# --- the public report -----------------------------------------------------------------------


def _rate_limited_message():
    return _(
        "You have sent %(count)d reports from this connection within an hour, as many as we "
        "accept. Please try again in an hour, or call the market-regulation hotline 12315."
    ) % {"count": complaints.rate_limit_per_hour()}


@never_cache
def report(request):
    """The report form. A "Find" button redraws it with the activities and organisers matching
    the words typed, keeping everything else (files must be chosen again)."""
    signed_in = request.user.is_authenticated
    activity = complaints.public_activity_or_none(request.GET.get("activity"))
    ip = client_ip(request)
    status = 200
    rate_limited = False
    searched = False
    if request.method == "POST" and "find" in request.POST:
        searched = True
        initial = {name: request.POST.get(name, "") for name in _KEPT_ON_SEARCH}
        form = FeeComplaintForm(initial=initial, signed_in=signed_in)
    elif request.method == "POST":
        form = FeeComplaintForm(request.POST, request.FILES, signed_in=signed_in)
        # Counted before it is accepted (atomic), given back if it is not: parallel posts
        # cannot exceed the limit, and mistakes do not use it up.
        if complaints.fee_complaint_rate_limited(ip) or (
            form.is_valid() and not complaints.fee_complaint_rate_reserve(ip)
        ):
            rate_limited = True
            status = 429
        elif form.is_valid():
            data = form.cleaned_data
            try:
                complaint = complaints.fee_complaint_submit(
                    actor=request.user,
                    activity=data["activity"],
                    organiser=data["organiser"],
                    organiser_name=data["organiser_name"],
                    description=data["description"],
                    amount=data["amount"],
                    occurred_on=data["occurred_on"],
                    reporter_name=data["reporter_name"],
                    reporter_contact=data["reporter_contact"],
                    evidence=data["evidence"],
                )
            except ValidationError as error:
                complaints.fee_complaint_rate_release(ip)
                form.add_error(None, error)
            except BaseException:
                complaints.fee_complaint_rate_release(ip)
                raise
            else:
                request.session[SESSION_KEY] = {
                    "reference": complaint.reference,
                    "acknowledged": bool(complaints.reporter_email(complaint)),
                    "files": complaint.evidence.count(),
                    "duplicates": form.duplicates,
                }
                return redirect("complaints:thanks")
        if form.errors:
            status = 400
    else:
        search = request.GET.get("search", "")[:100]
        searched = bool(search)
        initial = {"search": search}
        if activity:
            initial["activity"] = activity.pk
        form = FeeComplaintForm(
            initial=initial, activity=activity, search=search, signed_in=signed_in
        )
    response = render(
        request,
        "complaints/report.html",
        {
            "form": form,
            "activity": activity,
            "searched": searched,
            "rate_limited": rate_limited,
            "rate_limited_message": _rate_limited_message() if rate_limited else "",
            "max_files": complaints.MAX_EVIDENCE_FILES,
        },
        status=status,
    )
    if rate_limited:
        response["Retry-After"] = str(complaints.fee_complaint_rate_retry_after(ip))
    return response


@never_cache
@require_GET
def thanks(request):
    submitted = request.session.get(SESSION_KEY)
    if not submitted:
        return redirect("complaints:report")
    return render(request, "complaints/thanks.html", {"submitted": submitted})


# --- administrators ------------------------------------------------------------------------------


def _require_handler(user) -> None:
    if not user.has_perm(complaints.HANDLE_PERMISSION):
        raise PermissionDenied


@login_required
@never_cache
def queue(request):
    """Complaints by status (the open ones, oldest first, by default) and age, with how many are
    in each status."""
    _require_handler(request.user)
    form = FeeComplaintQueueFilterForm(request.GET or None)
    found = complaints.fee_complaint_queue(request.user, **form.filters())
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for complaint in page:
        complaint.waited_days = (now - complaint.created_at).days
    counts = complaints.fee_complaint_status_counts(request.user)
    open_count = sum(counts.get(s, 0) for s in complaints.OPEN_STATES)
    tabs = [
        ("open", _("Open"), open_count),
        *((value, label, counts.get(value, 0)) for value, label in FeeComplaintStatus.choices),
        ("all", _("All"), sum(counts.values())),
    ]
    return render(
        request,
        "complaints/queue.html",
        {
            "form": form,
            "page": page,
            "tabs": tabs,
            "current_status": form.chosen_status,
            "age": request.GET.get("age", ""),
            "long_wait_days": LONG_WAIT_DAYS,
            "open_states": complaints.OPEN_STATES,
        },
    )


def _visible_complaint(request, reference):
    queryset = complaints.fee_complaints_visible_to(request.user).select_related(
        "activity__organiser", "activity__region", "organiser", "reporter", "handled_by"
    )
    return get_object_or_404(queryset, reference=reference)


@login_required
@never_cache
def detail(request, reference):
    """Everything about one complaint, the reporter included, its evidence, its history, and the
    decision form. Anyone but an administrator gets the 404 page."""
    complaint = _visible_complaint(request, reference)
    form = FeeComplaintDecisionForm(request.POST or None, complaint=complaint)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                complaints.fee_complaint_set_status(
                    complaint,
                    data["action"],
                    actor=request.user,
                    outcome=data["outcome"],
                    comment=data["comment"],
                )
            except IllegalTransition as error:
                messages.error(request, error.message)
                return redirect("complaints:detail", reference=complaint.reference)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                if data["action"] == FeeComplaintStatus.CLOSED:
                    text = _("Complaint %(reference)s is closed.")
                    if complaints.reporter_email(complaint):
                        text = _(
                            "Complaint %(reference)s is closed; the reporter is told the outcome "
                            "by email."
                        )
                else:
                    text = _("Complaint %(reference)s is being investigated.")
                messages.success(request, text % {"reference": complaint.reference})
                return redirect("complaints:detail", reference=complaint.reference)
        status = 400
    evidence = list(complaint.evidence.all())
    elsewhere = complaints.evidence_same_elsewhere(complaint)
    for item in evidence:
        item.is_image = item.content_type in complaints.IMAGE_TYPES
        item.elsewhere = elsewhere.get(item.pk, [])
    return render(
        request,
        "complaints/detail.html",
        {
            "complaint": complaint,
            "form": form,
            "evidence": evidence,
            "history": complaints.fee_complaint_history(complaint),
            "reporter_email": complaints.reporter_email(complaint),
            "queue_url": reverse("complaints:queue"),
        },
        status=status,
    )


@login_required
@require_GET
def evidence_file(request, reference, pk):
    """One evidence file, to administrators only: pictures shown in the page, PDFs downloaded,
    under their original name. Never cached, never run as a page."""
    complaint = _visible_complaint(request, reference)
    item = get_object_or_404(FeeComplaintEvidence, complaint=complaint, pk=pk)
    download = request.GET.get("download") == "1" or item.content_type not in complaints.IMAGE_TYPES
    try:
        handle = item.file.open("rb")
    except FileNotFoundError as error:
        raise Http404(_("The file is missing from storage.")) from error
    response = FileResponse(
        handle,
        as_attachment=download,
        filename=item.original_name,
        content_type=item.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
