"""Who has reported: the overview of departments and their reports (scope, states, totals,
filters, one query), reminders by hand (selected, all not yet submitted, one), the CSV download,
and a later deadline for one department, for every role."""

import csv
import datetime as dt
import io

import pytest
from django.core import mail
from django.urls import reverse

from activities.enums import DepartmentLevel
from feedback import services
from feedback.enums import ReportStatus
from feedback.models import FeedbackReminder, FeedbackReport
from qualitymonth.models import AuditLogEntry
from tests import factories

pytestmark = pytest.mark.django_db

OVERVIEW = reverse("feedback:overview")


class World:
    """A campaign whose deadline has passed; Zhejiang (with Hangzhou) and Jiangsu; a department in
    each state of its report; reviewers of each kind."""

    def __init__(self, campaign=None):
        self.campaign = campaign or factories.CampaignFactory()
        self.zhejiang = factories.ProvinceFactory(code="330000", name_zh="浙江省")
        self.hangzhou = factories.CityFactory(parent=self.zhejiang, code="330100", name_zh="杭州市")
        self.jiangsu = factories.ProvinceFactory(code="320000", name_zh="江苏省")
        self.zj_bureau = factories.DepartmentFactory(region=self.zhejiang, name_zh="浙江局")
        self.hz_bureau = factories.DepartmentFactory(
            region=self.hangzhou, level=DepartmentLevel.CITY, name_zh="杭州局"
        )
        self.js_bureau = factories.DepartmentFactory(region=self.jiangsu, name_zh="江苏局")
        self.js_industry = factories.DepartmentFactory(region=self.jiangsu, name_zh="江苏工信厅")
        self.national_department = factories.NationalDepartmentFactory(name_zh="国家知识产权局")
        self.zj_staff = factories.DepartmentMembershipFactory(department=self.zj_bureau).user
        self.hz_staff = factories.DepartmentMembershipFactory(department=self.hz_bureau).user
        self.js_staff = factories.DepartmentMembershipFactory(department=self.js_bureau).user
        self.national = factories.ReviewerAssignmentFactory().user
        self.zj_reviewer = factories.ReviewerAssignmentFactory(region=self.zhejiang).user
        self.js_reviewer = factories.ReviewerAssignmentFactory(region=self.jiangsu).user
        self.admin = factories.AdminFactory()
        # Zhejiang bureau: draft; Hangzhou: submitted; Jiangsu bureau: accepted; Jiangsu
        # industry: nothing yet (and no staff); the national department: returned.
        self.zj_report = factories.FeedbackReportFactory(
            campaign=self.campaign, department=self.zj_bureau
        )
        self.hz_report = factories.FeedbackReportFactory(
            campaign=self.campaign, department=self.hz_bureau, status=ReportStatus.SUBMITTED
        )
        self.js_report = factories.FeedbackReportFactory(
            campaign=self.campaign, department=self.js_bureau, status=ReportStatus.ACCEPTED
        )
        self.n_report = factories.FeedbackReportFactory(
            campaign=self.campaign,
            department=self.national_department,
            status=ReportStatus.RETURNED,
        )


@pytest.fixture
def world():
    return World()


@pytest.fixture
def late_world():
    """The same, for a campaign whose feedback deadline is long past."""
    return World(factories.CampaignFactory(year=2024))


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


def names(response) -> list[str]:
    return [row.department.name_zh for row in response.context["page"]]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def by_name(response) -> dict:
    return {row.department.name_zh: row for row in response.context["page"]}


# --- who may open it ----------------------------------------------------------------------------


