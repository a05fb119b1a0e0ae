"""The reviewers' feedback pages: the queue of submitted reports (scope, order, filters, queries)
and the review of one report (accept, return with comments, reopen, two reviewers at once, the
changes after resubmission, publishing typical cases), for every role."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from activities.enums import DepartmentLevel
from feedback import services
from feedback.enums import ReportStatus
from feedback.models import FeedbackReport
from qualitymonth.models import ReviewDecision
from tests import factories

pytestmark = pytest.mark.django_db

QUEUE = reverse("feedback:report_queue")


def review_url(report) -> str:
    return reverse("feedback:report_review", args=[report.pk])


class World:
    """Zhejiang (with Hangzhou) and Jiangsu, a bureau in each and a national department, their
    staff, and reviewers of each kind."""

    def __init__(self):
        self.campaign = factories.CampaignFactory()
        self.zhejiang = factories.ProvinceFactory(
            code="330000", name_zh="浙江省", name_en="Zhejiang"
        )
        self.hangzhou = factories.CityFactory(
            parent=self.zhejiang, code="330100", name_zh="杭州市", name_en="Hangzhou"
        )
        self.jiangsu = factories.ProvinceFactory(code="320000", name_zh="江苏省", name_en="Jiangsu")
        self.zj_bureau = factories.DepartmentFactory(
            region=self.zhejiang, name_zh="浙江省市场监管局"
        )
        self.hz_bureau = factories.DepartmentFactory(
            region=self.hangzhou, level=DepartmentLevel.CITY, name_zh="杭州市市场监管局"
        )
        self.js_bureau = factories.DepartmentFactory(
            region=self.jiangsu, name_zh="江苏省市场监管局"
        )
        self.national_department = factories.NationalDepartmentFactory(name_zh="国家知识产权局")
        self.zj_staff = factories.DepartmentMembershipFactory(
            department=self.zj_bureau, user__full_name="Zhang Staff"
        ).user
        self.js_staff = factories.DepartmentMembershipFactory(department=self.js_bureau).user
        self.national = factories.ReviewerAssignmentFactory(user__full_name="Wang National").user
        self.zj_reviewer = factories.ReviewerAssignmentFactory(
            region=self.zhejiang, user__full_name="Li Zhejiang"
        ).user
        self.js_reviewer = factories.ReviewerAssignmentFactory(region=self.jiangsu).user
        self.admin = factories.AdminFactory()
        self.enterprise = factories.EnterpriseRepresentativeFactory().user

    def submitted(self, department=None, *, days=1, **fields) -> FeedbackReport:
        report = factories.FeedbackReportFactory(
            campaign=fields.pop("campaign", self.campaign),
            department=department or self.zj_bureau,
            **fields,
        )
        staff = factories.DepartmentMembershipFactory(department=report.department).user
        services.report_submit(report, actor=staff)
        FeedbackReport.objects.filter(pk=report.pk).update(
            submitted_at=timezone.now() - dt.timedelta(days=days, minutes=1)
        )
        report.refresh_from_db()
        return report

    def accepted(self, department=None, **fields) -> FeedbackReport:
        report = self.submitted(department, **fields)
        services.report_accept(report, actor=self.national)
        return report


@pytest.fixture
def world():
    return World()


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


def queue_names(response) -> list[str]:
    return [report.department.name for report in response.context["page"]]


def form_version(response) -> str:
    return re.search(r'name="version" value="(\d+)"', response.content.decode()).group(1)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- who may open the pages ---------------------------------------------------------------------


def test_anonymous_people_are_sent_to_log_in(client, world):
    report = world.submitted()
    for url in (QUEUE, review_url(report)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    response = client.post(review_url(report), {"action": "accept", "version": report.version})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED


@pytest.mark.parametrize("who", ["staff", "enterprise", "nobody"])
def test_people_who_do_not_review_have_no_queue(client, world, who):
    person = {
        "staff": world.zj_staff,
        "enterprise": world.enterprise,
        "nobody": factories.UserFactory(),
    }[who]
    client.force_login(person)
    assert client.get(QUEUE).status_code == 403


@pytest.mark.parametrize("who", ["other_staff", "enterprise", "nobody"])
def test_a_report_does_not_exist_for_those_who_may_not_see_it(client, world, who):
    person = {
        "other_staff": world.js_staff,
        "enterprise": world.enterprise,
        "nobody": factories.UserFactory(),
    }[who]
    report = world.submitted()
    client.force_login(person)
    assert client.get(review_url(report)).status_code == 404
    response = client.post(review_url(report), {"action": "accept", "version": report.version})
    assert response.status_code == 404
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED


def test_the_departments_own_staff_are_sent_to_their_report(client, world):
    report = world.submitted()
    client.force_login(world.zj_staff)
    response = client.get(review_url(report))
    assert response.status_code == 302
    assert response["Location"] == reverse("feedback:report_edit", args=[world.campaign.year])
    response = client.post(review_url(report), {"action": "accept", "version": report.version})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED


def test_a_provincial_reviewer_cannot_open_a_report_of_another_province(client, world):
    outside = world.submitted(world.js_bureau)
    client.force_login(world.zj_reviewer)
    assert client.get(review_url(outside)).status_code == 404
    response = client.post(review_url(outside), {"action": "accept", "version": outside.version})
    assert response.status_code == 404
    outside.refresh_from_db()
    assert outside.status == ReportStatus.SUBMITTED
    assert client.get(reverse("feedback:report_review", args=[999999])).status_code == 404


def test_a_national_departments_report_is_for_national_reviewers(client, world):
    report = world.submitted(world.national_department)
    client.force_login(world.zj_reviewer)
    assert client.get(review_url(report)).status_code == 404
    client.force_login(world.national)
    response = client.get(review_url(report))
    assert response.status_code == 200
    assert response.context["actions"] == ["accept", "return"]


def test_the_administrator_reviews_everywhere(client, world):
    report = world.submitted(world.js_bureau)
    client.force_login(world.admin)
    assert queue_names(client.get(QUEUE)) == [report.department.name]
    response = client.post(review_url(report), {"action": "accept", "version": report.version})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED


# --- the queue ----------------------------------------------------------------------------------


def test_the_provincial_reviewer_sees_their_regions_reports_the_longest_waiting_first(
    client, world
):
    newer = world.submitted(world.zj_bureau, days=1)
    older = world.submitted(world.hz_bureau, days=9)
    world.submitted(world.js_bureau, days=20)
    factories.FeedbackReportFactory(campaign=world.campaign)  # a draft: not in the queue
    client.force_login(world.zj_reviewer)
    response = client.get(QUEUE)
    assert response.status_code == 200
    assert queue_names(response) == [older.department.name, newer.department.name]
    page = response.content.decode()
    assert response.context["page"].paginator.count == 2
    assert 'class="long-wait"' in page  # nine days is long


def test_the_national_reviewer_sees_every_submitted_report(client, world):
    world.submitted(world.zj_bureau, days=2)
    world.submitted(world.js_bureau, days=3)
    world.submitted(world.national_department, days=1)
    client.force_login(world.national)
    assert len(queue_names(client.get(QUEUE))) == 3


def test_the_queue_filters_by_campaign_region_and_waiting_time(client, world):
    other_year = factories.CampaignFactory()
    zj = world.submitted(world.zj_bureau, days=10)
    hz = world.submitted(world.hz_bureau, days=1)
    js = world.submitted(world.js_bureau, days=2)
    old = world.submitted(world.js_bureau, days=5, campaign=other_year)
    client.force_login(world.national)

    by_campaign = client.get(QUEUE, {"campaign": other_year.year})
    assert queue_names(by_campaign) == [old.department.name]
    by_province = client.get(QUEUE, {"province": "330000"})
    assert queue_names(by_province) == [zj.department.name, hz.department.name]
    by_city = client.get(QUEUE, {"province": "330000", "city": "330100"})
    assert queue_names(by_city) == [hz.department.name]
    waiting = client.get(QUEUE, {"waiting": "7"})
    assert queue_names(waiting) == [zj.department.name]
    assert js.department.name in queue_names(client.get(QUEUE))
    assert by_city.context["total"] == 4


def test_the_queue_offers_the_cities_of_the_chosen_province_only(client, world):
    client.force_login(world.national)
    response = client.get(QUEUE, {"province": "330000"})
    assert [c.code for c in response.context["form"].fields["city"].queryset] == ["330100"]
    response = client.get(QUEUE)
    assert list(response.context["form"].fields["city"].queryset) == []


def test_a_provincial_reviewer_may_only_filter_by_their_province(client, world):
    client.force_login(world.zj_reviewer)
    response = client.get(QUEUE, {"province": "320000"})
    assert response.status_code == 200
    assert "province" in response.context["form"].errors
    assert [p.code for p in response.context["form"].fields["province"].queryset] == ["330000"]


def test_the_queue_marks_a_revised_report_and_links_to_the_overview(english, world):
    report = world.submitted()
    services.report_return(report, actor=world.zj_reviewer, comment="请补充图片")
    services.report_submit(report, actor=world.zj_staff)
    english.force_login(world.zj_reviewer)
    page = english.get(QUEUE).content.decode()
    assert "Revised and resubmitted" in page
    assert reverse("feedback:overview") in page
    assert review_url(report) in page


@pytest.mark.parametrize("count", [1, 3])
def test_the_queue_reads_a_fixed_number_of_queries(client, world, count, django_assert_num_queries):
    for _n in range(count):
        factories.TypicalCaseFactory(report=world.submitted(factories.DepartmentFactory()))
    client.force_login(world.national)
    client.get(QUEUE)  # warm the session and the current campaign
    with django_assert_num_queries(10):
        response = client.get(QUEUE)
    assert len(queue_names(response)) == count


# --- one review ---------------------------------------------------------------------------------


def test_the_review_page_shows_the_report_and_the_actions_allowed_now(english, world):
    report = world.submitted()
    factories.TypicalCaseFactory(report=report, title="Water purifier checks")
    english.force_login(world.zj_reviewer)
    response = english.get(review_url(report))
    assert response.status_code == 200
    page = response.content.decode()
    assert world.zj_bureau.name in page
    assert report.summary in page
    assert "Water purifier checks" in page
    assert response.context["actions"] == ["accept", "return"]
    assert 'value="accept"' in page and 'value="return"' in page
    assert 'value="reopen"' not in page
    assert form_version(response) == str(report.version)


def test_a_draft_has_nothing_to_review(english, world):
    report = factories.FeedbackReportFactory(campaign=world.campaign, department=world.zj_bureau)
    english.force_login(world.zj_reviewer)
    response = english.get(review_url(report))
    assert response.status_code == 200
    assert response.context["actions"] == []
    assert "there is nothing to review now" in response.content.decode()


def test_accepting_with_a_comment_tells_the_department(
    english, world, django_capture_on_commit_callbacks
):
    report = world.submitted()
    english.force_login(world.zj_reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = english.post(
            review_url(report),
            {"action": "accept", "comment": "材料翔实", "version": report.version},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == review_url(report)
    report.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED
    decision = ReviewDecision.objects.get()
    assert (decision.reviewer, decision.comment) == (world.zj_reviewer, "材料翔实")
    assert world.zj_staff.email in [m.to[0] for m in mail.outbox]
    assert messages_of(response) == [f"The report of {world.zj_bureau.name} is accepted."]


def test_returning_with_comments_on_fields(client, world):
    report = world.submitted()
    client.force_login(world.zj_reviewer)
    response = client.post(
        review_url(report),
        {
            "action": "return",
            "comment": "",
            "comment_on_participants": "参与人数与活动场次不符",
            "comment_on_media": "请补充现场照片",
            "version": report.version,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == QUEUE
    report.refresh_from_db()
    assert report.status == ReportStatus.RETURNED
    assert ReviewDecision.objects.get().field_comments == {
        "participants": "参与人数与活动场次不符",
        "media": "请补充现场照片",
    }


def test_returning_needs_a_comment(english, world):
    report = world.submitted()
    english.force_login(world.zj_reviewer)
    response = english.post(
        review_url(report), {"action": "return", "comment": "  ", "version": report.version}
    )
    assert response.status_code == 400
    assert "Please give a comment." in response.content.decode()
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED


def test_comments_on_fields_are_not_dropped_when_accepting(english, world):
    report = world.submitted()
    english.force_login(world.zj_reviewer)
    response = english.post(
        review_url(report),
        {"action": "accept", "comment_on_summary": "Too short", "version": report.version},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Comments on fields go with “Return for revision”" in page
    assert "Too short" in page
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED


def test_no_action_chosen_is_refused(english, world):
    report = world.submitted()
    english.force_login(world.zj_reviewer)
    response = english.post(review_url(report), {"comment": "ok", "version": report.version})
    assert response.status_code == 400
    assert "Choose to accept or return the report." in response.content.decode()


def test_reopening_an_accepted_report_needs_a_reason_and_withdraws_its_cases(english, world):
    report = world.accepted()
    case = factories.TypicalCaseFactory(report=report)
    services.case_publish(case, actor=world.national)
    english.force_login(world.zj_reviewer)
    response = english.get(review_url(report))
    assert response.context["actions"] == ["reopen"]
    assert "Reason" in response.content.decode()

    response = english.post(review_url(report), {"action": "reopen", "version": report.version})
    assert response.status_code == 400
    assert "Please give a reason." in response.content.decode()

    response = english.post(
        review_url(report),
        {"action": "reopen", "comment": "Figures are wrong", "version": report.version},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    case.refresh_from_db()
    assert report.status == ReportStatus.RETURNED
    assert not case.is_published


def test_a_stale_form_gets_409_keeps_the_comment_and_names_who_acted(english, world):
    report = world.submitted()
    seen = report.version
    services.report_accept(report, actor=world.national)  # Wang acts first
    english.force_login(world.zj_reviewer)
    response = english.post(
        review_url(report),
        {"action": "return", "comment": "My careful comment", "version": seen},
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Wang National" in page
    assert "My careful comment" in page
    assert form_version(response) == str(FeedbackReport.objects.get(pk=report.pk).version)
    report.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED
    assert ReviewDecision.objects.count() == 1


def test_a_report_withdrawn_meanwhile_is_a_409_not_a_crash(english, world):
    report = world.submitted()
    staff = report.department.members.first().user
    english.force_login(world.zj_reviewer)
    english.get(review_url(report))
    services.report_withdraw(report, actor=staff)
    response = english.post(
        review_url(report), {"action": "accept", "comment": "Fine", "version": report.version}
    )
    assert response.status_code == 409
    assert "Fine" in response.content.decode()
    assert FeedbackReport.objects.get(pk=report.pk).status == ReportStatus.DRAFT


def test_a_resubmitted_report_shows_what_changed_and_the_earlier_decisions(english, world):
    report = world.submitted()
    services.report_return(
        report, actor=world.zj_reviewer, comment="Check it", field_comments={"participants": "?"}
    )
    services.report_update(report, actor=world.zj_staff, participants=2800)
    services.report_submit(report, actor=world.zj_staff)
    english.force_login(world.zj_reviewer)
    response = english.get(review_url(report))
    assert [row["field"] for row in response.context["changes"]] == ["participants"]
    page = response.content.decode()
    assert "Changes since the last review" in page
    assert "Earlier decisions" in page
    assert "Check it" in page
    assert "2800" in page and "3400" in page
    assert "History" in page


# --- typical cases: publication -----------------------------------------------------------------


def test_an_accepted_reports_consenting_cases_can_be_published_from_the_page(english, world):
    report = world.accepted()
    consenting = factories.TypicalCaseFactory(report=report, title="Consenting case")
    refusing = factories.TypicalCaseFactory(
        report=report, title="Private case", publication_consent=False
    )
    english.force_login(world.zj_reviewer)
    page = english.get(review_url(report)).content.decode()
    publish = reverse("feedback:case_publish", args=[consenting.pk])
    assert f'action="{publish}"' in page
    assert reverse("feedback:case_publish", args=[refusing.pk]) not in page
    assert "The department consents" in page and "No consent" in page

    response = english.post(publish, {"next": review_url(report)})
    assert response.status_code == 302
    consenting.refresh_from_db()
    assert consenting.is_published
    page = english.get(review_url(report)).content.decode()
    assert reverse("feedback:case_unpublish", args=[consenting.pk]) in page


def test_cases_of_a_report_not_yet_accepted_offer_no_publication(english, world):
    report = world.submitted()
    case = factories.TypicalCaseFactory(report=report)
    english.force_login(world.zj_reviewer)
    page = english.get(review_url(report)).content.decode()
    assert reverse("feedback:case_publish", args=[case.pk]) not in page
    assert "once the report is accepted" in page


@pytest.mark.parametrize("count", [1, 3])
def test_the_review_page_reads_a_fixed_number_of_queries(
    client, world, count, django_assert_num_queries
):
    report = world.accepted()
    for _n in range(count):
        case = factories.TypicalCaseFactory(report=report)
        factories.FeedbackMediaFactory(report=report, case=case)
        factories.FeedbackMediaFactory(report=report)
    client.force_login(world.zj_reviewer)
    client.get(review_url(report))  # warm the session
    with django_assert_num_queries(16):
        response = client.get(review_url(report))
    assert len(response.context["cases"]) == count
