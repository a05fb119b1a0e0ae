"""Two-factor authentication: setting it up, signing in with a code or a backup code, what is
required of whom, the API before the second step, an administrator's reset, the setting."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts import two_factor
from qualitymonth.models import AuditLogEntry
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # the factories' password
LOGIN = reverse("accounts:login")
PROFILE = reverse("accounts:profile")
OTP_LOGIN = reverse("accounts:otp_login")
OTP_SETUP = reverse("accounts:otp_setup")
BACKUP_CODES = reverse("accounts:otp_backup_codes")
DISABLE = reverse("accounts:otp_disable")


@pytest.fixture(autouse=True)
def _pages_in_english(client):
    client.cookies["django_language"] = "en"


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the person's app shows `steps_ahead` time steps later (each code works once;
    the device follows the app's clock, so after a code at +1 the next one is +1 again)."""
    device.refresh_from_db()
    value = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + steps_ahead,
    )
    return f"{value:0{device.digits}d}"


def log_in(client, user):
    return client.post(LOGIN, {"username": user.email, "password": PASSWORD})


def with_authenticator(user) -> TOTPDevice:
    """Two-factor authentication switched on (as the set-up page does), with backup codes."""
    device = two_factor.pending_authenticator(user)
    two_factor.two_factor_enable(user, device, code_for(device), actor=user)
    device.refresh_from_db()
    return device


def backup_codes(user) -> list[str]:
    return list(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))


def actions_on(user) -> list[str]:
    return list(
        AuditLogEntry.objects.filter(object_id=str(user.pk), action__startswith="accounts.two")
        .order_by("pk")
        .values_list("action", flat=True)
    )


@pytest.fixture
def staff():
    return factories.DepartmentMembershipFactory(user__preferred_language="en").user


@pytest.fixture
def admin():
    return factories.AdminFactory()


# --- setting it up ----------------------------------------------------------------------------


def test_staff_set_it_up_with_a_code_from_the_app_and_see_ten_backup_codes_once(client, staff):
    client.force_login(staff)
    assert "Switch two-factor authentication on" in client.get(PROFILE).content.decode()
    page = client.get(OTP_SETUP).content.decode()
    assert "<svg" in page
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    assert two_factor.secret_in_groups(device) in page  # for typing in by hand
    assert len(two_factor.secret_in_groups(device).split()) == 8  # 160 bits, 4 by 4

    response = client.post(OTP_SETUP, {"code": code_for(device)})
    assert response.status_code == 302
    assert response.url.startswith(BACKUP_CODES)
    device.refresh_from_db()
    assert device.confirmed
    codes = backup_codes(staff)
    assert len(codes) == 10
    shown = client.get(response.url).content.decode()
    assert all(code in shown for code in codes)
    assert "they are shown this once only" in shown
    again = client.get(BACKUP_CODES).content.decode()
    assert not any(code in again for code in codes)
    assert "You have 10 unused backup codes left." in again
    assert actions_on(staff) == ["accounts.two_factor.enabled"]
    assert client.get(PROFILE).status_code == 200  # this session counts as verified


def test_a_wrong_set_up_code_says_so_and_switches_nothing_on(client, staff):
    client.force_login(staff)
    client.get(OTP_SETUP)
    response = client.post(OTP_SETUP, {"code": "12345"})
    assert "This code is wrong" in response.content.decode()
    assert not two_factor.is_enabled(staff)
    assert backup_codes(staff) == []


def test_enterprise_representatives_have_no_two_factor_pages(client):
    person = factories.EnterpriseRepresentativeFactory().user
    client.force_login(person)
    assert client.get(OTP_SETUP).status_code == 403
    assert "Two-factor authentication" not in client.get(PROFILE).content.decode()


def test_the_setup_page_is_shown_the_same_key_until_it_is_confirmed(client, staff):
    client.force_login(staff)
    client.get(OTP_SETUP)
    client.get(OTP_SETUP)
    assert TOTPDevice.objects.filter(user=staff).count() == 1


# --- signing in -------------------------------------------------------------------------------


def test_signing_in_asks_for_the_code_after_the_password(client, staff):
    device = with_authenticator(staff)
    response = log_in(client, staff)
    assert response.status_code == 302
    assert get_user(client).pk == staff.pk
    page = client.get(response.url, follow=True)
    assert page.redirect_chain[-1][0] == f"{OTP_LOGIN}?next=%2Faccounts%2Fprofile%2F"
    assert "Enter your code" in page.content.decode()

    response = client.post(OTP_LOGIN, {"code": code_for(device, 1), "next": PROFILE})
    assert response.status_code == 302
    assert response.url == PROFILE
    assert client.get(PROFILE).status_code == 200


