"""Pages of the accounts app: signing in and passwords, enterprise sign-up and email
verification, staff invitations, the profile, the person's enterprise and their API tokens.

Views check permissions (`accounts/rules.py`) and call services; the rules live in services.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from qualitymonth.errors import DomainError
from registrations.models import Enterprise

from . import services, two_factor
from .enums import RepresentationStatus
from .forms import (
    EmailAuthenticationForm,
    EnterpriseDetailsForm,
    InvitationForm,
    PortalPasswordResetForm,
    ProfileForm,
    RejectionForm,
    SignupAccountForm,
    TokenCreateForm,
    VerificationResendForm,
)
from .models import EnterpriseRepresentative, EnterpriseSignup, PersonalToken, User
from .rules import is_platform_admin
from .tokens import (
    LinkState,
    email_verification_token_generator,
    invitation_token_generator,
    link_lifetime_days,
    password_reset_token_generator,
)

# After a one-time link, sign the person in without asking for the password again.
LINK_LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"
# One verification email per address per this many seconds, however often someone asks.
VERIFICATION_RESEND_INTERVAL = 60
PAGE_SIZE = 50


def _form_error(form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _user_from_uidb64(value: str) -> User | None:
    try:
        return User.objects.get(pk=int(force_str(urlsafe_base64_decode(value))))
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None


# --- signing in, out, passwords ----------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        user = self.request.user
        services.user_password_change(user, form.cleaned_data["new_password1"], actor=user)
        update_session_auth_hash(self.request, user)  # stay signed in here, out elsewhere
        messages.success(self.request, _("Your password is changed."))
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PortalPasswordResetForm
    template_name = "registration/password_reset_form.html"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "days": link_lifetime_days()}


class _OneTimeLinkMixin:
    """For Django's token-in-the-URL views: say whether a refused link expired or was used."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not self.validlink:
            token = self.kwargs.get("token")
            if token == self.reset_url_token:
                token = self.request.session.get(INTERNAL_RESET_SESSION_TOKEN)
            context["link_state"] = self.token_generator.state(self.user, token).value
        return context


