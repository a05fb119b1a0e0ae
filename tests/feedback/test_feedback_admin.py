"""The site administration of feedback: every model in it, read-mostly pages, audited corrections,
publishing through the review rules, constant changelist queries."""

import tempfile

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from feedback import services, uploads
from feedback.enums import ReportStatus
from feedback.models import (
    FeedbackMedia,
    FeedbackReminder,
    FeedbackReport,
    FeedbackUpload,
    TypicalCase,
)
from qualitymonth.models import AuditLogEntry
from tests import factories
from tests.feedback import corpus
from tests.qualitymonth.test_admin import form_data

pytestmark = pytest.mark.django_db

FEEDBACK_MODELS = list(apps.get_app_config("feedback").get_models())


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture(autouse=True)
def _scratch(settings, tmp_path):
    settings.FEEDBACK_UPLOAD_DIR = str(tmp_path / "partial-uploads")


@pytest.fixture
def superuser(client):
    user = factories.AdminFactory(email="admin@samr.example.cn")
    client.force_login(user)
    return user


def _add_picture(report, actor, case=None, size=(64, 48)) -> FeedbackMedia:
    fd, path = tempfile.mkstemp()
    with open(fd, "wb") as f:
        f.write(corpus.jpeg_bytes(size))
    return services.media_add(
        report, actor=actor, path=path, original_name="质量现场.jpg", case=case
    )


@pytest.fixture
def one_of_each(superuser):
    case = factories.TypicalCaseFactory(title="质量提升典型案例")
    report = case.report
    staff = factories.DepartmentMembershipFactory(department=report.department).user
    _add_picture(report, staff, case=case)
    uploads.upload_start(report, actor=staff, original_name="质量月.mp4", size=1000)
    services.reminder_send(
        campaign=factories.CampaignFactory(), department=report.department, actor=superuser
    )
    return report


def test_every_feedback_model_is_in_the_admin():
    assert [m.__name__ for m in FEEDBACK_MODELS if not admin.site.is_registered(m)] == []


@pytest.mark.parametrize("model", FEEDBACK_MODELS, ids=lambda m: m.__name__)
def test_changelist_search_and_change_pages_load_and_nothing_is_added_here(
    client, one_of_each, model
):
    assert model._default_manager.exists()
    assert client.get(admin_url(model, "changelist")).status_code == 200
    assert client.get(admin_url(model, "changelist"), {"q": "质量"}).status_code == 200
    obj = model._default_manager.first()
    assert client.get(admin_url(model, "change", obj.pk)).status_code == 200
    assert client.get(admin_url(model, "add")).status_code == 403


@pytest.mark.parametrize("model", [FeedbackMedia, FeedbackUpload, FeedbackReminder])
def test_records_cannot_be_changed_or_deleted(client, one_of_each, model):
    obj = model._default_manager.first()

    page = client.get(admin_url(model, "change", obj.pk)).content.decode()

    assert 'name="_save"' not in page
    assert client.get(admin_url(model, "delete", obj.pk)).status_code == 403


def test_the_media_page_links_to_the_permission_checked_file(client, one_of_each):
    media = FeedbackMedia.objects.get()

    page = client.get(admin_url(FeedbackMedia, "change", media.pk)).content.decode()
    listing = client.get(admin_url(FeedbackMedia, "changelist")).content.decode()

    link = reverse("feedback:media_file", kwargs={"pk": media.pk})
    assert f'href="{link}"' in page
    assert f'href="{link}"' in listing


def test_a_reports_state_and_version_are_not_editable(client, superuser):
    report = factories.FeedbackReportFactory(status=ReportStatus.SUBMITTED)

    response = client.get(admin_url(FeedbackReport, "change", report.pk))

    form = response.context["adminform"].form
    assert "status" not in form.fields
    assert "version" not in form.fields
    assert "summary" in form.fields


def test_correcting_a_report_is_audited_and_bumps_its_version(client, superuser):
    report = factories.FeedbackReportFactory(participants=3400)
    data = form_data(client.get(admin_url(FeedbackReport, "change", report.pk)))
    data["participants"] = "3000"

    response = client.post(admin_url(FeedbackReport, "change", report.pk), data)

    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.participants, report.version, report.status) == (3000, 2, ReportStatus.DRAFT)
    entry = AuditLogEntry.objects.get(action="feedback.feedbackreport.changed")
    assert entry.actor == superuser
    assert entry.changes == {"participants": [3400, 3000]}


def test_the_report_list_filters_by_campaign_and_status_and_finds_departments(client, superuser):
    shown = factories.FeedbackReportFactory(department__name_zh="广东省市场监督管理局")
    factories.FeedbackReportFactory(status=ReportStatus.SUBMITTED)
    url = admin_url(FeedbackReport, "changelist")

    def listed(**query):
        return {r.pk for r in client.get(url, query).context["cl"].result_list}

    assert listed(q="广东省") == {shown.pk}
    assert listed(status__exact="draft") == {shown.pk}
    assert listed(campaign__id__exact=shown.campaign_id) == {shown.pk}


def test_cases_are_published_only_through_the_review_rules(client, superuser):
    accepted = factories.TypicalCaseFactory(
        report=factories.FeedbackReportFactory(status=ReportStatus.ACCEPTED), title="可发布"
    )
    draft = factories.TypicalCaseFactory(title="草稿中的案例")
    url = admin_url(TypicalCase, "changelist")

    response = client.post(
        url,
        {"action": "publish_cases", "_selected_action": [accepted.pk, draft.pk]},
        follow=True,
    )

    accepted.refresh_from_db()
    draft.refresh_from_db()
    assert accepted.published_at is not None
    assert draft.published_at is None
    shown = [str(m) for m in response.context["messages"]]
    assert any("草稿中的案例" in m for m in shown)
    assert AuditLogEntry.objects.filter(action="feedback.case.published").count() == 1
    assert {c.pk for c in client.get(url, {"published": "yes"}).context["cl"].result_list} == {
        accepted.pk
    }


def _changelist_queries(client, model) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(admin_url(model, "changelist")).status_code == 200
    return len(queries)


def _grow(model, superuser):
    case = factories.TypicalCaseFactory()
    if model is FeedbackMedia:
        _add_picture(case.report, superuser, case=case)
    elif model is FeedbackReminder:
        services.reminder_send(
            campaign=case.report.campaign, department=case.report.department, actor=superuser
        )
    elif model is FeedbackUpload:
        uploads.upload_start(case.report, actor=superuser, original_name="a.mp4", size=10)


@pytest.mark.parametrize("model", FEEDBACK_MODELS, ids=lambda m: m.__name__)
def test_changelist_query_count_is_constant(client, superuser, model):
    _grow(model, superuser)
    with_one = _changelist_queries(client, model)
    _grow(model, superuser)
    _grow(model, superuser)
    assert _changelist_queries(client, model) == with_one
