"""The department's feedback report in the staff workspace, for every role: the start page, the
form (save, save and submit, conflicts, the deadline), withdrawing, the read-only report once
submitted or accepted, the reviewers' comments, the history, and typical cases (add, edit,
delete).

Pages are mostly requested in English; a few checks read the default language (Chinese).
"""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from feedback import services
from feedback.enums import ReportStatus
from feedback.models import FeedbackReport, TypicalCase
from qualitymonth.models import AuditLogEntry
from tests import factories
from tests.api.world import build_world, make_campaign, reviewer_for, staff_of
from tests.feedback import corpus

pytestmark = pytest.mark.django_db

YEAR = 2035  # the deadline (31 October 2035) lies ahead


@pytest.fixture
def world():
    world = build_world()
    world.future = make_campaign(YEAR)
    return world


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def browser(user=None, language="en") -> Client:
    client = Client()
    if language:
        client.cookies["django_language"] = language
    if user is not None:
        client.force_login(user)
    return client


def page(response) -> str:
    return response.content.decode()


def report_url(year=YEAR, department=None):
    url = reverse("feedback:report_edit", args=[year])
    return f"{url}?department={department.pk}" if department is not None else url


def case_create_url(year=YEAR):
    return reverse("feedback:case_create", args=[year])


def case_edit_url(case):
    return reverse("feedback:case_edit", args=[case.pk])


def case_delete_url(case):
    return reverse("feedback:case_delete", args=[case.pk])


def report_of(world, department=None, **kwargs):
    return factories.FeedbackReportFactory(
        campaign=world.future, department=department or world.gd_amr, **kwargs
    )