def test_anonymous_people_are_sent_to_log_in(client, world):
    for url in (OVERVIEW, deadline_url(world, world.zj_bureau)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    client.post(OVERVIEW, {"remind": world.zj_bureau.pk})
    assert not FeedbackReminder.objects.exists()


@pytest.mark.parametrize("who", ["staff", "enterprise", "nobody"])
def test_people_who_do_not_review_are_refused(client, world, who):
    person = {
        "staff": world.zj_staff,
        "enterprise": factories.EnterpriseRepresentativeFactory().user,
        "nobody": factories.UserFactory(),
    }[who]
    client.force_login(person)
    assert client.get(OVERVIEW).status_code == 403
    assert client.post(OVERVIEW, {"remind": world.zj_bureau.pk}).status_code == 403
    assert not FeedbackReminder.objects.exists()


def test_the_provincial_reviewer_sees_the_departments_of_their_province(client, world):
    client.force_login(world.zj_reviewer)
    response = client.get(OVERVIEW)
    assert response.status_code == 200
    assert names(response) == ["浙江局", "杭州局"]


@pytest.mark.parametrize("who", ["national", "admin"])
def test_national_reviewers_and_administrators_see_every_department(client, world, who):
    client.force_login(getattr(world, who))
    response = client.get(OVERVIEW)
    assert set(names(response)) == {"浙江局", "杭州局", "江苏局", "江苏工信厅", "国家知识产权局"}


# --- what it shows ------------------------------------------------------------------------------


def test_each_department_with_its_state_deadline_staff_and_reminders(english, world):
    services.reminder_send(campaign=world.campaign, department=world.zj_bureau, actor=world.admin)
    services.reminder_send(campaign=world.campaign, department=world.zj_bureau, actor=world.admin)
    english.force_login(world.national)
    response = english.get(OVERVIEW)
    rows = by_name(response)
    assert {name: row.state for name, row in rows.items()} == {
        "浙江局": "draft",
        "杭州局": "submitted",
        "江苏局": "accepted",
        "江苏工信厅": "not_started",
        "国家知识产权局": "returned",
    }
    assert rows["浙江局"].reminder_count == 2
    assert rows["江苏工信厅"].staff_count == 0
    assert not any(row.overdue for row in rows.values())  # the deadline is ahead
    page = response.content.decode()
    assert "0: nobody to remind" in page
    assert "last " in page
    # Totals per state, and links to each report that exists.
    assert {state.value: count for state, count, _c in response.context["totals"]} == {
        "not_started": 1,
        "draft": 1,
        "returned": 1,
        "submitted": 1,
        "accepted": 1,
    }
    assert reverse("feedback:report_review", args=[world.zj_report.pk]) in page
    # Submitted departments cannot be ticked or reminded.
    assert f'value="{world.hz_bureau.pk}" id="select-' not in page
    assert f'name="remind" value="{world.zj_bureau.pk}"' in page
    assert f'name="remind" value="{world.hz_bureau.pk}"' not in page


def test_overdue_departments_are_flagged_after_the_deadline(english, late_world):
    services.report_extend_deadline(
        department=late_world.js_industry,
        campaign=late_world.campaign,
        until=dt.date(2099, 1, 1),
        actor=late_world.admin,
        reason="灾后重建",
    )
    english.force_login(late_world.national)
    response = english.get(OVERVIEW, {"campaign": 2024})
    rows = by_name(response)
    assert {name for name, row in rows.items() if row.overdue} == {"浙江局", "国家知识产权局"}
    assert rows["江苏工信厅"].deadline == dt.date(2099, 1, 1)
    assert response.context["overdue_count"] == 2
    assert "Overdue" in response.content.decode()
    only_overdue = english.get(OVERVIEW, {"campaign": 2024, "overdue": "on"})
    assert set(names(only_overdue)) == {"浙江局", "国家知识产权局"}


def test_the_current_campaign_is_the_default_and_another_can_be_chosen(client, world):
    older = factories.CampaignFactory(year=2024)
    factories.FeedbackReportFactory(
        campaign=older, department=world.zj_bureau, status=ReportStatus.ACCEPTED
    )
    client.force_login(world.zj_reviewer)
    assert client.get(OVERVIEW).context["campaign"] == world.campaign
    response = client.get(OVERVIEW, {"campaign": 2024})
    assert response.context["campaign"] == older
    assert by_name(response)["浙江局"].state == "accepted"
    assert by_name(response)["杭州局"].state == "not_started"


def test_filters_by_province_city_and_state(client, world):
    client.force_login(world.admin)
    assert names(client.get(OVERVIEW, {"province": "320000"})) == ["江苏局", "江苏工信厅"]
    assert names(client.get(OVERVIEW, {"province": "330000", "city": "330100"})) == ["杭州局"]
    assert names(client.get(OVERVIEW, {"state": "not_started"})) == ["江苏工信厅"]
    response = client.get(OVERVIEW, {"province": "330000", "state": "draft"})
    assert names(response) == ["浙江局"]
    # The totals count the region, whatever the state chosen.
    totals = {state.value: count for state, count, _c in response.context["totals"]}
    assert totals["draft"] == totals["submitted"] == 1
    assert response.context["total"] == 2


@pytest.mark.parametrize("count", [1, 3, 30])
def test_the_table_is_read_in_a_fixed_number_of_queries(client, count, django_assert_num_queries):
    campaign = factories.CampaignFactory()
    province = factories.ProvinceFactory()
    for n in range(count):
        department = factories.DepartmentFactory(region=province)
        factories.DepartmentMembershipFactory(department=department)
        if n % 2:
            factories.FeedbackReportFactory(campaign=campaign, department=department)
    admin = factories.AdminFactory()
    client.force_login(admin)
    client.get(OVERVIEW)  # warm the session
    with django_assert_num_queries(12):
        response = client.get(OVERVIEW, {"campaign": campaign.year})
    assert len(response.context["page"]) == count


def test_the_csv_download_holds_the_filtered_table_with_formulas_defused(client, world):
    world.js_industry.name_zh = "=HYPERLINK(1)"
    world.js_industry.save()
    client.force_login(world.national)
    response = client.get(OVERVIEW, {"province": "320000", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"feedback-overview-{world.campaign.year}.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 3
    assert [row[0] for row in rows[1:]] == ["江苏局", "'=HYPERLINK(1)"]


# --- reminders ----------------------------------------------------------------------------------


def test_remind_selected_emails_their_staff_and_says_how_many(
    english, world, django_capture_on_commit_callbacks
):
    factories.DepartmentMembershipFactory(department=world.zj_bureau)  # two people
    english.force_login(world.zj_reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = english.post(
            OVERVIEW, {"action": "remind_selected", "department": [world.zj_bureau.pk]}, follow=True
        )
    assert messages_of(response) == ["1 department reminded: 2 people emailed."]
    assert len(mail.outbox) == 2
    assert world.zj_staff.email in [m.to[0] for m in mail.outbox]
    reminder = FeedbackReminder.objects.get()
    assert (reminder.kind, reminder.sent_by, reminder.recipients) == (
        "manual",
        world.zj_reviewer,
        2,
    )
    assert AuditLogEntry.objects.filter(action="feedback.reminder.sent").count() == 1


def test_departments_that_have_submitted_are_refused_by_name(english, world):
    english.force_login(world.zj_reviewer)
    response = english.post(
        OVERVIEW,
        {"action": "remind_selected", "department": [world.zj_bureau.pk, world.hz_bureau.pk]},
        follow=True,
    )
    found = messages_of(response)
    assert found[0] == "1 department reminded: 1 person emailed."
    assert "Not reminded" in found[1] and world.hz_bureau.name in found[1]
    assert "has already submitted its report" in found[1]
    assert list(FeedbackReminder.objects.values_list("department", flat=True)) == [
        world.zj_bureau.pk
    ]


def test_remind_all_not_yet_submitted_in_the_region_chosen(english, world):
    english.force_login(world.admin)
    response = english.post(
        OVERVIEW + "?province=320000", {"action": "remind_pending"}, follow=True
    )
    # Only Jiangsu; of it only the industry department has not submitted, and it has no staff.
    assert set(FeedbackReminder.objects.values_list("department", flat=True)) == {
        world.js_industry.pk
    }
    found = messages_of(response)
    assert found[0] == "1 department reminded: 0 people emailed."
    assert "Nobody could be emailed" in found[1] and world.js_industry.name in found[1]
    assert response.redirect_chain[-1][0] == OVERVIEW + "?province=320000"


def test_remind_all_not_yet_submitted_everywhere(client, world):
    client.force_login(world.national)
    client.post(OVERVIEW, {"action": "remind_pending"})
    assert set(FeedbackReminder.objects.values_list("department", flat=True)) == {
        world.zj_bureau.pk,
        world.js_industry.pk,
        world.national_department.pk,
    }


def test_the_one_click_reminder_of_a_row(client, world):
    client.force_login(world.zj_reviewer)
    response = client.post(
        OVERVIEW, {"remind": world.zj_bureau.pk, "department": [world.hz_bureau.pk]}
    )
    assert response.status_code == 302
    assert list(FeedbackReminder.objects.values_list("department", flat=True)) == [
        world.zj_bureau.pk
    ]


def test_nothing_selected_is_said_so(english, world):
    english.force_login(world.zj_reviewer)
    response = english.post(OVERVIEW, {"action": "remind_selected"}, follow=True)
    assert messages_of(response) == ["Select the departments to remind first."]
    assert not FeedbackReminder.objects.exists()


def test_a_provincial_reviewer_cannot_remind_another_province(english, world):
    english.force_login(world.zj_reviewer)
    response = english.post(OVERVIEW, {"remind": world.js_industry.pk}, follow=True)
    assert messages_of(response) == ["Select the departments to remind first."]
    response = english.post(
        OVERVIEW, {"action": "remind_selected", "department": [world.js_industry.pk]}, follow=True
    )
    assert not FeedbackReminder.objects.exists()


# --- a later deadline ---------------------------------------------------------------------------


def deadline_url(world, department) -> str:
    return reverse("feedback:deadline_extend", args=[world.campaign.year, department.pk])


def test_an_administrator_grants_a_later_deadline(english, late_world):
    english.force_login(late_world.admin)
    url = deadline_url(late_world, late_world.zj_bureau)
    overview = english.get(OVERVIEW, {"campaign": 2024}).content.decode()
    assert url in overview
    assert english.get(url).status_code == 200
    response = english.post(url, {"until": "2024-11-20", "reason": "Flooding"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{OVERVIEW}?campaign=2024"
    assert "now has until" in messages_of(response)[0]
    report = FeedbackReport.objects.get(pk=late_world.zj_report.pk)
    assert report.deadline == dt.date(2024, 11, 20)
    entry = AuditLogEntry.objects.get(action="feedback.report.deadline_extended")
    assert entry.comment == "Flooding"


def test_a_deadline_before_the_campaigns_is_refused_and_the_reason_kept(english, late_world):
    english.force_login(late_world.admin)
    url = deadline_url(late_world, late_world.js_industry)  # not started: no report yet
    response = english.post(url, {"until": "2024-10-01", "reason": "Flooding"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose a day after the campaign" in page
    assert "Flooding" in page
    assert not FeedbackReport.objects.filter(department=late_world.js_industry).exists()
    response = english.post(url, {"until": "2024-12-01", "reason": " "})
    assert response.status_code == 400
    assert "Please give a reason." in response.content.decode()
    response = english.post(url, {"until": "soon", "reason": "x"})
    assert response.status_code == 400
    assert "Enter a date such as" in response.content.decode()


@pytest.mark.parametrize("who", ["zj_reviewer", "national", "zj_staff"])
def test_only_administrators_extend_deadlines(client, world, who):
    client.force_login(getattr(world, who))
    url = deadline_url(world, world.zj_bureau)
    assert client.get(url).status_code == 403
    response = client.post(url, {"until": "2099-01-01", "reason": "x"})
    assert response.status_code == 403
    assert FeedbackReport.objects.get(pk=world.zj_report.pk).deadline_extended_to is None
    if who != "zj_staff":
        assert url not in client.get(OVERVIEW).content.decode()


def test_unknown_campaign_or_department_is_404(client, world):
    client.force_login(world.admin)
    url = reverse("feedback:deadline_extend", args=[1999, world.zj_bureau.pk])
    assert client.get(url).status_code == 404
    url = reverse("feedback:deadline_extend", args=[world.campaign.year, 999999])
    assert client.get(url).status_code == 404


def test_reminding_many_departments_goes_to_a_worker_where_one_is_configured(
    client, world, settings, monkeypatch
):
    from feedback import review_views

    queued = []
    monkeypatch.setattr(review_views, "REMIND_INLINE_MAX", 0)
    monkeypatch.setattr(review_views.send_reminders, "delay", lambda *args: queued.append(args))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client.force_login(world.admin)
    response = client.post(OVERVIEW, {"action": "remind_pending"})
    assert response.status_code == 302
    assert len(queued) == 1 and queued[0][0] == world.campaign.pk
    assert not FeedbackReminder.objects.exists()  # nothing sent in the request
