"""Two-factor authentication: TOTP (RFC 6238) with django-otp, and single-use backup codes.

Each person has at most one confirmed authenticator (`TOTPDevice`) and one set of backup codes
(`StaticDevice`, ten codes). Signing in takes two steps: the password (accounts' login view,
counted by django-axes), then, for a person with an authenticator, a code (`otp_login`). A
person who must use two-factor authentication (`accounts.rules.must_use_two_factor`) but has no
authenticator is sent to set one up. Until the second step is done `TwoFactorMiddleware` lets
only the two-factor pages, logging out and the language switch through.

Wrong codes are throttled by django-otp on the device: after the n-th wrong code in a row the
next attempt is refused for 2^(n-1) seconds (OTP_*_THROTTLE_FACTOR), even with the right code.

What the next step is (`Step`) is worked out when someone signs in and kept in the session, so
an ordinary request costs no extra query; see `TwoFactorMiddleware` for when it is looked up again.
"""

import logging
import math
import re
from base64 import b32encode
from enum import StrEnum

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from qualitymonth.audit import audit_log
from qualitymonth.errors import DomainError

from .rules import must_use_two_factor

logger = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10
AUTHENTICATOR_NAME = "authenticator"
BACKUP_CODES_NAME = "backup codes"
# The session remembers the step this sign-in still needs (a `Step` value).
SESSION_KEY = "two_factor_step"
TOTP_CODE = re.compile(r"\d{6}")


class Step(StrEnum):
    NONE = "none"  # nothing more to do
    VERIFY = "verify"  # has an authenticator: enter a code
    SETUP = "setup"  # must use two-factor authentication and has no authenticator yet


# --- reading ----------------------------------------------------------------------------------