def report_data(report, **changes) -> dict:
    data = {
        "summary": "本月共组织活动十二场。",
        "activities_held": "12",
        "participants": "3400",
        "enterprises_involved": "310",
        "media_reports": "25",
        "version": str(report.version),
        "action": "save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def case_data(world, report, **changes) -> dict:
    data = {
        "title": "天河区小微企业质量提升",
        "key_arrangement": str(world.future.key_arrangements.get(number=2).pk),
        "region_province": "440000",
        "region_city": "440100",
        "region_county": "440106",
        "body": "区市场监管局组织专家走进企业，帮助三十家企业导入质量管理体系。",
        "publication_consent": "on",
        "version": str(report.version),
        "action": "save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def en_date(day: dt.date) -> str:
    with translation.override("en"):
        return date_format(day, "DATE_FORMAT")


def messages_of(response, level=None) -> list[str]:
    return [str(m) for m in response.context["messages"] if level is None or m.level_tag == level]


def follow(client, response):
    assert response.status_code == 302, page(response)[:2000]
    return client.get(response["Location"])


# --- who may open what ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, args",
    [
        ("feedback:report_edit", [YEAR]),
        ("feedback:case_create", [YEAR]),
        ("feedback:case_edit", [1]),
        ("feedback:case_delete", [1]),
    ],
)
def test_anonymous_people_are_sent_to_log_in(world, name, args):
    response = browser().get(reverse(name, args=args))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_people_without_a_department_get_the_friendly_403(world):
    representative = factories.EnterpriseRepresentativeFactory().user
    reviewer = reviewer_for(world.guangdong)
    for person in (representative, reviewer, factories.UserFactory()):
        response = browser(person).get(report_url())
        assert response.status_code == 403
        assert "You may not open this page" in page(response)


def test_an_unknown_year_is_404(world):
    response = browser(staff_of(world.gd_amr)).get(report_url(1999))

    assert response.status_code == 404


def test_another_departments_case_is_404_on_every_url(world):
    case = factories.TypicalCaseFactory(report=report_of(world, world.zj_amr))
    client = browser(staff_of(world.gd_amr))

    for url in (case_edit_url(case), case_delete_url(case)):
        assert client.get(url).status_code == 404
        assert client.post(url, case_data(world, case.report)).status_code == 404
    assert TypicalCase.objects.filter(pk=case.pk, title=case.title).exists()
    assert client.get(case_edit_url(TypicalCase(pk=999_999))).status_code == 404


def test_staff_see_only_their_own_departments_report(world):
    report_of(world, world.zj_amr, summary="浙江的总结")
    client = browser(staff_of(world.gd_amr))

    response = client.get(report_url(department=world.zj_amr))  # not an administrator: ignored

    assert response.status_code == 200
    assert response.context["department"] == world.gd_amr
    assert response.context["report"] is None
    assert "浙江的总结" not in page(response)


def test_reviewers_cannot_change_cases_they_may_see(world):
    report = report_of(world)
    case = factories.TypicalCaseFactory(report=report)
    reviewer = reviewer_for(world.guangdong)
    factories.DepartmentMembershipFactory(user=reviewer, department=world.zj_amr)
    client = browser(reviewer)

    assert client.get(case_edit_url(case)).status_code == 403
    response = client.post(case_edit_url(case), case_data(world, report, title="审核员改的"))

    assert response.status_code == 403
    case.refresh_from_db()
    assert case.title != "审核员改的"


def test_administrators_choose_a_department(world):
    admin = factories.AdminFactory()
    report_of(world, world.zj_amr, summary="浙江的总结")
    client = browser(admin)

    picker = client.get(report_url())
    assert picker.status_code == 200
    assert "Choose the department whose report you want to open." in page(picker)
    assert world.zj_amr.name_zh in page(picker)

    chosen = client.get(report_url(department=world.zj_amr))
    assert chosen.context["report"].summary == "浙江的总结"
    assert chosen.context["may_edit"] is True
    assert f'action="{report_url(department=world.zj_amr)}"' in page(chosen)

    assert client.get(f"{report_url()}?department=999999").status_code == 404
    assert client.get(f"{report_url()}?department=abc").status_code == 404


def test_administrators_start_and_save_on_a_departments_behalf(world):
    admin = factories.AdminFactory()
    client = browser(admin)

    response = client.post(report_url(department=world.gz_amr), {"action": "start"})

    assert response["Location"] == report_url(department=world.gz_amr)
    report = FeedbackReport.objects.get(department=world.gz_amr, campaign=world.future)
    response = client.post(report_url(department=world.gz_amr), report_data(report))
    report.refresh_from_db()
    assert report.participants == 3400
    assert AuditLogEntry.objects.filter(action="feedback.report.changed", actor=admin).exists()


# --- before the report is started ----------------------------------------------------------------


def test_the_start_page_explains_what_is_asked_and_the_deadline(world):
    response = browser(staff_of(world.gd_amr)).get(report_url())

    text = page(response)
    assert response.status_code == 200
    assert "summarise in time after the activities, and feed back the relevant activities, " in text
    assert "typical cases, pictures and videos" in text
    assert f"Submit it by <strong>{en_date(dt.date(2035, 10, 31))}</strong>" in text
    assert "Start the report" in text
    assert not FeedbackReport.objects.exists()


def test_starting_the_report_makes_a_draft_once(world):
    staff = staff_of(world.gd_amr)
    client = browser(staff)

    response = follow(client, client.post(report_url(), {"action": "start"}))
    client.post(report_url(), {"action": "start"})  # a second click changes nothing

    report = FeedbackReport.objects.get()
    assert (report.department, report.campaign, report.status) == (
        world.gd_amr,
        world.future,
        ReportStatus.DRAFT,
    )
    assert "The report is started as a draft." in messages_of(response)[0]
    assert response.context["form"] is not None
    assert AuditLogEntry.objects.filter(action="feedback.report.created").count() == 1


def test_saving_before_starting_asks_to_start(world):
    client = browser(staff_of(world.gd_amr))

    response = follow(client, client.post(report_url(), {"action": "save", "summary": "x"}))

    assert messages_of(response, "error") == ["Start the report first."]
    assert not FeedbackReport.objects.exists()


# --- the form ------------------------------------------------------------------------------------


def test_the_form_offers_the_departments_published_activities_with_their_dates(world):
    report = report_of(world)
    own = world.activity(world.gd_amr, campaign=world.future, title="广东开放日")
    world.draft(world.gd_amr, campaign=world.future, title="广东草稿")
    world.activity(world.zj_amr, campaign=world.future, title="浙江的活动")
    world.activity(world.gd_amr, title="去年的活动")  # another campaign

    response = browser(staff_of(report.department)).get(report_url())

    text = page(response)
    assert response.context["form"].fields["activities"].queryset.get() == own
    assert "09/10/2035 · 广东开放日" in text
    for other in ("广东草稿", "浙江的活动", "去年的活动"):
        assert other not in text
    assert "data-activity-picker" in text
    assert "feedback-report.js" in text


def test_staff_save_the_summary_figures_and_activities(world):
    report = report_of(world, summary="", participants=None)
    own = world.activity(world.gd_amr, campaign=world.future)
    staff = staff_of(report.department)
    client = browser(staff)

    response = client.post(report_url(), report_data(report, activities=[own.pk]))

    response = follow(client, response)
    report.refresh_from_db()
    assert (report.summary, report.participants) == ("本月共组织活动十二场。", 3400)
    assert list(report.activities.all()) == [own]
    assert messages_of(response, "success") == ["Your changes are saved."]
    assert report.status == ReportStatus.DRAFT
    assert AuditLogEntry.objects.filter(action="feedback.report.changed", actor=staff).exists()


def test_bad_input_is_explained_next_to_the_field_and_kept(world):
    report = report_of(world)
    before = report.version
    client = browser(staff_of(report.department))

    response = client.post(
        report_url(), report_data(report, summary="新写的总结", participants="-5")
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert "participants" in form.errors
    assert form["summary"].value() == "新写的总结"
    assert 'href="#field-participants"' in page(response)
    report.refresh_from_db()
    assert report.version == before
    assert report.summary != "新写的总结"


def test_another_departments_activity_cannot_be_chosen(world):
    report = report_of(world)
    other = world.activity(world.zj_amr, campaign=world.future)
    client = browser(staff_of(report.department))

    response = client.post(report_url(), report_data(report, activities=[other.pk]))

    assert response.status_code == 400
    assert "activities" in response.context["form"].errors
    assert not report.activities.exists()


def test_a_stale_form_keeps_the_input_and_says_who_changed_the_report(world):
    report = report_of(world)
    colleague = staff_of(report.department)
    me = staff_of(report.department)
    stale = report.version
    services.report_update(report, actor=colleague, participants=4000)
    client = browser(me)

    response = client.post(
        report_url(),
        report_data(report, version=str(stale), summary="我写的总结", participants="3500"),
    )

    assert response.status_code == 409
    text = page(response)
    assert colleague.get_full_name() in text
    assert "Your input below is not saved yet." in text
    form = response.context["form"]
    assert form["summary"].value() == "我写的总结"
    assert form.fields["participants"].conflict_note == "4000"
    assert form["version"].value() == str(report.version)
    report.refresh_from_db()
    assert report.participants == 4000

    # Saving again replaces the colleague's value with mine.
    data = report_data(report, summary="我写的总结", participants="3500")
    client.post(report_url(), data)
    report.refresh_from_db()
    assert (report.summary, report.participants) == ("我写的总结", 3500)


def test_save_and_submit_a_complete_report(world, committed):
    report = report_of(world)
    reviewer = reviewer_for(world.guangdong)
    client = browser(staff_of(report.department))

    with committed():
        response = client.post(report_url(), report_data(report, action="submit"))

    response = follow(client, response)
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED
    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    assert "The report is submitted for review." in messages_of(response, "success")[0]
    text = page(response)
    assert response.context["form"] is None
    assert "Waiting for review" in text
    assert "Withdraw the submission" in text
    assert "本月共组织活动十二场。" in text  # the read-only report


def test_save_and_submit_an_incomplete_report_saves_and_marks_what_is_missing(world):
    report = report_of(world, participants=None, media_reports=None)
    client = browser(staff_of(report.department))

    response = client.post(
        report_url(),
        report_data(
            report, action="submit", summary="改过的总结", participants="", media_reports=""
        ),
    )

    assert response.status_code == 400
    report.refresh_from_db()
    assert report.summary == "改过的总结"
    assert report.status == ReportStatus.DRAFT
    form = response.context["form"]
    assert set(form.errors) == {"participants", "media_reports"}
    assert "Give this figure (0 if there is none)." in form.errors["participants"]
    assert "not submitted yet" in messages_of(response, "warning")[0]


def test_after_the_deadline_a_first_submission_is_refused_clearly_and_the_draft_kept(world):
    report = factories.FeedbackReportFactory(campaign=world.campaign, department=world.gd_amr)
    client = browser(staff_of(report.department))

    page_before = client.get(report_url(2024))
    assert "The deadline has passed." in page(page_before)

    response = follow(
        client, client.post(report_url(2024), report_data(report, action="submit", summary="新"))
    )

    report.refresh_from_db()
    assert report.status == ReportStatus.DRAFT
    assert report.summary == "新"
    [error] = messages_of(response, "error")
    assert "the report is not submitted" in error
    assert f"The deadline for feedback reports was {en_date(dt.date(2024, 10, 31))}." in error


def test_an_extended_deadline_is_shown_and_allows_submitting(world):
    report = factories.FeedbackReportFactory(campaign=world.campaign, department=world.gd_amr)
    services.report_extend_deadline(
        department=world.gd_amr,
        campaign=world.campaign,
        until=dt.date(2099, 1, 31),
        actor=factories.AdminFactory(),
        reason="台风",
    )
    report.refresh_from_db()
    client = browser(staff_of(report.department))

    text = page(client.get(report_url(2024)))
    assert en_date(dt.date(2099, 1, 31)) in text
    assert "extended for your department" in text

    client.post(report_url(2024), report_data(report, action="submit"))
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED


def test_withdraw_a_submitted_report(world):
    report = report_of(world)
    staff = staff_of(report.department)
    services.report_submit(report, actor=staff)
    client = browser(staff)

    response = follow(
        client, client.post(report_url(), {"action": "withdraw", "version": report.version})
    )

    report.refresh_from_db()
    assert report.status == ReportStatus.DRAFT
    assert "The submission is withdrawn" in messages_of(response, "success")[0]
    assert response.context["form"] is not None


def test_withdrawing_from_a_stale_page_is_refused_with_a_message(world):
    report = report_of(world)
    staff = staff_of(report.department)
    services.report_submit(report, actor=staff)
    reviewer = reviewer_for(None)
    services.report_accept(report, actor=reviewer)
    client = browser(staff)

    response = follow(client, client.post(report_url(), {"action": "withdraw", "version": "2"}))

    report.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED
    assert "Reload the page" in messages_of(response, "error")[0]


@pytest.mark.parametrize("status", [ReportStatus.SUBMITTED, ReportStatus.ACCEPTED])
def test_a_submitted_or_accepted_report_is_read_only_and_posts_are_refused(world, status):
    report = report_of(world, status=status)
    case = factories.TypicalCaseFactory(report=report, title="只读的案例")
    client = browser(staff_of(report.department))

    response = client.get(report_url())
    text = page(response)
    assert response.context["may_edit"] is False
    assert response.context["form"] is None
    assert "只读的案例" in text
    assert "3400" in text
    assert case_edit_url(case) not in text
    assert "Add a typical case" not in text

    response = follow(client, client.post(report_url(), report_data(report, summary="改")))
    assert "cannot be changed now" in messages_of(response, "error")[0]
    for url, data in (
        (case_create_url(), case_data(world, report)),
        (case_edit_url(case), case_data(world, report, title="改")),
        (case_delete_url(case), {"version": report.version}),
    ):
        refused = client.post(url, data)
        assert refused.status_code == 302
        assert "cannot be changed now" in messages_of(client.get(refused["Location"]))[0]
    report.refresh_from_db()
    assert report.summary != "改"
    assert list(report.cases.values_list("title", flat=True)) == ["只读的案例"]


def test_a_returned_report_shows_the_reviewers_comments_next_to_what_they_are_about(world):
    report = report_of(world)
    staff = staff_of(report.department)
    services.report_submit(report, actor=staff)
    services.report_return(
        report,
        actor=reviewer_for(world.guangdong),
        comment="请补充典型案例。",
        field_comments={"participants": "人数请核实", "cases": "至少两个案例"},
    )

    response = browser(staff).get(report_url())

    text = page(response)
    assert response.context["may_edit"] is True
    assert "Returned for revision" in text
    assert "请补充典型案例。" in text
    assert response.context["form"].fields["participants"].review_comment == "人数请核实"
    assert text.index("人数请核实") > text.index('id="field-participants"')
    assert text.index("至少两个案例") > text.index('id="field-cases"')


def test_the_checklist_says_what_is_still_missing(world):
    report = report_of(world, summary="", participants=None)
    client = browser(staff_of(report.department))

    response = client.get(report_url())

    items = {i["anchor"]: i for i in response.context["checklist"]}
    assert items["summary"]["done"] is False
    assert items["participants"]["done"] is False
    assert items["activities_held"]["done"] is True
    assert items["cases"]["required"] is False
    text = page(response)
    assert "Write the summary, or attach it as a document." in text
    assert "needed before the report can be submitted" in text

    complete = browser(staff_of(world.gz_amr))
    report_of(world, world.gz_amr)
    assert "Everything needed is there" in page(complete.get(report_url()))


def test_the_page_lists_the_cases_with_their_facts_and_links(world, tmp_path):
    report = report_of(world)
    staff = staff_of(report.department)
    case = factories.TypicalCaseFactory(
        report=report,
        title="食品企业质量提升",
        key_arrangement=world.future.key_arrangements.get(number=5),
        region=world.guangzhou,
        publication_consent=False,
    )
    services.media_add(
        report,
        actor=staff,
        case=case,
        path=corpus.write(tmp_path, "a.jpg", corpus.jpeg_bytes()),
        original_name="现场.jpg",
    )

    response = browser(staff).get(report_url())

    [row] = response.context["cases"]
    assert row.media_count == 1
    text = page(response)
    assert "食品企业质量提升" in text
    assert "Quality improvement in key areas" in text
    assert "Guangzhou" in text
    assert "Not for publication" in text
    assert case_edit_url(case) in text
    assert case_delete_url(case) in text


def test_the_history_tells_what_happened_in_words(world):
    staff = staff_of(world.gd_amr)
    client = browser(staff)
    client.post(report_url(), {"action": "start"})
    report = FeedbackReport.objects.get()
    client.post(report_url(), report_data(report))
    report.refresh_from_db()
    client.post(case_create_url(), case_data(world, report, title="第一个案例"))

    history = client.get(report_url()).context["history"]

    assert [entry["action"] for entry in history] == [
        "Typical case added: 第一个案例",
        "Report changed",
        "Report started",
    ]
    assert history[1]["who"] == staff.get_full_name()


@pytest.mark.parametrize("status", [ReportStatus.DRAFT, ReportStatus.ACCEPTED])
def test_the_report_page_needs_the_same_queries_for_1_and_3_cases(world, status):
    report = report_of(world, status=status)
    for _ in range(2):
        world.activity(world.gd_amr, campaign=world.future)
    report.activities.set(services.reportable_activities(report))
    factories.TypicalCaseFactory(report=report)
    client = browser(staff_of(report.department))
    client.get(report_url())  # warm up: session, content types

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(report_url())
        assert response.status_code == 200
        return len(queries)

    one = count()
    factories.TypicalCaseFactory(report=report)
    factories.TypicalCaseFactory(report=report)
    three = count()

    assert one == three
    assert one <= 25


# --- typical cases -------------------------------------------------------------------------------


def test_the_case_form_offers_the_campaigns_arrangements_and_the_departments_region(world):
    report = report_of(world)

    response = browser(staff_of(report.department)).get(case_create_url())

    form = response.context["form"]
    assert [a.number for a in form.fields["key_arrangement"].queryset] == list(range(1, 10))
    assert form["region_province"].value() == "440000"
    text = page(response)
    assert "Series of activities to strengthen quality enterprises" in text
    assert "data-region-picker" in text
    assert "region-picker.js" in text
    assert "consents to publishing this case" in text


def test_staff_add_a_case(world):
    report = report_of(world)
    staff = staff_of(report.department)
    client = browser(staff)
    before = report.version

    response = client.post(case_create_url(), case_data(world, report))

    case = TypicalCase.objects.get()
    assert response["Location"] == case_edit_url(case)
    assert (case.title, case.region, case.key_arrangement.number, case.publication_consent) == (
        "天河区小微企业质量提升",
        world.tianhe,
        2,
        True,
    )
    report.refresh_from_db()
    assert report.version == before + 1
    edit = client.get(response["Location"])
    assert "The typical case is added." in messages_of(edit, "success")[0]
    assert "media-panel" in page(edit)  # its pictures and videos are added here


def test_a_case_needs_title_text_and_region_and_keeps_the_input(world):
    report = report_of(world)
    client = browser(staff_of(report.department))

    response = client.post(
        case_create_url(),
        case_data(world, report, title="", body="", region_province="", region_city="",
                  region_county="", publication_consent=None),
    )  # fmt: skip

    assert response.status_code == 400
    form = response.context["form"]
    assert {"title", "body", "region"} <= set(form.errors)
    assert "Choose the province where the case took place." in form.errors["region"]
    assert not TypicalCase.objects.exists()


def test_the_region_must_lie_in_the_province_chosen(world):
    report = report_of(world)
    client = browser(staff_of(report.department))

    response = client.post(
        case_create_url(),
        case_data(world, report, region_province="330000", region_city="440100", region_county=""),
    )

    assert response.status_code == 400
    [error] = response.context["form"].errors["region"]
    assert "does not lie in Zhejiang" in error
    assert response.context["form"]["title"].value() == "天河区小微企业质量提升"


def test_the_region_lists_follow_the_province_without_javascript(world):
    report = report_of(world)
    client = browser(staff_of(report.department))

    response = client.post(
        case_create_url(),
        case_data(world, report, region_province="330000", region_city="", _regions="1"),
    )

    assert response.status_code == 200
    assert not TypicalCase.objects.exists()
    cities = [c for c, _ in response.context["form"].fields["region_city"].widget.choices]
    assert cities == ["", "330100"]
    assert response.context["form"]["title"].value() == "天河区小微企业质量提升"


def test_staff_edit_a_case(world):
    report = report_of(world)
    case = factories.TypicalCaseFactory(report=report, region=world.guangzhou)
    client = browser(staff_of(report.department))

    form = client.get(case_edit_url(case)).context["form"]
    assert form["region_city"].value() == "440100"
    response = client.post(
        case_edit_url(case),
        case_data(world, report, title="改过的标题", region_county="", publication_consent=None),
    )

    assert response["Location"] == report_url()
    case.refresh_from_db()
    assert (case.title, case.region, case.publication_consent) == (
        "改过的标题",
        world.guangzhou,
        False,
    )
    assert AuditLogEntry.objects.filter(action="feedback.case.changed").exists()


def test_a_stale_case_form_keeps_the_input(world):
    report = report_of(world)
    case = factories.TypicalCaseFactory(report=report, title="原来的标题")
    colleague = staff_of(report.department)
    stale = report.version
    services.case_update(case, actor=colleague, title="同事的标题")
    client = browser(staff_of(report.department))

    response = client.post(
        case_edit_url(case), case_data(world, report, title="我的标题", version=str(stale))
    )

    assert response.status_code == 409
    form = response.context["form"]
    assert form["title"].value() == "我的标题"
    assert form.fields["title"].conflict_note == "同事的标题"
    assert colleague.get_full_name() in page(response)
    case.refresh_from_db()
    assert case.title == "同事的标题"
    report.refresh_from_db()
    client.post(case_edit_url(case), case_data(world, report, title="我的标题"))
    case.refresh_from_db()
    assert case.title == "我的标题"


def test_deleting_a_case_asks_first(world):
    report = report_of(world)
    case = factories.TypicalCaseFactory(report=report, title="要删的案例")
    client = browser(staff_of(report.department))

    confirm = client.get(case_delete_url(case))
    assert confirm.status_code == 200
    assert "Delete the typical case “要删的案例”?" in page(confirm)
    assert TypicalCase.objects.filter(pk=case.pk).exists()

    response = follow(client, client.post(case_delete_url(case), {"version": report.version}))
    assert not TypicalCase.objects.filter(pk=case.pk).exists()
    assert "“要删的案例” is deleted" in messages_of(response, "success")[0]


def test_deleting_from_a_stale_confirmation_is_refused(world):
    report = report_of(world)
    case = factories.TypicalCaseFactory(report=report)
    stale = report.version
    services.report_update(report, actor=staff_of(report.department), participants=1)
    client = browser(staff_of(report.department))

    response = client.post(case_delete_url(case), {"version": stale})

    assert response["Location"] == case_delete_url(case)
    assert TypicalCase.objects.filter(pk=case.pk).exists()


def test_a_case_needs_a_started_report(world):
    client = browser(staff_of(world.gd_amr))

    response = follow(client, client.get(case_create_url()))

    assert "Start the report first" in messages_of(response, "error")[0]


# --- languages -----------------------------------------------------------------------------------


def test_the_page_reads_in_chinese_by_default(world):
    report = report_of(world)
    factories.TypicalCaseFactory(
        report=report, key_arrangement=world.future.key_arrangements.get(number=2)
    )
    client = browser(staff_of(report.department), language=None)

    text = page(client.get(report_url()))

    assert "草稿" in text  # the status
    assert "我的活动" in text
    assert "广东省市场监督管理局" in text
    assert "质量强企系列活动" in text
    assert "Series of activities to strengthen quality enterprises" not in text

    form = page(client.get(case_create_url()))
    assert "重点安排" in form
    assert "更新列表" in form


def test_the_page_reads_in_english(world):
    report = report_of(world)
    factories.TypicalCaseFactory(
        report=report, key_arrangement=world.future.key_arrangements.get(number=2)
    )

    text = page(browser(staff_of(report.department)).get(report_url()))

    assert "Guangdong Administration for Market Regulation" in text
    assert "Series of activities to strengthen quality enterprises" in text
    assert "Save and submit for review" in text
    assert "Before you submit" in text