class PasswordResetConfirmView(_OneTimeLinkMixin, auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    token_generator = password_reset_token_generator
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        services.user_password_reset(self.user, form.cleaned_data["new_password1"])
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


class InvitationAcceptView(_OneTimeLinkMixin, auth_views.PasswordResetConfirmView):
    """The link in a staff invitation: choose a password, then you are signed in."""

    template_name = "accounts/invitation_accept.html"
    token_generator = invitation_token_generator
    title = _("Welcome: choose your password")

    def form_valid(self, form):
        user = services.staff_invitation_accept(
            self.user, password=form.cleaned_data["new_password1"]
        )
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        auth_login(self.request, user, backend=LINK_LOGIN_BACKEND)
        messages.success(self.request, _("Your password is set and you are signed in. Welcome!"))
        return redirect("accounts:profile")


# --- enterprise sign-up and email verification -------------------------------------------------


@sensitive_post_parameters("password1", "password2")
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:my_enterprise")
    data = request.POST if request.method == "POST" else None
    account_form = SignupAccountForm(data)
    enterprise_form = EnterpriseDetailsForm(data, prefix="enterprise")
    if data is not None:
        # Validate both, so every mistake shows at once.
        valid = [account_form.is_valid(), enterprise_form.is_valid()]
        if all(valid):
            account = account_form.cleaned_data
            try:
                user = services.enterprise_signup(
                    email=account["email"],
                    password=account["password1"],
                    full_name=account["full_name"],
                    preferred_language=account["preferred_language"],
                    enterprise=enterprise_form.cleaned_data,
                )
            except DomainError as error:
                _form_error(account_form, error)
            else:
                request.session["signup_email"] = user.email
                return redirect("accounts:signup_done")
    return render(
        request,
        "accounts/signup.html",
        {"account_form": account_form, "enterprise_form": enterprise_form},
    )


def signup_done(request):
    return render(
        request,
        "accounts/signup_done.html",
        {
            "email": request.session.get("signup_email", ""),
            "resend_form": VerificationResendForm(
                initial={"email": request.session.get("signup_email", "")}
            ),
        },
    )


def verification_resend(request):
    """Ask for a new verification link. Says the same whether or not the address is known."""
    if request.method == "POST":
        form = VerificationResendForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["email"].strip().lower()
            if cache.add(f"accounts:verification-resend:{email}", 1, VERIFICATION_RESEND_INTERVAL):
                user = User.objects.filter(
                    email__iexact=email, is_active=True, email_verified_at__isnull=True
                ).first()
                if user is not None:
                    services.email_verification_send(user)
            messages.info(
                request,
                _(
                    "If an account with an unverified address %(email)s exists, a new link is "
                    "on its way. It can take a few minutes; look in the spam folder too."
                )
                % {"email": email},
            )
            return redirect("accounts:verification_resend")
    else:
        initial = request.user.email if request.user.is_authenticated else ""
        form = VerificationResendForm(
            initial={"email": initial or request.session.get("signup_email", "")}
        )
    return render(request, "accounts/verification_resend.html", {"form": form})


@never_cache
def email_verify(request, uidb64, token):
    """The link in a verification email. Opening it asks for one click (POST): mail scanners
    that open links must not use them up."""
    user = _user_from_uidb64(uidb64)
    state = email_verification_token_generator.state(user, token)
    if state is not LinkState.VALID:
        return render(
            request,
            "accounts/email_verify.html",
            {
                "link_state": state.value,
                "already_verified": user is not None and user.email_verified_at is not None,
            },
        )
    if request.method != "POST":
        return render(request, "accounts/email_verify.html", {"link_state": state.value})
    representation = services.user_email_verify(user, actor=user)
    auth_login(request, user, backend=LINK_LOGIN_BACKEND)
    messages.success(request, _("Thank you: your email address is verified."))
    if representation is not None:
        if representation.status == RepresentationStatus.APPROVED:
            messages.success(
                request,
                _("You now represent %(enterprise)s on the portal.")
                % {"enterprise": representation.enterprise},
            )
        else:
            messages.info(
                request,
                _(
                    "%(enterprise)s already has a representative on the portal: your claim "
                    "waits for their or an administrator's approval. We will email you."
                )
                % {"enterprise": representation.enterprise},
            )
        return redirect("accounts:my_enterprise")
    if EnterpriseSignup.objects.filter(user=user).exists():
        messages.warning(
            request, _("Your enterprise could not be claimed yet: check its details, please.")
        )
        return redirect("accounts:enterprise_claim")
    return redirect("accounts:profile")


# --- the profile ------------------------------------------------------------------------------


@login_required
def profile(request):
    user = request.user
    # A copy to validate against: the form must not change request.user before the service.
    form = ProfileForm(
        request.POST if request.method == "POST" else None,
        instance=User.objects.get(pk=user.pk),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.user_profile_update(user, actor=user, **form.cleaned_data)
        except DomainError as error:
            _form_error(form, error)
        else:
            language = user.preferred_language
            translation.activate(language)
            messages.success(request, gettext("Your profile is saved."))
            response = redirect("accounts:profile")
            # The page speaks the chosen language from now on (the switch's cookie wins).
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
            return response
    representation = (
        EnterpriseRepresentative.objects.filter(
            user=user,
            status__in=[RepresentationStatus.PENDING, RepresentationStatus.APPROVED],
        )
        .select_related("enterprise")
        .first()
    )
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "roles": services.role_descriptions(user),
            "representation": representation,
            "may_invite": user.has_perm("accounts.invite_staff"),
            "two_factor": two_factor.summary_for(user),
        },
    )


# --- staff invitations ------------------------------------------------------------------------


@login_required
@permission_required("accounts.invite_staff", raise_exception=True)
def staff_list(request):
    people = (
        User.objects.filter(
            Q(is_superuser=True)
            | Q(department_membership__isnull=False)
            | Q(reviewer_assignment__isnull=False)
        )
        .select_related("department_membership__department", "reviewer_assignment__region")
        .annotate(has_two_factor=two_factor.enabled_subquery())
        .order_by("email")
    )
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/staff_list.html", {"page": page})