def test_every_page_waits_for_the_code_but_logging_out_and_the_language_do_not(client, staff):
    with_authenticator(staff)
    log_in(client, staff)
    tokens = reverse("accounts:token_list")
    response = client.get(tokens)
    assert response.status_code == 302
    assert response.url == f"{OTP_LOGIN}?next=%2Faccounts%2Ftokens%2F"
    assert client.get(reverse("admin:index")).url.startswith(OTP_LOGIN)
    assert client.post(reverse("set_language"), {"language": "zh-hans"}).status_code == 302
    assert not client.get(reverse("set_language")).url.startswith(OTP_LOGIN)
    client.post(reverse("accounts:logout"))
    assert not get_user(client).is_authenticated


def test_a_wrong_code_is_refused_and_the_next_attempt_must_wait(client, staff):
    device = with_authenticator(staff)
    log_in(client, staff)
    response = client.post(OTP_LOGIN, {"code": "000000"})
    assert response.status_code == 200
    assert "This code is wrong or has expired" in response.content.decode()

    # django-otp's throttling: right after a wrong code even the right one is refused.
    response = client.post(OTP_LOGIN, {"code": code_for(device, 1)})
    assert "Too many wrong codes in a row" in response.content.decode()
    assert client.get(PROFILE).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1

    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=2)
    )
    assert client.post(OTP_LOGIN, {"code": code_for(device, 1)}).status_code == 302
    assert client.get(PROFILE).status_code == 200


def test_a_code_works_only_once(client, staff):
    device = with_authenticator(staff)
    code = code_for(device)  # the one the set-up used
    log_in(client, staff)
    response = client.post(OTP_LOGIN, {"code": code})
    assert "This code is wrong or has expired" in response.content.decode()