def authenticator_of(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def is_enabled(user) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def enabled_subquery() -> Exists:
    """For annotating a queryset of people: has a confirmed authenticator."""
    return Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def summary_for(user) -> dict:
    """What the account page shows about a person's two-factor authentication."""
    enabled = is_enabled(user)
    return {
        # Someone who lost the role keeps the pages to manage what they set up.
        "may_use": enabled or user.has_perm("accounts.use_two_factor"),
        "enabled": enabled,
        "required": must_use_two_factor(user),
        "codes_left": backup_codes_left(user) if enabled else 0,
    }


def step_for(user) -> Step:
    if not user.is_authenticated:
        return Step.NONE
    if is_enabled(user):
        return Step.VERIFY
    if must_use_two_factor(user):
        return Step.SETUP
    return Step.NONE


def remember_step(request, user) -> Step:
    step = step_for(user)
    request.session[SESSION_KEY] = step.value
    return step


@receiver(user_logged_in, dispatch_uid="accounts.two_factor.step_on_login")
def _remember_step_on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        remember_step(request, user)


def secret_in_groups(device: TOTPDevice) -> str:
    """The key as people type it into an authenticator app: base32 in groups of four."""
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def pending_authenticator(user) -> TOTPDevice:
    """The authenticator being set up: the same key until it is confirmed (reloading the page
    must not change the QR code someone is scanning)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _throttled_error(data: dict) -> DomainError:
    seconds = max(1, math.ceil((data["locked_until"] - timezone.now()).total_seconds()))
    return DomainError(
        _("Too many wrong codes in a row. Wait %(seconds)s seconds, then try again.")
        % {"seconds": seconds},
        code="two_factor_throttled",
        field="code",
    )


def _wrong_code_error() -> DomainError:
    return DomainError(
        _(
            "This code is wrong or has expired. Enter the 6-digit code your authenticator app "
            "shows now, or one of your backup codes."
        ),
        code="two_factor_wrong_code",
        field="code",
    )


# --- services ---------------------------------------------------------------------------------


def two_factor_verify(user, code: str):
    """Check a code from the person's authenticator (6 digits) or one of their backup codes.

    Returns the device that accepted it. A backup code is used up (audited with the number left).
    A wrong code counts towards the device's throttling and is logged; raises DomainError.
    """
    code = _normalised(code)
    model = TOTPDevice if TOTP_CODE.fullmatch(code) else StaticDevice
    refused = None
    with transaction.atomic():
        # Locked, so two requests cannot both use one code.
        devices = model.objects.devices_for_user(user, confirmed=True).select_for_update()
        accepted = None
        for device in devices:
            allowed, data = device.verify_is_allowed()
            if not allowed:
                refused = data
                continue
            if device.verify_token(code):
                accepted = device
                break
        if accepted is not None and model is StaticDevice:
            audit_log(
                user,
                "accounts.two_factor.backup_code_used",
                actor=user,
                changes={"codes_left": accepted.token_set.count()},
            )
    if accepted is not None:
        return accepted
    # Outside the transaction: the failure counter the device saved must stay.
    logger.warning("Wrong two-factor code for user %s", user.pk)
    if refused is not None:
        raise _throttled_error(refused)
    raise _wrong_code_error()


def _new_backup_codes(user) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": BACKUP_CODES_NAME, "confirmed": True}
    )
    StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _n in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def two_factor_enable(user, device: TOTPDevice, code: str, *, actor) -> list[str]:
    """Confirm the authenticator being set up with a code it shows.

    Steps: check the code (throttled like any code); confirm this authenticator and delete any
    other (a new phone replaces the old one); the first time, create ten backup codes; audit
    (enabled, or authenticator replaced). Returns the new backup codes ([] when replacing).
    """
    code = _normalised(code)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
        allowed, data = device.verify_is_allowed()
        verified = allowed and TOTP_CODE.fullmatch(code) and device.verify_token(code)
        if verified:
            replacing = is_enabled(user)
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = [] if replacing and backup_codes_left(user) else _new_backup_codes(user)
            audit_log(
                user,
                "accounts.two_factor.authenticator_replaced"
                if replacing
                else "accounts.two_factor.enabled",
                actor=actor,
            )
            return codes
    logger.warning("Wrong two-factor set-up code for user %s", user.pk)
    if not allowed:
        raise _throttled_error(data)
    raise DomainError(
        _("This code is wrong. Enter the 6-digit code your authenticator app shows now."),
        code="two_factor_wrong_code",
        field="code",
    )


@transaction.atomic
def backup_codes_regenerate(user, *, actor) -> list[str]:
    """New backup codes; the old ones stop working. Audited."""
    if not is_enabled(user):
        raise DomainError(
            _("Switch two-factor authentication on first."), code="two_factor_not_enabled"
        )
    codes = _new_backup_codes(user)
    audit_log(user, "accounts.two_factor.backup_codes_regenerated", actor=actor)
    return codes


def _delete_devices(user) -> bool:
    deleted = TOTPDevice.objects.filter(user=user).delete()[0]
    deleted += StaticDevice.objects.filter(user=user).delete()[0]
    return bool(deleted)


@transaction.atomic
def two_factor_disable(user, *, actor) -> None:
    """Switch two-factor authentication off for oneself (not where it is required). Audited."""
    if must_use_two_factor(user):
        raise DomainError(
            _(
                "Administrators and reviewers must use two-factor authentication: it cannot be "
                "switched off. To use another phone, set up the new authenticator instead."
            ),
            code="two_factor_required",
        )
    if not is_enabled(user):
        raise DomainError(
            _("Two-factor authentication is already off."), code="two_factor_not_enabled"
        )
    _delete_devices(user)
    audit_log(user, "accounts.two_factor.disabled", actor=actor)


@transaction.atomic
def two_factor_reset(person, *, actor) -> None:
    """An administrator removes a person's authenticator and backup codes (a lost phone). The
    person signs in with the password alone and, where required, sets up a new authenticator at
    once. Audited on the person."""
    if not _delete_devices(person):
        raise DomainError(
            _("%(person)s has no two-factor authentication to reset.") % {"person": person},
            code="two_factor_not_enabled",
        )
    audit_log(person, "accounts.two_factor.reset", actor=actor)