@login_required
@permission_required("accounts.invite_staff", raise_exception=True)
def staff_invite(request):
    form = InvitationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.staff_invite(
                email=data["email"],
                full_name=data["full_name"],
                preferred_language=data["preferred_language"],
                department=data["department"],
                reviewer=bool(data["reviewer"]),
                reviewer_region=data["reviewer_region"],
                platform_admin=data["platform_admin"],
                actor=request.user,
            )
        except DomainError as error:
            _form_error(form, error)
        else:
            messages.success(
                request,
                _("%(email)s is invited: the invitation email is on its way.")
                % {"email": user.email},
            )
            return redirect("accounts:staff_list")
    return render(request, "accounts/staff_invite.html", {"form": form})


@login_required
@permission_required("accounts.invite_staff", raise_exception=True)
@require_POST
def staff_invitation_resend(request, pk):
    person = get_object_or_404(User, pk=pk)
    try:
        services.staff_invitation_resend(person, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("The invitation is sent to %(email)s again.") % {"email": person.email}
        )
    return redirect("accounts:staff_list")


# --- enterprise claims ------------------------------------------------------------------------


@login_required
def my_enterprise(request):
    """The person's enterprise, or where their claim stands."""
    user = request.user
    current = (
        EnterpriseRepresentative.objects.filter(
            user=user,
            status__in=[RepresentationStatus.PENDING, RepresentationStatus.APPROVED],
        )
        .select_related("enterprise__region")
        .first()
    )
    if current is not None and current.status == RepresentationStatus.APPROVED:
        return _enterprise_page(request, current.enterprise)
    last_decided = (
        EnterpriseRepresentative.objects.filter(
            user=user,
            status__in=[RepresentationStatus.REJECTED, RepresentationStatus.REVOKED],
        )
        .select_related("enterprise")
        .order_by("-decided_at", "-pk")
        .first()
    )
    return render(
        request,
        "accounts/my_enterprise.html",
        {
            "pending": current,
            "last_decided": last_decided,
            "signup": EnterpriseSignup.objects.filter(user=user).first(),
        },
    )


@login_required
def enterprise_representatives(request, pk):
    """An enterprise's representatives and waiting claims, for them and for administrators."""
    enterprise = get_object_or_404(Enterprise.objects.select_related("region"), pk=pk)
    if not request.user.has_perm("registrations.manage_representatives", enterprise):
        raise Http404
    return _enterprise_page(request, enterprise)


def _enterprise_page(request, enterprise):
    representations = list(
        EnterpriseRepresentative.objects.filter(
            enterprise=enterprise,
            status__in=[RepresentationStatus.APPROVED, RepresentationStatus.PENDING],
        )
        .select_related("user")
        .order_by("created_at", "pk")
    )
    return render(
        request,
        "accounts/enterprise_representatives.html",
        {
            "enterprise": enterprise,
            "representatives": [
                r for r in representations if r.status == RepresentationStatus.APPROVED
            ],
            "pending": [r for r in representations if r.status == RepresentationStatus.PENDING],
            "rejection_form": RejectionForm(),
            "here": request.get_full_path(),
        },
    )