def test_a_backup_code_signs_in_once(client, staff, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    with_authenticator(staff)
    code = backup_codes(staff)[0]
    log_in(client, staff)
    response = client.post(OTP_LOGIN, {"code": code.upper()[:4] + " " + code[4:]}, follow=True)
    assert response.redirect_chain[-1][0] == PROFILE
    assert "9 are left" in response.content.decode()
    assert code not in backup_codes(staff)
    assert "accounts.two_factor.backup_code_used" in actions_on(staff)

    client.post(reverse("accounts:logout"))
    log_in(client, staff)
    response = client.post(OTP_LOGIN, {"code": code})
    assert "This code is wrong or has expired" in response.content.decode()
    assert client.get(PROFILE).status_code == 302


def test_new_backup_codes_replace_the_old_ones(client, staff):
    with_authenticator(staff)
    old = backup_codes(staff)
    client.force_login(staff)
    # force_login does not verify: this is the verified session of the set-up.
    client.post(OTP_LOGIN, {"code": code_for(TOTPDevice.objects.get(user=staff), 1)})
    response = client.post(BACKUP_CODES, follow=True)
    new = backup_codes(staff)
    assert len(new) == 10 and not set(new) & set(old)
    assert all(code in response.content.decode() for code in new)
    assert actions_on(staff)[-1] == "accounts.two_factor.backup_codes_regenerated"


def test_an_authenticator_is_not_replaced_before_the_code_step(client, staff):
    with_authenticator(staff)
    log_in(client, staff)
    response = client.get(OTP_SETUP)
    assert response.status_code == 302
    assert response.url.startswith(OTP_LOGIN)
    assert TOTPDevice.objects.filter(user=staff).count() == 1


# --- who must use it --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "reviewer"])
def test_administrators_and_reviewers_must_set_it_up_when_required(client, settings, role):
    settings.TWO_FACTOR_REQUIRED = True
    if role == "admin":
        person = factories.AdminFactory()
    else:
        person = factories.ReviewerAssignmentFactory().user
    response = log_in(client, person)
    page = client.get(response.url, follow=True)
    assert page.redirect_chain[-1][0].startswith(OTP_SETUP)
    assert "Administrators and reviewers sign in with a password and a code" in (
        page.content.decode()
    )
    assert client.get(reverse("accounts:token_list")).url.startswith(OTP_SETUP)

    device = TOTPDevice.objects.get(user=person, confirmed=False)
    client.post(OTP_SETUP, {"code": code_for(device)})
    assert client.get(PROFILE).status_code == 200


@pytest.mark.parametrize("role", ["staff", "enterprise", "nobody"])
def test_others_are_not_made_to_use_it(client, settings, role):
    settings.TWO_FACTOR_REQUIRED = True
    person = {
        "staff": lambda: factories.DepartmentMembershipFactory().user,
        "enterprise": lambda: factories.EnterpriseRepresentativeFactory().user,
        "nobody": factories.UserFactory,
    }[role]()
    log_in(client, person)
    assert client.get(PROFILE).status_code == 200


def test_administrators_sign_in_without_a_code_when_not_required(client, admin, settings):
    settings.TWO_FACTOR_REQUIRED = False
    log_in(client, admin)
    assert client.get(PROFILE).status_code == 200


def test_a_role_granted_after_signing_in_counts_on_the_next_request(client, settings):
    settings.TWO_FACTOR_REQUIRED = True
    person = factories.UserFactory()
    log_in(client, person)
    assert client.get(PROFILE).status_code == 200
    account_services.platform_admin_grant(person, actor=factories.AdminFactory())
    assert client.get(PROFILE).url.startswith(OTP_SETUP)


def test_who_must_use_it_cannot_switch_it_off(client, settings):
    settings.TWO_FACTOR_REQUIRED = True
    person = factories.ReviewerAssignmentFactory(user__preferred_language="en").user
    device = with_authenticator(person)
    log_in(client, person)
    client.post(OTP_LOGIN, {"code": code_for(device, 1)})
    page = client.get(DISABLE).content.decode()
    assert "it cannot be switched off" in page
    client.post(DISABLE, {"code": code_for(device, 1)})
    assert two_factor.is_enabled(person)


def test_staff_switch_it_off_with_a_current_code(client, staff):
    device = with_authenticator(staff)
    log_in(client, staff)
    client.post(OTP_LOGIN, {"code": code_for(device, 1)})
    response = client.post(DISABLE, {"code": code_for(device, 1)}, follow=True)
    assert "Two-factor authentication is off." in response.content.decode()
    assert not two_factor.is_enabled(staff)
    assert backup_codes(staff) == []
    assert actions_on(staff)[-1] == "accounts.two_factor.disabled"
    client.post(reverse("accounts:logout"))
    log_in(client, staff)
    assert client.get(PROFILE).status_code == 200  # the password alone again


# --- the API ----------------------------------------------------------------------------------


def test_the_api_refuses_a_session_before_the_code(client, staff):
    device = with_authenticator(staff)
    _token, key = account_services.token_create(user=staff, name="sync")
    log_in(client, staff)
    response = client.get("/api/v1/tokens/")
    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_required"
    assert "Two-factor authentication is needed" in response.json()["detail"]
    assert client.post("/api/v1/tokens/", {"name": "new"}).status_code == 403

    # A personal token (made in a verified session) stands on its own.
    assert client.get("/api/v1/tokens/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    client.post(OTP_LOGIN, {"code": code_for(device, 1)})
    assert client.get("/api/v1/tokens/").status_code == 200


# --- an administrator's reset -----------------------------------------------------------------


def test_an_administrator_resets_a_lost_phone(client, admin, staff):
    with_authenticator(staff)
    client.force_login(admin)
    staff_page = client.get(reverse("accounts:staff_list")).content.decode()
    reset = reverse("accounts:otp_reset", args=[staff.pk])
    assert reset in staff_page
    response = client.post(reset, follow=True)
    assert "is reset" in response.content.decode()
    assert not two_factor.is_enabled(staff)
    assert backup_codes(staff) == []
    entry = AuditLogEntry.objects.get(action="accounts.two_factor.reset")
    assert entry.actor == admin and entry.object_id == str(staff.pk)

    client.post(reverse("accounts:logout"))
    log_in(client, staff)
    assert client.get(PROFILE).status_code == 200


def test_a_reset_ends_the_verified_session_s_second_step(client, staff, settings):
    settings.TWO_FACTOR_REQUIRED = True
    person = factories.AdminFactory()
    device = with_authenticator(person)
    log_in(client, person)
    client.post(OTP_LOGIN, {"code": code_for(device, 1)})
    assert client.get(PROFILE).status_code == 200
    two_factor.two_factor_reset(person, actor=factories.AdminFactory())
    assert client.get(PROFILE).url.startswith(OTP_SETUP)


def test_only_administrators_reset(client, staff):
    with_authenticator(staff)
    other = factories.DepartmentMembershipFactory().user
    client.force_login(other)
    assert client.post(reverse("accounts:otp_reset", args=[staff.pk])).status_code == 403
    assert two_factor.is_enabled(staff)


# --- the setting ------------------------------------------------------------------------------


BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_KEY = "k7Qp2vXz9LmN4rT8wYb3cFhJ6sDg1aEu5iOo0PqRtUyWxZ-_vBnMqLkJhGfDsAzXc"


def two_factor_required(**environment: str) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PORTAL_MODE", "TWO_FACTOR_REQUIRED", "SECRET_KEY", "DATABASE_URL"}
    }
    env.update(environment, DJANGO_SETTINGS_MODULE="qualitymonth.settings")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.TWO_FACTOR_REQUIRED)",
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.skipif((BASE_DIR / ".env").exists(), reason="a .env file sets these variables")
def test_required_by_default_in_production_only():
    assert two_factor_required() == "False"
    assert two_factor_required(PORTAL_MODE="production", SECRET_KEY=PRODUCTION_KEY) == "True"
    assert (
        two_factor_required(
            PORTAL_MODE="production", SECRET_KEY=PRODUCTION_KEY, TWO_FACTOR_REQUIRED="false"
        )
        == "False"
    )
    assert two_factor_required(TWO_FACTOR_REQUIRED="true") == "True"
