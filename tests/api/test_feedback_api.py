"""Feedback reports through /api/v1/: reading per role, starting and editing, the review actions,
typical cases, files, the public typical cases, overdue tracking and reminders; conflicts, error
shapes in both languages, query counts."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from activities.enums import ActivityStatus
from feedback import services
from feedback.enums import MediaKind, ReportStatus
from feedback.models import FeedbackMedia, FeedbackReminder, FeedbackReport, TypicalCase
from qualitymonth.models import AuditLogEntry, ReviewDecision
from tests import factories
from tests.feedback import corpus

from .world import fresh, ids, make_campaign, representative_of, reviewer_for, staff_of

pytestmark = pytest.mark.django_db

ROLES = 3  # roles_of(): department membership, reviewer assignment, enterprise representation
PAGE = 2  # count + rows
REPORTS = "/api/v1/feedback-reports/"


@pytest.fixture(autouse=True)
def _scratch(settings, tmp_path):
    settings.FEEDBACK_UPLOAD_DIR = str(tmp_path / "partial-uploads")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Emails are queued on commit: run them as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def campaign(world):
    """A campaign whose feedback deadline is still ahead (2031-10-31)."""
    return make_campaign(2031)


def as_user(user, language: str = "en") -> APIClient:
    """A client acting as `user` (None: anonymous), asking for answers in `language`."""
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_authenticate(fresh(user))
    return client


def url(report, action: str = "") -> str:
    return f"{REPORTS}{report.pk}/" + (f"{action}/" if action else "")


def reload(report) -> FeedbackReport:
    return FeedbackReport.objects.get(pk=report.pk)


def report_of(department, campaign, **kwargs) -> FeedbackReport:
    return factories.FeedbackReportFactory(department=department, campaign=campaign, **kwargs)


def case_of(report, world, **kwargs) -> TypicalCase:
    kwargs.setdefault("key_arrangement", report.campaign.key_arrangements.get(number=8))
    kwargs.setdefault("region", world.tianhe)
    return factories.TypicalCaseFactory(report=report, **kwargs)


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def media_of(report, user, name="photo.jpg", content=None, case=None) -> FeedbackMedia:
    """A file added through the service, as an earlier upload would have."""
    import tempfile

    fd, path = tempfile.mkstemp()
    with open(fd, "wb") as f:
        f.write(content if content is not None else corpus.jpeg_bytes())
    return services.media_add(report, actor=user, path=path, original_name=name, case=case)


def submitted(report, staff):
    services.report_submit(report, actor=staff)
    return report


# --- reading: who sees which report -------------------------------------------------------------


def _four_reports(world, campaign):
    return {
        "gd": report_of(world.gd_amr, campaign),
        "gz": report_of(world.gz_amr, campaign),
        "zj": report_of(world.zj_amr, campaign),
        "samr": report_of(world.samr, campaign),
    }


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("staff", {"gz"}),
        ("provincial reviewer", {"gd", "gz"}),
        ("national reviewer", {"gd", "gz", "zj", "samr"}),
        ("admin", {"gd", "gz", "zj", "samr"}),
        ("enterprise", set()),
    ],
)
def test_the_list_shows_the_reports_each_role_may_see(world, campaign, role, expected):
    reports = _four_reports(world, campaign)
    person = {
        "staff": lambda: staff_of(world.gz_amr),
        "provincial reviewer": lambda: reviewer_for(world.guangdong),
        "national reviewer": lambda: reviewer_for(None),
        "admin": factories.AdminFactory,
        "enterprise": lambda: representative_of(factories.EnterpriseFactory()),
    }[role]()

    response = as_user(person).get(REPORTS)

    assert response.status_code == 200
    assert set(ids(response)) == {reports[key].pk for key in expected}


def test_anonymous_people_see_no_reports(world, campaign):
    report = report_of(world.gz_amr, campaign)

    assert as_user(None).get(REPORTS).status_code == 401
    assert as_user(None).get(url(report)).status_code == 401


def test_the_list_filters_by_campaign_status_department_and_province(world, campaign):
    reports = _four_reports(world, campaign)
    older = report_of(world.gz_amr, world.campaign)
    reports["zj"].status = ReportStatus.SUBMITTED
    reports["zj"].save()
    client = as_user(reviewer_for(None))

    def shown(**query):
        response = client.get(REPORTS, query)
        assert response.status_code == 200
        return set(ids(response))

    assert shown(campaign=2024) == {older.pk}
    assert shown(campaign=2031, status="submitted") == {reports["zj"].pk}
    assert shown(department=world.gz_amr.pk) == {reports["gz"].pk, older.pk}
    assert shown(campaign=2031, province="440000") == {reports["gd"].pk, reports["gz"].pk}
    assert client.get(REPORTS, {"province": "999999"}).status_code == 400
    assert client.get(REPORTS, {"status": "lost"}).status_code == 400


def test_a_list_row_has_the_state_figures_and_counts(world, campaign):
    report = report_of(world.gz_amr, campaign)
    staff = staff_of(world.gz_amr)
    case_of(report, world)
    media_of(report, staff)

    row = as_user(staff).get(REPORTS).json()["results"][0]

    assert row["campaign"] == 2031
    assert row["department"]["id"] == world.gz_amr.pk
    assert row["department"]["region"]["code"] == "440100"
    assert row["status"] == "draft"
    assert row["status_display"] == "Draft"
    assert row["deadline"] == "2031-10-31"
    assert row["participants"] == 3400
    assert (row["case_count"], row["media_count"]) == (1, 1)
    assert row["editable"] is True
    assert row["allowed_actions"] == ["update", "submit"]


def test_one_report_shows_everything_in_it(world, campaign):
    report = report_of(world.gz_amr, campaign)
    staff = staff_of(world.gz_amr)
    activity = world.activity(world.gz_amr, campaign=campaign, status=ActivityStatus.APPROVED)
    report.activities.set([activity])
    case = case_of(report, world, title="净水器免费检测进社区")
    media_of(report, staff, "summary.pdf", corpus.pdf_bytes())
    media_of(report, staff, "photo.jpg", corpus.jpeg_bytes(), case=case)

    response = as_user(staff).get(url(report))

    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == report.summary
    assert [body[f] for f in services.REPORT_FIGURES] == [12, 3400, 310, 25]
    assert body["activities"] == [{"id": activity.pk, "title": activity.title}]
    assert body["version"] == 3  # each file bumped it
    assert body["deadline"] == "2031-10-31"
    assert body["editable"] is True
    assert body["allowed_actions"] == ["update", "submit"]
    [shown_case] = body["cases"]
    assert shown_case["title"] == "净水器免费检测进社区"
    assert shown_case["key_arrangement"]["number"] == 8
    assert shown_case["region"]["code"] == "440106"
    [picture] = shown_case["media"]
    assert picture["kind"] == "picture"
    assert picture["case"] == case.pk
    [document] = body["media"]  # the report's own files; the case's are with the case
    assert document["kind"] == "document"
    assert document["original_name"] == "summary.pdf"
    assert document["url"] == f"http://testserver/feedback/media/{document['id']}/"
    assert document["thumbnail_url"] is None
    assert picture["web_url"] == f"http://testserver/feedback/media/{picture['id']}/web/"
    assert picture["state"] == "processing"


@pytest.mark.parametrize(
    "role",
    ["staff of another department", "reviewer of another province", "enterprise"],
)
def test_a_report_outside_ones_reach_is_a_404(world, campaign, role):
    report = report_of(world.gz_amr, campaign)
    person = {
        "staff of another department": lambda: staff_of(world.zj_amr),
        "reviewer of another province": lambda: reviewer_for(world.zhejiang),
        "enterprise": lambda: representative_of(factories.EnterpriseFactory()),
    }[role]()
    client = as_user(person)

    for path in ("", "history", "missing", "cases", "media"):
        assert client.get(url(report, path)).status_code == 404, path
    assert client.post(url(report, "submit"), {}, format="json").status_code == 404
    assert client.patch(url(report), {"version": 1}, format="json").status_code == 404
    assert client.get(f"{REPORTS}abc/").status_code == 404


# --- start and edit -----------------------------------------------------------------------------


def test_staff_start_their_departments_report_once(world, campaign):
    staff = staff_of(world.gz_amr)
    client = as_user(staff)

    first = client.post(REPORTS, {"campaign": 2031}, format="json")
    again = client.post(REPORTS, {"campaign": 2031}, format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    body = first.json()
    assert (body["status"], body["version"], body["campaign"]) == ("draft", 1, 2031)
    assert body["department"]["id"] == world.gz_amr.pk
    report = FeedbackReport.objects.get()
    assert report.created_by == staff
    assert AuditLogEntry.objects.for_object(report).get().action == "feedback.report.created"


def test_the_current_campaign_is_the_default(world, campaign):
    response = as_user(staff_of(world.gz_amr)).post(REPORTS, {}, format="json")

    assert response.status_code == 201
    assert response.json()["campaign"] == 2031


def test_staff_cannot_start_another_departments_report(world, campaign):
    response = as_user(staff_of(world.gz_amr)).post(
        REPORTS, {"campaign": 2031, "department": world.zj_amr.pk}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You may only write your own department's report.",
        "code": "permission_denied",
    }
    assert not FeedbackReport.objects.exists()


def test_administrators_name_the_department(world, campaign):
    admin = factories.AdminFactory()

    named = as_user(admin).post(REPORTS, {"department": world.zj_amr.pk}, format="json")
    unnamed = as_user(admin).post(REPORTS, {}, format="json")

    assert named.status_code == 201
    assert named.json()["department"]["id"] == world.zj_amr.pk
    assert unnamed.status_code == 400
    assert unnamed.json() == {"department": ["Name the reporting department."]}


@pytest.mark.parametrize("role", ["reviewer", "enterprise"])
def test_people_of_no_department_cannot_start_a_report(world, campaign, role):
    person = (
        reviewer_for(None)
        if role == "reviewer"
        else representative_of(factories.EnterpriseFactory())
    )

    response = as_user(person).post(REPORTS, {}, format="json")

    assert response.status_code == 403
    assert not FeedbackReport.objects.exists()


def test_an_unknown_campaign_year_is_named(world, campaign):
    response = as_user(staff_of(world.gz_amr)).post(REPORTS, {"campaign": 1999}, format="json")

    assert response.status_code == 400
    assert response.json() == {"campaign": ["There is no campaign for 1999."]}


def test_staff_edit_the_figures_and_covered_activities_with_the_version(world, campaign):
    report = report_of(world.gz_amr, campaign)
    held = world.activity(world.gz_amr, campaign=campaign, status=ActivityStatus.APPROVED)

    response = as_user(staff_of(world.gz_amr)).patch(
        url(report),
        {"version": 1, "participants": 5000, "summary": "  新的总结  ", "activities": [held.pk]},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["participants"], body["summary"], body["version"]) == (5000, "新的总结", 2)
    assert body["activities"] == [{"id": held.pk, "title": held.title}]
    entry = AuditLogEntry.objects.for_object(report).get(action="feedback.report.changed")
    assert entry.changes["participants"] == ["3400", "5000"]


def test_a_figure_that_is_no_number_is_refused_in_the_readers_language(world, campaign):
    report = report_of(world.gz_amr, campaign)
    response = as_user(staff_of(world.gz_amr), "zh-hans").patch(
        url(report), {"version": 1, "participants": "很多"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["participants"] == ["请输入整数，如 50。"]
    report.refresh_from_db()
    assert report.participants == 3400


def test_an_edit_with_a_stale_version_is_refused_with_409_and_saves_nothing(world, campaign):
    report = report_of(world.gz_amr, campaign)
    client = as_user(staff_of(world.gz_amr))
    first = client.patch(url(report), {"version": 1, "participants": 10}, format="json")

    second = client.patch(url(report), {"version": 1, "participants": 20}, format="json")

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["code"] == "conflict"
    assert second.json()["field"] == "version"
    assert reload(report).participants == 10


def test_only_published_activities_of_the_department_can_be_covered(world, campaign):
    report = report_of(world.gz_amr, campaign)
    others = world.activity(world.zj_amr, campaign=campaign, status=ActivityStatus.APPROVED)
    draft = world.activity(world.gz_amr, campaign=campaign, status=ActivityStatus.DRAFT)
    client = as_user(staff_of(world.gz_amr))

    for activity in (others, draft):
        response = client.patch(
            url(report), {"version": 1, "activities": [activity.pk]}, format="json"
        )
        assert response.status_code == 400
        assert response.json() == {
            "activities": ["Choose published activities of your own department."]
        }
    assert not reload(report).activities.exists()
    assert reload(report).version == 1


@pytest.mark.parametrize(
    ("language", "version_message", "figure_message"),
    [
        ("en", "This field is required.", "Ensure this value is greater than or equal to 0."),
        ("zh-hans", "该字段是必填项。", "请确保该值大于或者等于 0。"),
    ],
)
def test_field_errors_follow_the_requests_language(
    world, campaign, language, version_message, figure_message
):
    report = report_of(world.gz_amr, campaign)
    client = as_user(staff_of(world.gz_amr), language=language)

    without_version = client.patch(url(report), {"participants": 1}, format="json")
    negative = client.patch(url(report), {"version": 1, "participants": -1}, format="json")

    assert without_version.status_code == 400
    assert without_version.json() == {"version": [version_message]}
    assert negative.status_code == 400
    assert negative.json() == {"participants": [figure_message]}
    assert reload(report).participants == 3400


def test_messages_are_chinese_by_default(world, campaign):
    report = report_of(world.gz_amr, campaign)
    client = APIClient()
    client.force_authenticate(fresh(staff_of(world.gz_amr)))

    without_version = client.patch(url(report), {"participants": 1}, format="json")
    negative = client.patch(url(report), {"version": 1, "participants": -1}, format="json")

    assert without_version.json() == {"version": ["该字段是必填项。"]}
    assert negative.json() == {"participants": ["请确保该值大于或者等于 0。"]}


def test_a_reviewer_sees_but_cannot_edit(world, campaign):
    report = report_of(world.gz_amr, campaign)
    client = as_user(reviewer_for(world.guangdong))

    assert client.get(url(report)).json()["editable"] is False
    response = client.patch(url(report), {"version": 1, "participants": 1}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert reload(report).participants == 3400


def test_a_submitted_report_cannot_be_edited(world, campaign):
    report = submitted(report_of(world.gz_amr, campaign), staff := staff_of(world.gz_amr))

    response = as_user(staff).patch(
        url(report), {"version": report.version, "participants": 1}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "report_not_editable"


# --- the review workflow ------------------------------------------------------------------------


def test_a_report_goes_from_draft_through_a_return_to_accepted(world, campaign, committed):
    report = report_of(world.gz_amr, campaign)
    staff = staff_of(world.gz_amr)
    reviewer = reviewer_for(world.guangdong)
    department, review = as_user(staff), as_user(reviewer)

    with committed():
        sent = department.post(url(report, "submit"), {"version": 1}, format="json")
    assert sent.status_code == 200
    assert sent.json()["status"] == "submitted"
    assert sent.json()["allowed_actions"] == ["withdraw"]
    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    assert review.get(url(report)).json()["allowed_actions"] == ["accept", "return"]

    with committed():
        returned = review.post(
            url(report, "return"),
            {"version": 2, "field_comments": {"participants": "请核实人数"}},
            format="json",
        )
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned"
    assert mail.outbox[-1].to == [staff.email]

    edited = department.patch(url(report), {"version": 3, "participants": 3000}, format="json")
    assert edited.status_code == 200
    assert department.post(url(report, "submit"), {"version": 4}, format="json").status_code == 200

    accepted = review.post(url(report, "accept"), {"version": 5, "comment": "很好"}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["allowed_actions"] == ["reopen"]
    assert [d.decision for d in ReviewDecision.objects.order_by("created_at")] == [
        "returned",
        "approved",
    ]


def test_submitting_an_incomplete_report_lists_what_is_missing(world, campaign):
    report = report_of(world.gz_amr, campaign, summary="", media_reports=None)
    client = as_user(staff_of(world.gz_amr))

    missing = client.get(url(report, "missing"))
    response = client.post(url(report, "submit"), {}, format="json")

    assert missing.json() == {
        "complete": False,
        "missing": {
            "summary": "Write the summary, or attach it as a document.",
            "media_reports": "Give this figure (0 if there is none).",
        },
    }
    assert response.status_code == 400
    assert response.json() == {
        "summary": ["Write the summary, or attach it as a document."],
        "media_reports": ["Give this figure (0 if there is none)."],
    }
    assert reload(report).status == ReportStatus.DRAFT


def test_a_complete_report_misses_nothing(world, campaign):
    report = report_of(world.gz_amr, campaign)

    response = as_user(staff_of(world.gz_amr)).get(url(report, "missing"))

    assert response.json() == {"complete": True, "missing": {}}


def test_a_first_submission_after_the_deadline_is_refused(world):
    report = report_of(world.gz_amr, world.campaign)  # 2024: the deadline has passed

    response = as_user(staff_of(world.gz_amr)).post(url(report, "submit"), {}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "deadline_passed"
    assert "2024" in response.json()["detail"]


def test_the_department_withdraws_before_the_review(world, campaign):
    staff = staff_of(world.gz_amr)
    report = submitted(report_of(world.gz_amr, campaign), staff)

    response = as_user(staff).post(url(report, "withdraw"), {}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "draft"


def test_returning_needs_a_comment(world, campaign):
    report = submitted(report_of(world.gz_amr, campaign), staff_of(world.gz_amr))

    response = as_user(reviewer_for(None)).post(url(report, "return"), {}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "comment_required"
    assert response.json()["comment"] == ["Please give a comment."]
    assert reload(report).status == ReportStatus.SUBMITTED


def test_comments_only_on_the_parts_under_review(world, campaign):
    report = submitted(report_of(world.gz_amr, campaign), staff_of(world.gz_amr))

    response = as_user(reviewer_for(None)).post(
        url(report, "return"), {"field_comments": {"status": "改"}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["field"] == "field_comments"


def test_reopening_an_accepted_report_needs_a_reason_and_unpublishes_its_cases(world, campaign):
    report = report_of(world.gz_amr, campaign, status=ReportStatus.ACCEPTED)
    admin = factories.AdminFactory()
    case = case_of(report, world)
    services.case_publish(case, actor=admin)
    client = as_user(admin)

    without = client.post(url(report, "reopen"), {}, format="json")
    reopened = client.post(url(report, "reopen"), {"comment": "人数有误"}, format="json")

    assert without.status_code == 400
    assert without.json()["comment"] == ["Please give a reason."]
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "returned"
    case.refresh_from_db()
    assert case.published_at is None


@pytest.mark.parametrize(
    ("role", "operation"),
    [
        ("staff", "accept"),
        ("staff", "return"),
        ("provincial reviewer", "submit"),
        ("provincial reviewer", "withdraw"),
    ],
)
def test_each_side_keeps_to_its_own_actions(world, campaign, role, operation):
    staff = staff_of(world.gz_amr)
    report = submitted(report_of(world.gz_amr, campaign), staff)
    person = staff if role == "staff" else reviewer_for(world.guangdong)

    response = as_user(person).post(url(report, operation), {"comment": "x"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert reload(report).status == ReportStatus.SUBMITTED


def test_the_second_of_two_reviewers_gets_409_naming_the_first(world, campaign):
    report = submitted(report_of(world.gz_amr, campaign), staff_of(world.gz_amr))
    version = reload(report).version
    first = factories.ReviewerAssignmentFactory(region=None, user__full_name="李审核").user

    as_user(first).post(url(report, "accept"), {"version": version}, format="json")
    second = as_user(reviewer_for(world.guangdong)).post(
        url(report, "return"), {"version": version, "comment": "请补充"}, format="json"
    )

    assert second.status_code == 409
    assert second.json()["code"] == "conflict"
    assert "李审核" in second.json()["detail"]
    assert reload(report).status == ReportStatus.ACCEPTED


def test_an_action_from_the_wrong_state_is_a_409(world, campaign):
    report = report_of(world.gz_amr, campaign)

    response = as_user(reviewer_for(None)).post(url(report, "accept"), {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"


def test_history_shows_the_report_its_cases_files_and_decisions(world, campaign):
    staff = staff_of(world.gz_amr)
    report = report_of(world.gz_amr, campaign)
    services.case_create(
        report,
        actor=staff,
        title="社区净水器检测",
        key_arrangement=campaign.key_arrangements.get(number=8),
        region=world.tianhe,
        body="正文",
    )
    media = media_of(report, staff)
    FeedbackMedia.objects.filter(pk=media.pk).update(state="ready")  # processed meanwhile
    services.report_submit(report, actor=staff)
    services.report_return(report, actor=reviewer_for(None), comment="请补充图片")

    response = as_user(reviewer_for(world.guangdong)).get(url(report, "history"))

    assert response.status_code == 200
    body = response.json()
    assert [e["action"] for e in body["entries"]] == [
        "feedback.report.returned",
        "feedback.report.submitted",
        "feedback.media.added",
        "feedback.case.created",
    ]
    assert body["entries"][-1]["object"] == "社区净水器检测"
    [decision] = body["decisions"]
    assert (decision["decision"], decision["comment"]) == ("returned", "请补充图片")
    assert body["changes_since_last_review"] == []


# --- typical cases of a report -----------------------------------------------------------------


def _case_payload(**overrides):
    data = {
        "version": 1,
        "title": "净水器免费检测进社区",
        "key_arrangement": 8,
        "region": "440106",
        "body": "社区居民可免费检测家用净水器，共检测三百余台。",
        "publication_consent": True,
    }
    data.update(overrides)
    return data


def test_staff_add_change_and_remove_a_case_with_the_reports_version(world, campaign):
    report = report_of(world.gz_amr, campaign)
    client = as_user(staff_of(world.gz_amr))
    cases = url(report, "cases")

    created = client.post(cases, _case_payload(), format="json")
    assert created.status_code == 201
    case = created.json()
    assert case["key_arrangement"]["number"] == 8
    assert case["region"]["code"] == "440106"
    assert case["report_version"] == 2

    changed = client.patch(
        f"{cases}{case['id']}/", {"version": 2, "title": "净水器检测（修订）"}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["title"] == "净水器检测（修订）"
    assert changed.json()["report_version"] == 3
    assert [c["id"] for c in client.get(cases).json()["results"]] == [case["id"]]

    stale = client.delete(f"{cases}{case['id']}/?version=2")
    removed = client.delete(f"{cases}{case['id']}/?version=3")
    assert stale.status_code == 409
    assert removed.status_code == 204
    assert not TypicalCase.objects.exists()
    assert reload(report).version == 4


def test_a_case_delete_may_send_the_version_in_the_body(world, campaign):
    report = report_of(world.gz_amr, campaign)
    case = case_of(report, world)

    response = as_user(staff_of(world.gz_amr)).delete(
        url(report, f"cases/{case.pk}"), {"version": 1}, format="json"
    )

    assert response.status_code == 204


def test_a_case_write_needs_the_version(world, campaign):
    report = report_of(world.gz_amr, campaign)
    case = case_of(report, world)
    client = as_user(staff_of(world.gz_amr))

    assert client.post(url(report, "cases"), _case_payload(version=None), format="json").json() == {
        "version": ["This field may not be null."]
    }
    patched = client.patch(url(report, f"cases/{case.pk}"), {"title": "新"}, format="json")
    assert patched.json() == {"version": ["This field is required."]}
    assert client.delete(url(report, f"cases/{case.pk}")).json() == {
        "version": ["This field is required."]
    }


def test_a_case_is_checked_field_by_field(world, campaign):
    report = report_of(world.gz_amr, campaign)
    client = as_user(staff_of(world.gz_amr))

    unknown = client.post(url(report, "cases"), _case_payload(key_arrangement=12), format="json")
    empty = client.post(
        url(report, "cases"), _case_payload(title="", region="999999"), format="json"
    )

    assert unknown.status_code == 400
    assert unknown.json() == {"key_arrangement": ["The 2031 campaign has no key arrangement 12."]}
    assert empty.status_code == 400
    assert set(empty.json()) == {"title", "region"}
    assert not TypicalCase.objects.exists()
    assert reload(report).version == 1


def test_a_reviewer_reads_the_cases_but_cannot_write_them(world, campaign):
    report = report_of(world.gz_amr, campaign)
    case = case_of(report, world)
    client = as_user(reviewer_for(world.guangdong))

    assert ids(client.get(url(report, "cases"))) == [case.pk]
    assert client.get(url(report, f"cases/{case.pk}")).status_code == 200
    assert client.post(url(report, "cases"), _case_payload(), format="json").status_code == 403
    patched = client.patch(url(report, f"cases/{case.pk}"), {"version": 1}, format="json")
    assert patched.status_code == 403
    assert client.delete(url(report, f"cases/{case.pk}") + "?version=1").status_code == 403
    assert TypicalCase.objects.get().title == case.title


def test_cases_of_a_submitted_report_cannot_change(world, campaign):
    staff = staff_of(world.gz_amr)
    report = submitted(report_of(world.gz_amr, campaign), staff)

    response = as_user(staff).post(
        url(report, "cases"), _case_payload(version=report.version), format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "report_not_editable"


def test_a_case_of_another_report_is_not_found_under_this_one(world, campaign):
    report = report_of(world.gz_amr, campaign)
    other = case_of(report_of(world.gz_amr, world.campaign), world)

    response = as_user(staff_of(world.gz_amr)).get(url(report, f"cases/{other.pk}"))

    assert response.status_code == 404


# --- files of a report --------------------------------------------------------------------------


def test_staff_upload_a_picture_and_its_exif_is_gone(world, campaign):
    report = report_of(world.gz_amr, campaign)
    client = as_user(staff_of(world.gz_amr))

    response = client.post(
        url(report, "media"),
        {"file": upload("现场照片.jpg", corpus.jpeg_with_gps()), "caption": "检测现场"},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["format"], body["caption"]) == ("picture", "jpeg", "检测现场")
    assert body["original_name"] == "现场照片.jpg"
    assert body["case"] is None
    assert body["report_version"] == 2
    assert body["url"] == f"http://testserver/feedback/media/{body['id']}/"
    media = FeedbackMedia.objects.get()
    from PIL import Image

    with media.file.open("rb") as stored, Image.open(stored) as picture:
        assert not picture.getexif()
    listed = client.get(url(report, "media")).json()["results"]
    assert [m["id"] for m in listed] == [body["id"]]


def test_a_large_upload_streams_to_disk_and_is_stored(world, campaign, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload becomes a temporary file
    report = report_of(world.gz_amr, campaign)

    response = as_user(staff_of(world.gz_amr)).post(
        url(report, "media"), {"file": upload("总结.pdf", corpus.pdf_bytes())}, format="multipart"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "document"
    assert FeedbackMedia.objects.get().file.size == len(corpus.pdf_bytes())


def test_pictures_go_to_a_case_and_documents_only_to_the_report(world, campaign):
    report = report_of(world.gz_amr, campaign)
    case = case_of(report, world)
    client = as_user(staff_of(world.gz_amr))

    picture = client.post(
        url(report, "media"),
        {"file": upload("photo.jpg", corpus.jpeg_bytes()), "case": case.pk},
        format="multipart",
    )
    document = client.post(
        url(report, "media"),
        {"file": upload("总结.pdf", corpus.pdf_bytes()), "case": case.pk},
        format="multipart",
    )
    stranger = client.post(
        url(report, "media"),
        {"file": upload("photo.png", corpus.picture_bytes("PNG")), "case": 999999},
        format="multipart",
    )

    assert picture.status_code == 201
    assert picture.json()["case"] == case.pk
    assert document.status_code == 400
    assert document.json()["code"] == "document_in_case"
    assert "总结.pdf" in document.json()["detail"]
    assert stranger.status_code == 400
    assert stranger.json() == {"case": ["The report has no typical case 999999."]}
    assert client.get(url(report, "media"), {"case": case.pk}).json()["count"] == 1
    assert client.get(url(report, "media"), {"report_only": "true"}).json()["count"] == 0


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("page.jpg", b"<!DOCTYPE html><html><body>hello</body></html>", "type_mismatch"),
        ("empty.jpg", b"", "empty"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "svg"),
    ],
)
def test_a_refused_file_is_named_with_the_reason(world, campaign, name, content, code):
    report = report_of(world.gz_amr, campaign)

    response = as_user(staff_of(world.gz_amr)).post(
        url(report, "media"), {"file": upload(name, content)}, format="multipart"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert name in body["detail"]
    assert body["file"] == [body["detail"]]
    assert not FeedbackMedia.objects.exists()
    assert reload(report).version == 1


def test_the_same_file_twice_is_recognised(world, campaign):
    report = report_of(world.gz_amr, campaign)
    client = as_user(staff_of(world.gz_amr))
    content = corpus.pdf_bytes()
    client.post(url(report, "media"), {"file": upload("a.pdf", content)}, format="multipart")

    again = client.post(
        url(report, "media"), {"file": upload("b.pdf", content)}, format="multipart"
    )

    assert again.status_code == 400
    assert again.json()["code"] == "duplicate"
    assert "b.pdf" in again.json()["detail"] and "a.pdf" in again.json()["detail"]
    assert FeedbackMedia.objects.count() == 1


def test_an_upload_without_a_file_is_a_field_error(world, campaign):
    report = report_of(world.gz_amr, campaign)

    response = as_user(staff_of(world.gz_amr)).post(
        url(report, "media"), {"caption": "x"}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json() == {"file": ["No file was submitted."]}


def test_staff_caption_and_remove_a_file(world, campaign):
    staff = staff_of(world.gz_amr)
    report = report_of(world.gz_amr, campaign)
    media = media_of(report, staff)
    client = as_user(staff)
    one = url(report, f"media/{media.pk}")

    captioned = client.patch(one, {"caption": "  检测现场  "}, format="json")
    removed = client.delete(one)

    assert captioned.status_code == 200
    assert captioned.json()["caption"] == "检测现场"
    assert removed.status_code == 204
    assert not FeedbackMedia.objects.exists()
    assert client.get(one).status_code == 404


def test_a_reviewer_lists_the_files_but_cannot_touch_them(world, campaign):
    staff = staff_of(world.gz_amr)
    report = report_of(world.gz_amr, campaign)
    media = media_of(report, staff)
    client = as_user(reviewer_for(world.guangdong))
    one = url(report, f"media/{media.pk}")

    assert client.get(url(report, "media")).json()["count"] == 1
    assert client.get(one).status_code == 200
    assert client.patch(one, {"caption": "x"}, format="json").status_code == 403
    assert client.delete(one).status_code == 403
    sent = client.post(
        url(report, "media"), {"file": upload("x.jpg", corpus.jpeg_bytes())}, format="multipart"
    )
    assert sent.status_code == 403
    assert FeedbackMedia.objects.count() == 1


def test_files_of_a_submitted_report_stay(world, campaign):
    staff = staff_of(world.gz_amr)
    report = report_of(world.gz_amr, campaign)
    media = media_of(report, staff)
    FeedbackMedia.objects.filter(pk=media.pk).update(state="ready")
    submitted(report, staff)

    response = as_user(staff).delete(url(report, f"media/{media.pk}"))

    assert response.status_code == 400
    assert response.json()["code"] == "report_not_editable"
    assert FeedbackMedia.objects.exists()


# --- the public typical cases ------------------------------------------------------------------


def _published(world, campaign, department, **kwargs) -> TypicalCase:
    report = FeedbackReport.objects.filter(campaign=campaign, department=department).first()
    report = report or report_of(department, campaign, status=ReportStatus.ACCEPTED)
    case = case_of(report, world, **kwargs)
    services.case_publish(case, actor=factories.AdminFactory())
    return case


def test_everyone_reads_published_cases_only(world, campaign):
    shown = _published(world, campaign, world.gz_amr, title="已发布案例")
    hidden = case_of(report_of(world.zj_amr, campaign), world, region=world.hangzhou)

    for client in (as_user(None), as_user(representative_of(factories.EnterpriseFactory()))):
        response = client.get("/api/v1/typical-cases/")
        assert response.status_code == 200
        assert ids(response) == [shown.pk]
        assert client.get(f"/api/v1/typical-cases/{hidden.pk}/").status_code == 404
    body = as_user(None).get(f"/api/v1/typical-cases/{shown.pk}/").json()
    assert body["title"] == "已发布案例"
    assert body["campaign"] == 2031
    assert body["department"]["id"] == world.gz_amr.pk


def test_published_cases_filter_by_arrangement_region_and_year(world, campaign):
    water = _published(world, campaign, world.gz_amr)
    fakes = _published(
        world, campaign, world.gz_amr, key_arrangement=campaign.key_arrangements.get(number=7)
    )
    zhejiang = _published(world, campaign, world.zj_amr, region=world.hangzhou)
    client = as_user(None)

    def shown(**query):
        return set(ids(client.get("/api/v1/typical-cases/", query)))

    assert shown(key_arrangement=7) == {fakes.pk}
    assert shown(region="440000") == {water.pk, fakes.pk}
    assert shown(region="330100") == {zhejiang.pk}
    assert shown(campaign=2031) == {water.pk, fakes.pk, zhejiang.pk}
    assert shown(campaign=2024) == set()


def test_a_published_cases_pictures_are_listed_with_their_urls(world, campaign):
    staff = staff_of(world.gz_amr)
    report = report_of(world.gz_amr, campaign)
    case = case_of(report, world)
    media_of(report, staff, case=case)
    report.status = ReportStatus.ACCEPTED
    report.save()
    services.case_publish(case, actor=factories.AdminFactory())

    [picture] = as_user(None).get(f"/api/v1/typical-cases/{case.pk}/").json()["media"]

    assert picture["kind"] == MediaKind.PICTURE
    assert picture["url"].startswith("http://testserver/feedback/media/")


# --- overdue tracking and reminders ------------------------------------------------------------


def test_a_provincial_reviewer_sees_who_has_reported_in_the_region(world, campaign):
    staff_of(world.gz_amr)
    report_of(world.gz_amr, campaign, status=ReportStatus.SUBMITTED)
    report_of(world.zj_amr, campaign)

    response = as_user(reviewer_for(world.guangdong)).get(
        "/api/v1/feedback-overview/", {"campaign": 2031}
    )

    assert response.status_code == 200
    rows = {row["department"]["id"]: row for row in response.json()["results"]}
    assert set(rows) == {world.gd_amr.pk, world.gz_amr.pk}
    assert rows[world.gd_amr.pk]["state"] == "not_started"
    assert rows[world.gd_amr.pk]["report"] is None
    assert rows[world.gz_amr.pk]["state"] == "submitted"
    assert rows[world.gz_amr.pk]["state_display"] == "Submitted for review"
    assert rows[world.gz_amr.pk]["staff_count"] == 1
    assert rows[world.gz_amr.pk]["overdue"] is False


def test_the_overview_filters_by_region_and_state(world, campaign):
    report_of(world.zj_amr, campaign)
    client = as_user(factories.AdminFactory())

    def shown(**query):
        response = client.get("/api/v1/feedback-overview/", query)
        assert response.status_code == 200
        return {row["department"]["id"] for row in response.json()["results"]}

    assert shown(region="330000") == {world.zj_amr.pk}
    assert shown(state="draft") == {world.zj_amr.pk}
    assert shown(state="not_started") == {world.samr.pk, world.gd_amr.pk, world.gz_amr.pk}
    # The past campaign: everyone is overdue.
    rows = client.get("/api/v1/feedback-overview/", {"campaign": 2024}).json()["results"]
    assert {row["overdue"] for row in rows} == {True}
    refused = client.get("/api/v1/feedback-overview/", {"region": "999999", "state": "lost"})
    assert refused.status_code == 400
    assert set(refused.json()) == {"region", "state"}


@pytest.mark.parametrize("role", ["staff", "enterprise"])
def test_only_reviewers_and_administrators_track_reports(world, campaign, role):
    person = (
        staff_of(world.gz_amr)
        if role == "staff"
        else representative_of(factories.EnterpriseFactory())
    )
    client = as_user(person)

    assert client.get("/api/v1/feedback-overview/").status_code == 403
    sent = client.post(
        "/api/v1/feedback-reminders/", {"departments": [world.gz_amr.pk]}, format="json"
    )
    assert sent.status_code == 403
    assert not FeedbackReminder.objects.exists()


def test_reminders_go_to_each_department_with_a_result_each(world, campaign, committed):
    gz_staff = staff_of(world.gz_amr)
    report_of(world.gd_amr, campaign, status=ReportStatus.SUBMITTED)
    reviewer = reviewer_for(world.guangdong)

    with committed():
        response = as_user(reviewer).post(
            "/api/v1/feedback-reminders/",
            {"campaign": 2031, "departments": [world.gz_amr.pk, world.gd_amr.pk, world.zj_amr.pk]},
            format="json",
        )

    assert response.status_code == 200
    results = {r["department"]["id"]: r for r in response.json()["results"]}
    assert results[world.gz_amr.pk] == {
        "department": results[world.gz_amr.pk]["department"],
        "sent": True,
        "recipients": 1,
        "detail": None,
        "code": None,
    }
    assert results[world.gd_amr.pk]["sent"] is False
    assert results[world.gd_amr.pk]["code"] == "already_submitted"
    assert results[world.zj_amr.pk]["code"] == "permission_denied"
    assert [m.to for m in mail.outbox] == [[gz_staff.email]]
    reminder = FeedbackReminder.objects.get()
    assert (reminder.department, reminder.sent_by) == (world.gz_amr, reviewer)


def test_a_reminder_needs_departments(world, campaign):
    response = as_user(factories.AdminFactory()).post(
        "/api/v1/feedback-reminders/", {"departments": []}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"departments"}


# --- query counts -------------------------------------------------------------------------------


def _reports(world, n):
    made = []
    for year in range(2031, 2031 + n):
        campaign = make_campaign(year)
        report = report_of(world.gz_amr, campaign)
        case_of(report, world)
        made.append(report)
    return made


@pytest.mark.parametrize("n", [1, 3])
def test_query_count_of_the_list(world, n, django_assert_num_queries):
    _reports(world, n)
    client = as_user(staff_of(world.gz_amr))

    with django_assert_num_queries(ROLES + PAGE):
        response = client.get(REPORTS)

    assert len(response.json()["results"]) == n


@pytest.mark.parametrize("n", [1, 3])
def test_query_count_of_the_list_for_a_reviewer(world, n, django_assert_num_queries):
    _reports(world, n)
    client = as_user(reviewer_for(world.guangdong))

    with django_assert_num_queries(ROLES + PAGE):
        response = client.get(REPORTS)

    assert len(response.json()["results"]) == n


@pytest.mark.parametrize("n", [1, 3])
def test_query_count_of_one_report(world, campaign, n, django_assert_num_queries):
    report = report_of(world.gz_amr, campaign)
    for _ in range(n):
        case_of(report, world)
    staff = staff_of(world.gz_amr)
    for index in range(n):
        media_of(report, staff, content=corpus.jpeg_bytes(size=(64 + index, 48)))
    client = as_user(staff)

    with django_assert_num_queries(ROLES + 1 + 4):  # + activities, cases, their media, media
        response = client.get(url(report))

    assert len(response.json()["cases"]) == n


@pytest.mark.parametrize("n", [1, 3])
def test_query_count_of_published_cases(world, campaign, n, django_assert_num_queries):
    for _ in range(n):
        _published(world, campaign, world.gz_amr)
    client = as_user(None)

    with django_assert_num_queries(PAGE + 1):  # + media
        response = client.get("/api/v1/typical-cases/")

    assert len(response.json()["results"]) == n


@pytest.mark.parametrize("n", [1, 3])
def test_query_count_of_a_reports_files(world, campaign, n, django_assert_num_queries):
    report = report_of(world.gz_amr, campaign)
    staff = staff_of(world.gz_amr)
    for index in range(n):
        media_of(report, staff, content=corpus.jpeg_bytes(size=(64 + index, 48)))
    client = as_user(staff)

    with django_assert_num_queries(ROLES + 1 + PAGE):  # + the report
        response = client.get(url(report, "media"))

    assert len(response.json()["results"]) == n


@pytest.mark.parametrize("n", [1, 3])
def test_query_count_of_the_overview(world, n, django_assert_num_queries):
    for index in range(n - 1):
        factories.DepartmentFactory(region=world.guangdong, name_zh=f"广东部门{index}")
    campaign = make_campaign(2031)
    client = as_user(reviewer_for(world.zhejiang))
    factories.DepartmentFactory.create_batch(n, region=world.hangzhou)

    with django_assert_num_queries(ROLES + 1 + 1):  # + the campaign, the departments
        response = client.get("/api/v1/feedback-overview/", {"campaign": campaign.year})

    assert response.json()["count"] == n + 1  # with Zhejiang's bureau


# --- the schema ---------------------------------------------------------------------------------


def test_the_schema_documents_every_feedback_operation(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]

    assert set(paths["/api/v1/feedback-reports/"]) == {"get", "post"}
    assert set(paths["/api/v1/feedback-reports/{id}/"]) == {"get", "patch"}
    for action in ("submit", "withdraw", "accept", "return", "reopen"):
        operation = paths[f"/api/v1/feedback-reports/{{id}}/{action}/"]["post"]
        assert {"200", "400", "403", "404", "409"} <= set(operation["responses"]), action
    assert set(paths["/api/v1/feedback-reports/{report_pk}/cases/{id}/"]) == {
        "get",
        "patch",
        "delete",
    }
    upload_operation = paths["/api/v1/feedback-reports/{report_pk}/media/"]["post"]
    assert "multipart/form-data" in upload_operation["requestBody"]["content"]
    assert "/api/v1/typical-cases/" in paths
    assert "/api/v1/feedback-overview/" in paths
    assert set(paths["/api/v1/feedback-reminders/"]) == {"post"}