@login_required
def enterprise_claim(request):
    """Claim an enterprise with an existing, verified account."""
    user = request.user
    if user.email_verified_at is None:
        messages.warning(request, _("Verify your email address first: we sent you a link."))
        return redirect("accounts:verification_resend")
    signup = EnterpriseSignup.objects.filter(user=user).first()
    form = EnterpriseDetailsForm(
        request.POST if request.method == "POST" else None,
        initial=signup.details if signup else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            representation = services.enterprise_claim_submit(
                user, details=form.cleaned_data, actor=user
            )
        except DomainError as error:
            _form_error(form, error)
        else:
            if representation.status == RepresentationStatus.APPROVED:
                messages.success(
                    request,
                    _("You now represent %(enterprise)s on the portal.")
                    % {"enterprise": representation.enterprise},
                )
            else:
                messages.info(
                    request,
                    _(
                        "Your claim to represent %(enterprise)s waits for approval. We will "
                        "email you."
                    )
                    % {"enterprise": representation.enterprise},
                )
            return redirect("accounts:my_enterprise")
    return render(request, "accounts/enterprise_claim.html", {"form": form})


def _representation_for_manager(request, pk) -> EnterpriseRepresentative:
    representation = get_object_or_404(
        EnterpriseRepresentative.objects.select_related("enterprise", "user"), pk=pk
    )
    if not request.user.has_perm("registrations.manage_representatives", representation.enterprise):
        raise Http404
    return representation


def _back_to_enterprise(request, representation):
    return redirect(
        _safe_next(
            request,
            reverse("accounts:enterprise_representatives", args=[representation.enterprise_id]),
        )
    )


@login_required
@require_POST
def claim_approve(request, pk):
    representation = _representation_for_manager(request, pk)
    try:
        services.enterprise_claim_approve(representation, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(person)s now represents %(enterprise)s.")
            % {"person": representation.user, "enterprise": representation.enterprise},
        )
    return _back_to_enterprise(request, representation)


@login_required
@require_POST
def claim_reject(request, pk):
    representation = _representation_for_manager(request, pk)
    form = RejectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for the rejection: the claimant will read it."))
        return _back_to_enterprise(request, representation)
    try:
        services.enterprise_claim_reject(
            representation, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The claim of %(person)s is rejected; they are told why.")
            % {"person": representation.user},
        )
    return _back_to_enterprise(request, representation)


@login_required
@require_POST
def representative_remove(request, pk):
    representation = _representation_for_manager(request, pk)
    try:
        services.enterprise_representative_remove(
            representation, actor=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(person)s no longer represents %(enterprise)s.")
            % {"person": representation.user, "enterprise": representation.enterprise},
        )
    if representation.user_id == request.user.pk:
        return redirect("accounts:my_enterprise")
    return _back_to_enterprise(request, representation)


@login_required
@require_POST
def claim_withdraw(request, pk):
    representation = get_object_or_404(
        EnterpriseRepresentative, pk=pk, user=request.user, status=RepresentationStatus.PENDING
    )
    try:
        services.enterprise_claim_withdraw(representation, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your claim is withdrawn."))
    return redirect("accounts:my_enterprise")


@login_required
def claim_list(request):
    """Every waiting claim, for administrators to decide where representatives do not."""
    if not is_platform_admin(request.user):
        raise PermissionDenied
    claims = (
        EnterpriseRepresentative.objects.filter(status=RepresentationStatus.PENDING)
        .select_related("user", "enterprise__region")
        .order_by("created_at", "pk")
    )
    page = Paginator(claims, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/claim_list.html",
        {"page": page, "rejection_form": RejectionForm(), "here": request.get_full_path()},
    )


# --- personal API tokens ----------------------------------------------------------------------


def _token_page(request, form, *, new_token=None, new_key=None):
    response = render(
        request,
        "accounts/token_list.html",
        {
            "tokens": PersonalToken.objects.filter(user=request.user).order_by("-created_at"),
            "form": form,
            "new_token": new_token,
            "new_key": new_key,
        },
    )
    response["Cache-Control"] = "no-store"  # the new key must not linger in any cache
    return response


@login_required
def token_list(request):
    return _token_page(request, TokenCreateForm())


@login_required
@require_POST
def token_create(request):
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _token_page(request, form)
    token, key = services.token_create(
        user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
    )
    # Shown in this response only: the database keeps a hash.
    return _token_page(request, TokenCreateForm(), new_token=token, new_key=key)


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(PersonalToken, pk=pk, user=request.user)
    if not request.user.has_perm("accounts.revoke_token", token):
        raise Http404
    services.token_revoke(token, actor=request.user)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("accounts:token_list")
