"""The deadline and reminder logic: which days the periodic task reminds, once per day mark, whom
it leaves alone (submitted, accepted, extended, inactive, campaigns in preparation), emails in
each recipient's language with the overdue wording after the deadline, and the beat schedule."""

import datetime as dt
import importlib

import pytest
from django.conf import settings
from django.core import mail

from activities.enums import CampaignStatus
from feedback import services
from feedback.enums import ReminderKind, ReportStatus
from feedback.models import FeedbackReminder
from feedback.tasks import send_deadline_reminders
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def reminder_days(settings):
    settings.FEEDBACK_REMINDER_DAYS = [7, 3, 1]


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def campaign():
    return factories.CampaignFactory()  # feedback deadline: 31 October of a year ahead


def days_before(campaign, days: int) -> dt.date:
    return campaign.feedback_deadline - dt.timedelta(days=days)


def department_with_staff(**staff):
    department = factories.DepartmentFactory()
    factories.DepartmentMembershipFactory(department=department, **staff)
    return department


def reminded(campaign) -> set[int]:
    return set(
        FeedbackReminder.objects.filter(campaign=campaign).values_list("department", flat=True)
    )


# --- which days -----------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [7, 3, 1])
def test_the_configured_days_before_the_deadline_send(campaign, days, committed):
    department = department_with_staff()
    with committed():
        sent = services.reminders_send_due(today=days_before(campaign, days))
    assert sent == 1
    reminder = FeedbackReminder.objects.get(department=department)
    assert (reminder.kind, reminder.days_before, reminder.sent_by) == (
        ReminderKind.AUTOMATIC,
        days,
        None,
    )
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("days", [8, 6, 2, 0, -1, -30])
def test_other_days_send_nothing(campaign, days):
    department_with_staff()
    assert services.reminders_send_due(today=days_before(campaign, days)) == 0
    assert not FeedbackReminder.objects.exists()


def test_the_days_are_a_setting(campaign, settings):
    settings.FEEDBACK_REMINDER_DAYS = [10]
    department_with_staff()
    assert services.reminders_send_due(today=days_before(campaign, 7)) == 0
    assert services.reminders_send_due(today=days_before(campaign, 10)) == 1


def test_each_day_mark_sends_once_however_often_the_task_runs(campaign, committed):
    department = department_with_staff()
    with committed():
        for _run in range(3):  # the beat runs every few hours
            services.reminders_send_due(today=days_before(campaign, 7))
        services.reminders_send_due(today=days_before(campaign, 3))
        services.reminders_send_due(today=days_before(campaign, 3))
    marks = FeedbackReminder.objects.filter(department=department).values_list(
        "days_before", flat=True
    )
    assert sorted(marks) == [3, 7]
    assert len(mail.outbox) == 2


def test_a_reminder_by_hand_does_not_use_up_the_automatic_one(campaign):
    department = department_with_staff()
    services.reminder_send(campaign=campaign, department=department, actor=factories.AdminFactory())
    assert services.reminders_send_due(today=days_before(campaign, 3)) == 1
    assert FeedbackReminder.objects.filter(department=department).count() == 2


# --- whom ---------------------------------------------------------------------------------------


def test_submitted_and_accepted_reports_are_not_reminded_drafts_and_returned_are(campaign):
    states = {}
    for status in (
        ReportStatus.DRAFT,
        ReportStatus.RETURNED,
        ReportStatus.SUBMITTED,
        ReportStatus.ACCEPTED,
    ):
        report = factories.FeedbackReportFactory(
            campaign=campaign, department=department_with_staff(), status=status
        )
        states[report.department_id] = status
    not_started = department_with_staff()
    services.reminders_send_due(today=days_before(campaign, 1))
    assert reminded(campaign) == {
        not_started.pk,
        *(pk for pk, status in states.items() if status in ("draft", "returned")),
    }


def test_a_department_with_a_later_deadline_is_not_reminded(campaign):
    extended = department_with_staff()
    services.report_extend_deadline(
        department=extended,
        campaign=campaign,
        until=campaign.feedback_deadline + dt.timedelta(days=30),
        actor=factories.AdminFactory(),
        reason="洪涝灾害",
    )
    other = department_with_staff()
    services.reminders_send_due(today=days_before(campaign, 3))
    assert reminded(campaign) == {other.pk}


def test_inactive_departments_and_inactive_people_get_nothing(campaign, committed):
    closed = department_with_staff()
    closed.is_active = False
    closed.save()
    department = department_with_staff()
    factories.DepartmentMembershipFactory(department=department, user__is_active=False)
    with committed():
        services.reminders_send_due(today=days_before(campaign, 7))
    assert reminded(campaign) == {department.pk}
    assert FeedbackReminder.objects.get().recipients == 1
    assert len(mail.outbox) == 1


