"""The report's workflow, typical cases, media and reminders, through feedback.services."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from PIL import Image

from feedback import services
from feedback.enums import MediaKind, MediaState, ReportStatus
from feedback.media_checks import MediaRefused
from feedback.models import FeedbackMedia, FeedbackReminder
from feedback.selectors import feedback_overview, report_review_queue
from qualitymonth.errors import DomainError, EditConflict, IllegalTransition, NotAllowed
from qualitymonth.models import AuditLogEntry, ReviewDecision
from tests.factories import (
    ActivityFactory,
    AdminFactory,
    CampaignFactory,
    DepartmentFactory,
    DepartmentMembershipFactory,
    FeedbackReportFactory,
    ProvinceFactory,
    ReviewerAssignmentFactory,
    TypicalCaseFactory,
    UserFactory,
)
from tests.feedback import corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Emails and background processing are queued on commit: run them as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def report():
    return FeedbackReportFactory()


def staff_of(department):
    return DepartmentMembershipFactory(department=department).user


def reviewer_of(region=None):
    return ReviewerAssignmentFactory(region=region).user


def write(tmp_path, name, content):
    return corpus.write(tmp_path, name, content)


def test_the_department_submits_and_the_provincial_reviewer_accepts(report, committed):
    staff = staff_of(report.department)
    reviewer = reviewer_of(report.department.region)
    with committed():
        services.report_submit(report, actor=staff, expected_version=report.version)
    assert report.status == ReportStatus.SUBMITTED
    assert report.submitted_at is not None
    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    assert list(report_review_queue(reviewer)) == [report]
    with committed():
        services.report_accept(report, actor=reviewer)
    assert report.status == ReportStatus.ACCEPTED
    assert ReviewDecision.objects.get().reviewer == reviewer
    assert mail.outbox[-1].to == [staff.email]


def test_a_reviewer_of_another_province_may_not_review(report):
    staff = staff_of(report.department)
    services.report_submit(report, actor=staff)
    other = reviewer_of(ProvinceFactory())
    assert list(report_review_queue(other)) == []
    with pytest.raises(NotAllowed):
        services.report_accept(report, actor=other)
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED


def test_returned_with_field_comments_then_edited_and_resubmitted_shows_the_diff(report):
    staff = staff_of(report.department)
    reviewer = reviewer_of()
    services.report_submit(report, actor=staff)
    services.report_return(report, actor=reviewer, field_comments={"participants": "请核实人数"})
    assert report.status == ReportStatus.RETURNED
    services.report_update(report, actor=staff, participants=3000, expected_version=report.version)
    changes = services.FEEDBACK_WORKFLOW.changes_since_last_review(report)
    assert [(c["field"], c["before"], c["after"]) for c in changes] == [
        ("participants", "3400", "3000")
    ]
    services.report_submit(report, actor=staff)
    assert report.status == ReportStatus.SUBMITTED


def test_an_incomplete_report_is_refused_per_field():
    report = FeedbackReportFactory(summary="", participants=None)
    staff = staff_of(report.department)
    with pytest.raises(ValidationError) as refused:
        services.report_submit(report, actor=staff)
    assert set(refused.value.message_dict) == {"summary", "participants"}
    report.refresh_from_db()
    assert report.status == ReportStatus.DRAFT


def test_the_deadline_refuses_a_late_first_submission_until_extended():
    campaign = CampaignFactory(year=2024)  # deadline 2024-10-31, long past
    report = FeedbackReportFactory(campaign=campaign)
    staff = staff_of(report.department)
    with pytest.raises(DomainError) as refused:
        services.report_submit(report, actor=staff)
    assert refused.value.code == "deadline_passed"
    services.report_extend_deadline(
        department=report.department,
        campaign=campaign,
        until=dt.date(2099, 1, 1),
        actor=AdminFactory(),
        reason="因汛情延期",
    )
    report.refresh_from_db()
    services.report_submit(report, actor=staff)
    assert report.status == ReportStatus.SUBMITTED


def test_a_stale_edit_is_refused_and_nothing_changes(report):
    staff = staff_of(report.department)
    services.report_update(report, actor=staff, summary="第一版", expected_version=1)
    with pytest.raises(EditConflict):
        services.report_update(report, actor=staff, summary="旧表单", expected_version=1)
    report.refresh_from_db()
    assert report.summary == "第一版"


def test_a_submitted_report_cannot_be_edited_and_a_second_decision_is_refused(report):
    staff = staff_of(report.department)
    services.report_submit(report, actor=staff)
    with pytest.raises(DomainError):
        services.report_update(report, actor=staff, summary="改")
    services.report_accept(report, actor=reviewer_of())
    with pytest.raises(IllegalTransition):
        services.report_return(report, actor=reviewer_of(), comment="x")


def test_covered_activities_must_be_the_departments_own_published_ones(report):
    staff = staff_of(report.department)
    own = ActivityFactory(campaign=report.campaign, organiser=report.department)
    other = ActivityFactory(campaign=report.campaign)
    services.report_update(report, actor=staff, activities=[own])
    assert list(report.activities.all()) == [own]
    with pytest.raises(ValidationError):
        services.report_update(report, actor=staff, activities=[own, other])
    assert list(report.activities.all()) == [own]


def test_pictures_are_stored_without_gps_and_processed(report, tmp_path, committed):
    staff = staff_of(report.department)
    with committed():
        media = services.media_add(
            report, actor=staff, path=write(tmp_path, "photo.jpg", corpus.jpeg_with_gps()),
            original_name="现场照片.jpg",
        )  # fmt: skip
    media.refresh_from_db()
    assert media.kind == MediaKind.PICTURE and media.state == MediaState.READY
    with media.file.open("rb") as f, Image.open(f) as image:
        assert not image.getexif()
    assert media.thumbnail.name
    assert AuditLogEntry.objects.filter(action="feedback.media.added").count() == 1


def test_the_same_file_twice_in_one_report_is_recognised(report, tmp_path):
    staff = staff_of(report.department)
    case = TypicalCaseFactory(report=report)
    content = corpus.pdf_bytes()
    services.media_add(
        report, actor=staff, path=write(tmp_path, "a.pdf", content), original_name="总结.pdf"
    )
    with pytest.raises(MediaRefused) as refused:
        services.media_add(
            report, actor=staff, path=write(tmp_path, "b.pdf", content), original_name="副本.pdf"
        )
    assert refused.value.code == "duplicate"
    assert "总结.pdf" in str(refused.value.message)
    with pytest.raises(MediaRefused) as refused:
        services.media_add(
            report, actor=staff, path=write(tmp_path, "c.pdf", corpus.pdf_bytes(extra=b"%x")),
            original_name="c.pdf", case=case,
        )  # fmt: skip
    assert refused.value.code == "document_in_case"
    assert FeedbackMedia.objects.count() == 1


def test_a_refused_file_leaves_no_file_behind(report, tmp_path):
    staff = staff_of(report.department)
    path = write(tmp_path, "page.jpg", b"<html><script>alert(1)</script></html>")
    with pytest.raises(MediaRefused):
        services.media_add(report, actor=staff, path=path, original_name="page.jpg")
    assert not path.exists()
    assert FeedbackMedia.objects.count() == 0


def test_publishing_needs_an_accepted_report_and_consent(report):
    staff = staff_of(report.department)
    reviewer = reviewer_of()
    case = TypicalCaseFactory(report=report, publication_consent=True)
    private = TypicalCaseFactory(report=report, publication_consent=False)
    with pytest.raises(DomainError):
        services.case_publish(case, actor=reviewer)
    services.report_submit(report, actor=staff)
    services.report_accept(report, actor=reviewer)
    assert services.case_may_publish(case, reviewer)
    assert not services.case_may_publish(private, reviewer)  # no consent
    assert not services.case_may_publish(case, staff)  # not a reviewer
    services.case_publish(case, actor=reviewer)
    assert case.published_at is not None
    assert services.case_may_unpublish(case, reviewer) and not services.case_may_publish(
        case, reviewer
    )
    with pytest.raises(DomainError):
        services.case_publish(private, actor=reviewer)
    services.report_reopen(report, actor=reviewer, comment="数字有误")
    case.refresh_from_db()
    assert case.published_at is None


def test_overview_reminders_and_the_periodic_task(committed):
    campaign = CampaignFactory(year=2031)
    province = ProvinceFactory()
    late = DepartmentFactory(region=province)
    done = DepartmentFactory(region=province)
    staff_of(late)
    report = FeedbackReportFactory(campaign=campaign, department=done)
    services.report_submit(report, actor=staff_of(done))
    admin = AdminFactory()
    rows = {r.department: r for r in feedback_overview(admin, campaign, region=province)}
    assert rows[late].state == "not_started" and rows[done].state == "submitted"
    mail.outbox.clear()
    with committed():
        services.reminder_send(campaign=campaign, department=late, actor=admin)
    assert len(mail.outbox) == 1
    with pytest.raises(DomainError):
        services.reminder_send(campaign=campaign, department=done, actor=admin)
    day = campaign.feedback_deadline - dt.timedelta(days=3)
    services.reminders_send_due(today=day)
    services.reminders_send_due(today=day)  # twice the same day: once
    assert FeedbackReminder.objects.filter(department=late, kind="automatic").count() == 1
    assert not FeedbackReminder.objects.filter(department=done).exists()
    assert feedback_overview(admin, campaign, region=province)[0].reminder_count >= 1
    assert UserFactory  # (imported for helpers' tests)
