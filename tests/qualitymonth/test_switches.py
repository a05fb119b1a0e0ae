"""The benchmarks' test-only switches: the bare benchmark views are mounted only with BENCH_VIEWS,
and neither they nor SIGNUP_CAPACITY_GUARD=false are accepted in production mode."""

import datetime as dt

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from qualitymonth.switches import refuse_test_switches_in_production
from registrations.enums import RegistrationStatus
from registrations.services import registration_sign_up
from tests import factories

from .test_settings import PRODUCTION_KEY, run


def check_ids(settings) -> list[str]:
    return [error.id for error in refuse_test_switches_in_production(None)]


def test_the_check_refuses_the_capacity_guard_off_in_production(settings):
    settings.PRODUCTION = True
    settings.SIGNUP_CAPACITY_GUARD = False
    assert check_ids(settings) == ["qualitymonth.E102"]


def test_the_check_refuses_bench_views_in_production(settings):
    settings.PRODUCTION = True
    settings.BENCH_VIEWS = True
    assert check_ids(settings) == ["qualitymonth.E101"]


def test_the_check_lets_the_switches_be_used_outside_production(settings):
    settings.PRODUCTION = False
    settings.BENCH_VIEWS = True
    settings.SIGNUP_CAPACITY_GUARD = False
    assert check_ids(settings) == []


def test_production_mode_ignores_the_switches_in_the_environment():
    script = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.BENCH_VIEWS, s.SIGNUP_CAPACITY_GUARD]))"
    )
    result = run(
        "-c",
        script,
        PORTAL_MODE="production",
        SECRET_KEY=PRODUCTION_KEY,
        ALLOWED_HOSTS="zlj.samr.gov.cn",
        BENCH_VIEWS="true",
        SIGNUP_CAPACITY_GUARD="false",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[false, true]"


def test_manage_py_check_fails_on_a_production_settings_module_that_sets_them(tmp_path):
    (tmp_path / "bad_production_settings.py").write_text(
        "from qualitymonth.settings import *  # noqa\nSIGNUP_CAPACITY_GUARD = False\n"
    )
    result = run(
        "manage.py",
        "check",
        "--settings",
        "bad_production_settings",
        PORTAL_MODE="production",
        SECRET_KEY=PRODUCTION_KEY,
        ALLOWED_HOSTS="zlj.samr.gov.cn",
        PYTHONPATH=str(tmp_path),
    )
    assert result.returncode != 0
    assert "qualitymonth.E102" in result.stderr + result.stdout


@pytest.mark.django_db
def test_bench_views_are_not_mounted_by_default(client):
    with pytest.raises(NoReverseMatch):
        reverse("bench:insert")
    assert client.post("/bench/insert/", "x", content_type="text/plain").status_code == 404


def test_bench_views_are_mounted_with_the_setting():
    script = (
        "import django; django.setup(); from django.urls import resolve, reverse; "
        "print(reverse('bench:insert'), resolve('/bench/insert/').func.__name__)"
    )
    result = run("-c", script, BENCH_VIEWS="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/bench/insert/ insert_one"


@pytest.mark.django_db
def test_with_the_guard_on_a_full_activity_puts_the_next_enterprise_on_the_waiting_list(settings):
    """The guard's switch leaves the normal path alone (the negative control is in bench/)."""
    settings.SIGNUP_CAPACITY_GUARD = True
    now = timezone.now()
    activity = factories.ActivityFactory(
        starts_at=now + dt.timedelta(days=10),
        ends_at=now + dt.timedelta(days=10, hours=3),
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=now + dt.timedelta(days=5),
        capacity=1,
    )
    statuses = []
    for mobile in ("13800000001", "13800000002"):
        claim = factories.EnterpriseRepresentativeFactory()
        statuses.append(
            registration_sign_up(
                activity,
                actor=claim.user,
                enterprise=claim.enterprise,
                attendees=[{"name": "张三", "mobile": mobile}],
                contact_name="李经理",
                contact_mobile="13912345678",
            ).status
        )
    assert statuses == [RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING]