def test_campaigns_in_preparation_send_nothing(campaign):
    campaign.status = CampaignStatus.PREPARING
    campaign.save()
    department_with_staff()
    assert services.reminders_send_due(today=days_before(campaign, 7)) == 0


def test_every_open_campaign_is_reminded_on_its_own_days(campaign):
    department = department_with_staff()
    other = factories.CampaignFactory()
    assert other.feedback_deadline != campaign.feedback_deadline
    services.reminders_send_due(today=days_before(campaign, 7))
    assert (reminded(campaign), reminded(other)) == ({department.pk}, set())
    services.reminders_send_due(today=days_before(other, 3))
    assert reminded(other) == {department.pk}


# --- the emails -----------------------------------------------------------------------------------


def test_each_recipient_reads_the_reminder_in_their_language(campaign, committed):
    department = factories.DepartmentFactory()
    english = factories.DepartmentMembershipFactory(
        department=department, user__preferred_language="en"
    ).user
    chinese = factories.DepartmentMembershipFactory(
        department=department, user__preferred_language="zh-hans"
    ).user
    with committed():
        services.reminders_send_due(today=days_before(campaign, 3))
    sent = {m.to[0]: m for m in mail.outbox}
    year = campaign.year
    assert sent[english.email].extra_headers["Content-Language"] == "en"
    assert sent[english.email].subject == (
        f"Reminder: feedback report on Quality Month {year} due Oct. 31, {year}"
    )
    assert "is due on Oct. 31" in sent[english.email].body
    assert sent[chinese.email].extra_headers["Content-Language"] == "zh-hans"
    assert f"{year}年10月31日" in sent[chinese.email].subject
    assert "due on Oct." not in sent[chinese.email].body


def test_after_the_deadline_the_reminder_says_it_is_overdue(committed):
    campaign = factories.CampaignFactory(year=2024)  # deadline 31 October 2024, long past
    department = department_with_staff(user__preferred_language="en")
    factories.FeedbackReportFactory(campaign=campaign, department=department)
    with committed():
        services.reminder_send(
            campaign=campaign, department=department, actor=factories.AdminFactory()
        )
    (message,) = mail.outbox
    assert message.subject == "Overdue: your feedback report on Quality Month 2024"
    assert "was due on Oct. 31, 2024 and has not been submitted yet" in message.body
    assert "Draft" in message.body  # where the report stands


def test_before_the_deadline_the_reminder_gives_the_date_and_the_link(campaign, committed):
    department = department_with_staff(user__preferred_language="en")
    with committed():
        services.reminder_send(
            campaign=campaign, department=department, actor=factories.AdminFactory()
        )
    (message,) = mail.outbox
    assert message.subject.startswith("Reminder: feedback report")
    assert "has not started its report yet" in message.body
    assert f"/workspace/feedback/{campaign.year}/" in message.body


def test_an_extended_deadline_is_the_one_the_reminder_names(committed):
    campaign = factories.CampaignFactory(year=2024)
    department = department_with_staff(user__preferred_language="en")
    services.report_extend_deadline(
        department=department,
        campaign=campaign,
        until=dt.date(2099, 3, 1),
        actor=factories.AdminFactory(),
        reason="x",
    )
    with committed():
        services.reminder_send(
            campaign=campaign, department=department, actor=factories.AdminFactory()
        )
    (message,) = mail.outbox
    assert message.subject.endswith("due March 1, 2099")


# --- the periodic task ----------------------------------------------------------------------------


def test_the_task_sends_what_is_due_today():
    from django.utils import timezone

    today = timezone.localdate()
    # Last year's month, with a deadline three days from now.
    campaign = factories.CampaignFactory(
        year=today.year - 1, feedback_deadline=today + dt.timedelta(days=3)
    )
    department = department_with_staff()
    assert send_deadline_reminders.apply().get() == 1
    assert reminded(campaign) == {department.pk}


def test_the_beat_schedule_names_existing_tasks():
    from qualitymonth.celery import app

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        module_path, _dot, function = entry["task"].rpartition(".")
        module = importlib.import_module(module_path)
        assert callable(getattr(module, function, None)), f"{name}: {entry['task']} is missing"
        assert entry["task"] in app.tasks, f"{name}: celery does not know {entry['task']}"
    assert settings.CELERY_BEAT_SCHEDULE["feedback-deadline-reminders"]["task"] == (
        "feedback.tasks.send_deadline_reminders"
    )
