"""Pages of two-factor authentication: the code after the password, setting up an authenticator,
backup codes, switching it off, and an administrator's reset. The rules live in `two_factor`."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from qualitymonth.errors import DomainError

from . import two_factor
from .models import User
from .rules import must_use_two_factor
from .two_factor import Step

# Backup codes just made wait here for the one page that shows them.
NEW_CODES_SESSION_KEY = "two_factor_new_codes"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_(
            "The 6-digit code your authenticator app shows now, or one of your backup codes."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class SetupCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=10,
        help_text=_("The 6 digits the app shows for the portal, to prove it is set up."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _with_next(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _qr_svg(text: str) -> str:
    from registrations.views import qr_code_svg

    return qr_code_svg(text)


def _verified(request, device) -> None:
    otp_login_device(request, device)
    request.session[two_factor.SESSION_KEY] = Step.VERIFY.value


@never_cache
@login_required
@sensitive_post_parameters("code")
def otp_login(request):
    """The second step of signing in: a code from the authenticator, or a backup code."""
    user = request.user
    next_url = _next_url(request, reverse("accounts:profile"))
    if user.is_verified():
        return redirect(next_url)
    step = two_factor.remember_step(request, user)
    if step is Step.SETUP:
        return redirect(_with_next("accounts:otp_setup", next_url))
    if step is Step.NONE:
        return redirect(next_url)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.two_factor_verify(user, form.cleaned_data["code"])
        except DomainError as error:
            form.add_error("code", error.message)
        else:
            _verified(request, device)
            if not isinstance(device, TOTPDevice):
                left = two_factor.backup_codes_left(user)
                messages.warning(
                    request,
                    _(
                        "You signed in with a backup code; %(count)s are left. Make new ones on "
                        "your account page once you have your phone again."
                    )
                    % {"count": left},
                )
            return redirect(next_url)
    return render(request, "accounts/otp_login.html", {"form": form, "next": next_url})


@never_cache
@login_required
@sensitive_post_parameters("code")
def otp_setup(request):
    """Set up (or replace) an authenticator app: QR code, the key to type, a code to prove it."""
    user = request.user
    if not user.has_perm("accounts.use_two_factor"):
        raise PermissionDenied
    enabled = two_factor.is_enabled(user)
    if enabled and not user.is_verified():
        # Replacing an authenticator takes the current one (or a backup code) first.
        return redirect("accounts:otp_login")
    next_url = _next_url(request, reverse("accounts:profile"))
    device = two_factor.pending_authenticator(user)
    form = SetupCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.two_factor_enable(
                user, device, form.cleaned_data["code"], actor=user
            )
        except DomainError as error:
            form.add_error("code", error.message)
        else:
            device.refresh_from_db()
            _verified(request, device)
            if codes:
                messages.success(request, _("Two-factor authentication is on."))
                request.session[NEW_CODES_SESSION_KEY] = codes
                return redirect(_with_next("accounts:otp_backup_codes", next_url))
            messages.success(request, _("Your new authenticator app is set up."))
            return redirect(next_url)
    return render(
        request,
        "accounts/otp_setup.html",
        {
            "form": form,
            "next": next_url,
            "replacing": enabled,
            "required": must_use_two_factor(user),
            "qr_svg": _qr_svg(device.config_url),
            "secret": two_factor.secret_in_groups(device),
        },
    )


@never_cache
@login_required
def otp_backup_codes(request):
    """New backup codes, shown once after they are made; otherwise how many are left."""
    user = request.user
    if not two_factor.is_enabled(user):
        return redirect("accounts:profile")
    if request.method == "POST":
        try:
            codes = two_factor.backup_codes_regenerate(user, actor=user)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("accounts:profile")
        request.session[NEW_CODES_SESSION_KEY] = codes
        return redirect("accounts:otp_backup_codes")
    codes = request.session.pop(NEW_CODES_SESSION_KEY, None)
    return render(
        request,
        "accounts/otp_backup_codes.html",
        {
            "codes": codes,
            "left": two_factor.backup_codes_left(user),
            "next": _next_url(request, reverse("accounts:profile")),
        },
    )


@never_cache
@login_required
@sensitive_post_parameters("code")
def otp_disable(request):
    """Switch two-factor authentication off, with a current code (not where it is required)."""
    user = request.user
    if not two_factor.is_enabled(user):
        return redirect("accounts:profile")
    required = must_use_two_factor(user)
    form = CodeForm(request.POST if request.method == "POST" and not required else None)
    if form.is_bound and form.is_valid():
        try:
            two_factor.two_factor_verify(user, form.cleaned_data["code"])
            two_factor.two_factor_disable(user, actor=user)
        except DomainError as error:
            form.add_error("code" if error.field == "code" else None, error.message)
        else:
            request.session[two_factor.SESSION_KEY] = Step.NONE.value
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("accounts:profile")
    return render(request, "accounts/otp_disable.html", {"form": form, "required": required})


@login_required
@permission_required("accounts.reset_two_factor", raise_exception=True)
@require_POST
def otp_reset(request, pk):
    """An administrator removes a person's authenticator and backup codes (a lost phone)."""
    person = get_object_or_404(User, pk=pk)
    try:
        two_factor.two_factor_reset(person, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _(
                "Two-factor authentication of %(email)s is reset: they sign in with their "
                "password and set up a new authenticator."
            )
            % {"email": person.email},
        )
    return redirect("accounts:staff_list")


urlpatterns = [
    path("login/code/", otp_login, name="otp_login"),
    path("two-factor/setup/", otp_setup, name="otp_setup"),
    path("two-factor/backup-codes/", otp_backup_codes, name="otp_backup_codes"),
    path("two-factor/disable/", otp_disable, name="otp_disable"),
    path("staff/<int:pk>/two-factor/reset/", otp_reset, name="otp_reset"),
]
