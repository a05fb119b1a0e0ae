"""`manage.py seed_demo`: realistic, valid demo data and one login per role."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q

from accounts.enums import RepresentationStatus
from accounts.models import EnterpriseRepresentative, User
from accounts.rules import roles_of
from activities.enums import ActivityStatus, RegionLevel
from activities.models import Activity, Region
from qualitymonth.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS
from qualitymonth.models import AuditLogEntry
from registrations.enums import REGISTRATION_ACTIVE_STATES, RegistrationStatus
from registrations.models import Enterprise, Registration
from registrations.validators import validate_cn_mobile, validate_uscc

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo():
    return seed("--activities", "60", "--enterprises", "40", "--registrations", "200")


def test_enterprises_have_valid_credit_codes_mobiles_and_real_regions(demo):
    enterprises = list(Enterprise.objects.select_related("region"))
    assert len(enterprises) == 40
    for enterprise in enterprises:
        validate_uscc(enterprise.uscc)
        validate_cn_mobile(enterprise.mobile)
        enterprise.full_clean()
        # Characters 3 to 8 of the credit code are the enterprise's own region.
        assert enterprise.uscc[2:8] == enterprise.region.code
        assert enterprise.region.level == RegionLevel.COUNTY
    assert len({e.name for e in enterprises}) == 40


def test_activities_are_plausible_and_satisfy_the_model(demo):
    activities = list(Activity.objects.select_related("region", "organiser", "key_arrangement"))
    assert len(activities) == 60
    start, end = (dt.datetime(2024, 9, d, tzinfo=SHANGHAI) for d in (1, 30))
    for activity in activities:
        activity.full_clean()
        assert start <= activity.starts_at and activity.ends_at <= end + dt.timedelta(days=1)
        assert activity.key_arrangement.campaign.year == 2024
        assert Region.objects.filter(pk=activity.region_id).exists()
        if activity.organiser.region is not None:  # a bureau works in its own region
            assert activity.organiser.region.covers(activity.region)
        assert activity.content_areas.exists()
    statuses = {a.status for a in activities}
    assert ActivityStatus.APPROVED in statuses
    assert {ActivityStatus.DRAFT, ActivityStatus.SUBMITTED, ActivityStatus.RETURNED} <= statuses
    approved = sum(a.status == ActivityStatus.APPROVED for a in activities)
    assert approved > len(activities) / 2
    titles = {a.title for a in activities}
    assert "第五届中国质量奖颁奖大会" in titles
    assert "2024年杭州市“质量月”启动仪式" in titles


def test_registrations_respect_capacity_and_one_active_per_enterprise(demo):
    assert Registration.objects.count() == 200
    duplicates = (
        Registration.objects.filter(status__in=REGISTRATION_ACTIVE_STATES)
        .values("activity", "enterprise")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not duplicates.exists()
    confirmed = Count("registrations", filter=Q(registrations__status=RegistrationStatus.CONFIRMED))
    over = (
        Activity.objects.filter(capacity__isnull=False)
        .annotate(confirmed=confirmed)
        .filter(confirmed__gt=F("capacity"))
    )
    assert not over.exists()
    # A waiting list only where every place is taken.
    for activity in Activity.objects.filter(
        registrations__status=RegistrationStatus.WAITING
    ).distinct():
        assert activity.registrations.filter(status=RegistrationStatus.CONFIRMED).count() == (
            activity.capacity
        )
    assert Registration.objects.filter(status=RegistrationStatus.WAITING).exists()
    # Only activities open for sign-up that were published (or then cancelled) have registrations.
    assert not Registration.objects.filter(
        Q(activity__signup_enabled=False)
        | ~Q(activity__status__in=[ActivityStatus.APPROVED, ActivityStatus.CANCELLED])
    ).exists()
    assert not Registration.objects.filter(
        activity__status=ActivityStatus.CANCELLED, status__in=REGISTRATION_ACTIVE_STATES
    ).exists()


def test_one_demo_login_per_role(demo):
    users = {u.key: User.objects.get(email=u.email) for u in DEMO_USERS}
    assert all(u.check_password(DEMO_PASSWORD) and u.email_verified_at for u in users.values())
    assert roles_of(users["admin"]).is_admin
    assert users["admin"].is_staff
    assert roles_of(users["reviewer"]).is_national_reviewer
    zhejiang = roles_of(users["reviewer_zj"])
    assert zhejiang.is_reviewer and zhejiang.reviewer_region.code == "330000"
    samr = users["staff_samr"].department_membership.department
    assert samr.is_lead
    bureau = users["staff_zj"].department_membership.department
    assert (bureau.name_zh, bureau.region.code) == ("浙江省市场监督管理局", "330000")
    representation = EnterpriseRepresentative.objects.get(user=users["enterprise"])
    assert representation.status == RepresentationStatus.APPROVED
    assert roles_of(users["enterprise"]).enterprise_id == representation.enterprise_id
    # The demo logins have something to work on.
    assert Activity.objects.filter(organiser=samr).exists()
    assert Activity.objects.filter(organiser=bureau, status=ActivityStatus.RETURNED).exists()
    assert Registration.objects.filter(enterprise=representation.enterprise).exists()
    # Roles were granted through the services, which audit them; the run itself is audited once.
    assert AuditLogEntry.objects.filter(action="accounts.role.reviewer.granted").count() == 2
    assert AuditLogEntry.objects.filter(action="qualitymonth.demo.seeded").count() == 1


def test_logins_are_printed_as_a_table(demo):
    for user in DEMO_USERS:
        assert user.email in demo
        assert user.role in demo
    assert DEMO_PASSWORD in demo


def test_a_second_run_adds_nothing_and_prints_the_logins(demo, django_assert_max_num_queries):
    counts = (Activity.objects.count(), Enterprise.objects.count(), Registration.objects.count())
    with django_assert_max_num_queries(40):
        output = seed("--activities", "500")
    assert "nothing added" in output
    assert "admin@demo.qualitymonth.cn" in output
    assert (Activity.objects.count(), Enterprise.objects.count(), Registration.objects.count()) == (
        counts
    )


def test_the_default_size_suits_the_run_command():
    output = seed()
    assert "Demo data ready" in output
    assert Activity.objects.count() == 80
    assert Enterprise.objects.count() == 60
    assert Registration.objects.count() == 250


def test_refuses_to_run_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        seed()
    assert not User.objects.exists()
    assert not Activity.objects.exists()


def test_registrations_are_complete_as_the_sign_up_service_leaves_them(demo):
    from registrations.models import Attendee

    registrations = list(Registration.objects.annotate(attendees_n=Count("attendees")))
    assert len({r.check_in_code for r in registrations}) == len(registrations)
    for r in registrations:
        assert len(r.check_in_code) == 8
        assert 1 <= r.attendees_n == r.attendee_count <= r.activity.attendees_per_enterprise
        validate_cn_mobile(r.contact_mobile)
        assert r.contact_name
        assert (r.confirmed_at is not None) == (r.status == RegistrationStatus.CONFIRMED) or (
            r.status in (RegistrationStatus.WITHDRAWN, RegistrationStatus.CANCELLED)
        )
        assert (r.withdrawn_at is not None) == (r.status == RegistrationStatus.WITHDRAWN)
        if r.checked_in_at is not None:
            assert r.status == RegistrationStatus.CONFIRMED
    for attendee in Attendee.objects.all():
        validate_cn_mobile(attendee.mobile)
    # The September 2024 activities are over: most confirmed enterprises were checked in.
    assert Registration.objects.filter(checked_in_at__isnull=False).exists()
    confirmed = Count("registrations", filter=Q(registrations__status=RegistrationStatus.CONFIRMED))
    mismatched = Activity.objects.annotate(n=confirmed).exclude(confirmed_count=F("n"))
    assert not mismatched.exists()
    assert Activity.objects.filter(confirmed_count__gt=0).exists()


def test_feedback_reports_in_every_state_and_published_cases(demo):
    from feedback.enums import ReportStatus
    from feedback.models import FeedbackMedia, FeedbackReport
    from feedback.selectors import cases_published

    states = set(FeedbackReport.objects.values_list("status", flat=True))
    assert states == set(ReportStatus.values)
    published = list(cases_published())
    assert published and all(c.publication_consent for c in published)
    assert all(c.report.status == ReportStatus.ACCEPTED for c in published)
    assert FeedbackMedia.objects.filter(kind="picture").count() >= 2 * len(published)
    staff = User.objects.get(email=f"staff.zj@{DEMO_USERS[0].email.split('@')[1]}")
    own = FeedbackReport.objects.get(department=staff.department_membership.department)
    # The demo campaign's deadline is past: the demo bureau has a later one, so it can submit.
    assert own.status == ReportStatus.DRAFT and own.deadline > dt.date.today()
    reviewer_zj = User.objects.get(email=f"reviewer.zj@{DEMO_USERS[0].email.split('@')[1]}")
    from feedback.selectors import report_review_queue

    assert report_review_queue(reviewer_zj).exists()
