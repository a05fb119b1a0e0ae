"""The enterprise's pages: sign an enterprise up for an activity, see a registration (with its
check-in code), "My registrations", and withdraw.

Views find out who is asking and what they may see, and call the services in `services.py`,
where every sign-up rule lives. A refusal comes back as a clear message in the person's language,
next to the field it is about, and nothing they typed is lost.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.enums import RepresentationStatus
from accounts.models import EnterpriseRepresentative, EnterpriseSignup
from accounts.rules import roles_of
from activities.enums import ActivityStatus
from activities.models import Activity
from activities.selectors import activity_visible_to
from qualitymonth import ratelimit
from qualitymonth.errors import DomainError
from qualitymonth.lazy import lazy_import
from qualitymonth.notifications import absolute_url

from . import services
from .enums import REGISTRATION_ACTIVE_STATES, RegistrationStatus
from .forms import SignUpForm, WithdrawForm, attendee_formset_class
from .limits import SIGN_UP_LIMITS
from .models import Attendee, Enterprise, Registration
from .selectors import registrations_of_enterprise, with_waiting_position

# QR codes are drawn on first use: most requests never draw one.
segno = lazy_import("segno")

ATTENDEE_PREFIX = "attendees"


# --- who is asking ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignUpStanding:
    """Whether the person can sign an enterprise up and, if not, what they can do about it.

    `reason` is one of "anonymous", "unverified", "pending_claim", "no_enterprise", or "" when
    they represent `enterprise` and may sign it up. The service checks the same again."""

    reason: str
    enterprise: Enterprise | None = None
    pending_claim: EnterpriseRepresentative | None = None

    @property
    def may_sign_up(self) -> bool:
        return not self.reason


def sign_up_standing(user) -> SignUpStanding:
    if not user.is_authenticated:
        return SignUpStanding("anonymous")
    enterprise_id = roles_of(user).enterprise_id
    if enterprise_id is not None:
        enterprise = Enterprise.objects.get(pk=enterprise_id)
        if user.email_verified_at is None:
            return SignUpStanding("unverified", enterprise=enterprise)
        return SignUpStanding("", enterprise=enterprise)
    pending = (
        EnterpriseRepresentative.objects.filter(user=user, status=RepresentationStatus.PENDING)
        .select_related("enterprise")
        .first()
    )
    if pending is not None:
        return SignUpStanding("pending_claim", pending_claim=pending)
    if user.email_verified_at is None and EnterpriseSignup.objects.filter(user=user).exists():
        return SignUpStanding("unverified")
    return SignUpStanding("no_enterprise")


# --- reading registrations ------------------------------------------------------------------


def _own_registrations(user) -> QuerySet[Registration]:
    """The registrations of the enterprise the person represents (none for anyone else)."""
    enterprise_id = roles_of(user).enterprise_id
    if enterprise_id is None:
        return Registration.objects.none()
    return Registration.objects.filter(enterprise_id=enterprise_id)


def _registration_for_page(user, pk: int) -> Registration:
    """One of the person's enterprise's registrations; 404 for any other, whether it exists or
    not (another enterprise's registration must not be told apart from a wrong number)."""
    queryset = with_waiting_position(
        _own_registrations(user).select_related(
            "activity__organiser", "activity__region", "activity__campaign", "enterprise"
        )
    ).prefetch_related(Prefetch("attendees", queryset=Attendee.objects.order_by("id")))
    return get_object_or_404(queryset, pk=pk)


def qr_code_svg(text: str) -> str:
    """`text` as a QR code, an inline SVG made on our server (no image host, no script)."""
    svg = segno.make(text, error="m", micro=False).svg_inline(
        scale=6, border=2, dark="#1a1a1a", light="#ffffff", omitsize=True
    )
    return mark_safe(svg)  # noqa: S308 (segno's own markup of our own URL)  # nosec B308 B703


def _seats_left(activity: Activity) -> int | None:
    """Seats not yet taken by a confirmed enterprise; None for no limit."""
    if activity.capacity is None:
        return None
    return max(activity.capacity - activity.confirmed_count, 0)


def _window(activity: Activity, now) -> str:
    """Where the activity's sign-up stands, to explain it before anyone fills the form in.
    Only for display: the service decides, and says why when it refuses."""
    if activity.status == ActivityStatus.CANCELLED:
        return "cancelled"
    if not activity.is_published:
        return "unpublished"
    if not activity.signup_enabled:
        return "disabled"
    if activity.signup_opens_at and now < activity.signup_opens_at:
        return "not_yet"
    if activity.signup_closes_at and now >= activity.signup_closes_at:
        return "closed"
    return "open"


# --- pages -----------------------------------------------------------------------------------


def _put_error(error: DomainError | ValidationError, form, formset) -> None:
    """A service's refusal, next to the field it is about or else at the top of the form."""
    if isinstance(error, DomainError):
        field, message = error.field, error.message
        if field in form.fields:
            form.add_error(field, message)
        elif field in ("attendees", "attendee_count"):
            formset._non_form_errors.append(message)
        else:
            form.add_error(None, message)
        return
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages_ in error.message_dict.items():
        target = field if field in form.fields else None
        if field in ("attendees", "attendee_count"):
            formset._non_form_errors.extend(messages_)
            continue
        for message in messages_:
            form.add_error(None if target == NON_FIELD_ERRORS else target, message)


@require_http_methods(["GET", "POST"])
def sign_up(request, pk):
    """Sign the person's enterprise up for an activity: who goes, whom to call, a note.

    Anyone can open it; those who cannot sign up yet are told why and what to do (log in, sign
    up their enterprise, verify their email, wait for their claim to be approved)."""
    visible = activity_visible_to(request.user) | Activity.objects.filter(
        status=ActivityStatus.CANCELLED
    )
    activity = get_object_or_404(
        visible.select_related("organiser", "region__parent", "campaign"), pk=pk
    )
    standing = sign_up_standing(request.user)
    window = _window(activity, timezone.now())
    existing = None
    if standing.enterprise is not None:
        existing = (
            with_waiting_position(
                Registration.objects.filter(
                    activity=activity,
                    enterprise=standing.enterprise,
                    status__in=REGISTRATION_ACTIVE_STATES,
                )
            )
            .order_by("-created_at")
            .first()
        )
    seats_left = _seats_left(activity)
    context = {
        "activity": activity,
        "standing": standing,
        "window": window,
        "existing": existing,
        "seats_left": seats_left,
        "limit": activity.attendees_per_enterprise,
        "next_url": request.get_full_path(),
    }
    if not standing.may_sign_up or existing is not None:
        if request.method == "POST" and not standing.may_sign_up:
            return render(request, "registrations/sign_up.html", context, status=403)
        return render(request, "registrations/sign_up.html", context)
    if request.method == "GET" and window != "open":
        return render(request, "registrations/sign_up.html", context)

    AttendeeFormSet = attendee_formset_class(activity.attendees_per_enterprise)
    enterprise = standing.enterprise
    if request.method == "POST":
        form = SignUpForm(request.POST)
        formset = AttendeeFormSet(request.POST, prefix=ATTENDEE_PREFIX)
        refusal = ratelimit.check(request, SIGN_UP_LIMITS)
        if refusal is not None:
            # The form again with what was typed, and why it was not sent.
            form.add_error(None, refusal.message)
            context.update(form=form, formset=formset)
            response = render(request, "registrations/sign_up.html", context, status=429)
            response["Retry-After"] = str(refusal.retry_after)
            return response
        if form.is_valid() and formset.is_valid():
            try:
                registration = services.registration_sign_up(
                    activity,
                    actor=request.user,
                    enterprise=enterprise,
                    attendees=formset.attendees(),
                    contact_name=form.cleaned_data["contact_name"],
                    contact_mobile=form.cleaned_data["contact_mobile"],
                    note=form.cleaned_data["note"],
                )
            except (DomainError, ValidationError) as refusal:
                _put_error(refusal, form, formset)
            else:
                if registration.status == RegistrationStatus.CONFIRMED:
                    messages.success(
                        request,
                        _("Your enterprise is registered. Show the check-in code at the door."),
                    )
                else:
                    messages.info(
                        request,
                        _(
                            "The activity is full: your enterprise is on the waiting list. We "
                            "email you as soon as a seat is yours."
                        ),
                    )
                return redirect("registrations:registration_detail", pk=registration.pk)
        # Fresh seats and window after a refusal (someone may have taken the last seat).
        activity.refresh_from_db(fields=["confirmed_count", "capacity", "status"])
        context["seats_left"] = _seats_left(activity)
    else:
        form = SignUpForm(
            initial={"contact_name": enterprise.contact_name, "contact_mobile": enterprise.mobile}
        )
        formset = AttendeeFormSet(prefix=ATTENDEE_PREFIX)
    context.update(form=form, formset=formset)
    return render(request, "registrations/sign_up.html", context)


@login_required
def registration_detail(request, pk):
    """One registration as its enterprise sees it: the status, the check-in code and its QR
    code once confirmed, the place on the waiting list, and withdraw."""
    registration = _registration_for_page(request.user, pk)
    activity = registration.activity
    confirmed = registration.status == RegistrationStatus.CONFIRMED
    return render(
        request,
        "registrations/registration_detail.html",
        {
            "registration": registration,
            "activity": activity,
            "seats_left": _seats_left(activity),
            # The QR opens the organiser's check-in page for this code (a phone camera opens it;
            # a handheld scanner on the check-in form gets the URL, which also carries the code).
            "qr_svg": qr_code_svg(
                absolute_url("organiser:check_in_scan", registration.check_in_code)
            )
            if confirmed
            else "",
            # The service refuses once the activity has begun; do not offer it then.
            "may_withdraw": registration.is_active and activity.starts_at > timezone.now(),
        },
    )


@login_required
def my_registrations(request):
    """The enterprise's registrations: upcoming (confirmed), waiting with their place, past,
    and withdrawn or cancelled ones. The same few queries however many there are."""
    standing = sign_up_standing(request.user)
    if standing.enterprise is None:
        # Not a representative (yet): say why there is nothing here and what to do.
        return render(request, "registrations/my_registrations.html", {"standing": standing})
    now = timezone.now()
    registrations = registrations_of_enterprise(standing.enterprise)
    groups = {"upcoming": [], "waiting": [], "past": [], "ended": []}
    for registration in registrations:
        if registration.status not in REGISTRATION_ACTIVE_STATES:
            groups["ended"].append(registration)
        elif registration.activity.ends_at <= now:
            groups["past"].append(registration)
        elif registration.status == RegistrationStatus.WAITING:
            groups["waiting"].append(registration)
        else:
            groups["upcoming"].append(registration)
    groups["past"].reverse()  # the most recent first
    groups["ended"].sort(key=lambda r: r.withdrawn_at or r.updated_at, reverse=True)
    return render(
        request,
        "registrations/my_registrations.html",
        {
            "standing": standing,
            "enterprise": standing.enterprise,
            "groups": groups,
            "count": sum(len(group) for group in groups.values()),
            "now": now,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def withdraw(request, pk):
    """Withdraw a registration, after a confirmation step (with an optional reason)."""
    registration = _registration_for_page(request.user, pk)
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.registration_withdraw(
                registration, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as refusal:
            form.add_error("reason" if refusal.field == "reason" else None, refusal.message)
        else:
            messages.success(
                request,
                _("Your registration for “%(activity)s” is withdrawn.")
                % {"activity": registration.activity.title},
            )
            return redirect(reverse("registrations:my_registrations"))
    return render(
        request,
        "registrations/withdraw.html",
        {"registration": registration, "activity": registration.activity, "form": form},
    )
