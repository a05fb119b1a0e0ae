"""Serving stored media: who may see which file, byte ranges for the video player, the headers,
nginx's X-Accel-Redirect and signed addresses on object storage."""

import io
import struct

import pytest
from django.core.files.storage import FileSystemStorage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from feedback import media_checks, services
from feedback.enums import ReportStatus
from feedback.models import FeedbackMedia, FeedbackReport, TypicalCase
from tests.factories import (
    AdminFactory,
    DepartmentMembershipFactory,
    EnterpriseRepresentativeFactory,
    FeedbackReportFactory,
    ProvinceFactory,
    ReviewerAssignmentFactory,
    TypicalCaseFactory,
    UserFactory,
)
from tests.feedback import corpus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path, monkeypatch):
    settings.FEEDBACK_UPLOAD_DIR = str(tmp_path / "partial-uploads")
    settings.FEEDBACK_MEDIA_ACCEL_REDIRECT = ""
    monkeypatch.setattr(media_checks, "find_executable", lambda name: None)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def report():
    # A provincial bureau's report: reviewed by that province's reviewers and national ones.
    return FeedbackReportFactory()


@pytest.fixture
def staff(report):
    return DepartmentMembershipFactory(department=report.department).user


def client_of(user) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def video_bytes(size=4096) -> bytes:
    head = corpus.mp4_bytes()[:-40]
    payload = size - len(head) - 8
    filler = (bytes(range(256)) * (payload // 256 + 1))[:payload]
    return head + struct.pack(">I", payload + 8) + b"mdat" + filler


def add(report, staff, tmp_path, name, content, case=None) -> FeedbackMedia:
    path = corpus.write(tmp_path, "x", content)
    return services.media_add(report, actor=staff, path=path, original_name=name, case=case)


def file_url(media, variant="original"):
    return reverse("feedback:media_file", args=[media.pk, variant])


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- who may see -------------------------------------------------------------------------------

ROLES = [
    "anonymous",
    "enterprise",
    "department_staff",
    "other_department_staff",
    "provincial_reviewer",
    "other_provincial_reviewer",
    "national_reviewer",
    "admin",
]
MAY_SEE_UNPUBLISHED = {"department_staff", "provincial_reviewer", "national_reviewer", "admin"}


def person(role: str, report: FeedbackReport):
    if role == "anonymous":
        return None
    if role == "enterprise":
        return EnterpriseRepresentativeFactory().user
    if role == "department_staff":
        return DepartmentMembershipFactory(department=report.department).user
    if role == "other_department_staff":
        return DepartmentMembershipFactory().user
    if role == "provincial_reviewer":
        return ReviewerAssignmentFactory(region=report.department.region).user
    if role == "other_provincial_reviewer":
        return ReviewerAssignmentFactory(region=ProvinceFactory()).user
    if role == "national_reviewer":
        return ReviewerAssignmentFactory(region=None).user
    return AdminFactory()


def publish(case: TypicalCase) -> None:
    FeedbackReport.objects.filter(pk=case.report_id).update(status=ReportStatus.ACCEPTED)
    TypicalCase.objects.filter(pk=case.pk).update(published_at=timezone.now())


@pytest.mark.parametrize("role", ROLES)
def test_unpublished_media_only_to_the_department_its_reviewers_and_admins(
    role, report, staff, tmp_path
):
    case = TypicalCaseFactory(report=report)
    picture = add(report, staff, tmp_path, "现场.jpg", corpus.jpeg_bytes(), case=case)
    document = add(report, staff, tmp_path, "总结.pdf", corpus.pdf_bytes())
    client = client_of(person(role, report))
    expected = 200 if role in MAY_SEE_UNPUBLISHED else 404
    assert client.get(file_url(picture)).status_code == expected
    assert client.get(file_url(document)).status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_media_of_a_published_case_is_public_but_the_reports_own_files_are_not(
    role, report, staff, tmp_path
):
    case = TypicalCaseFactory(report=report, publication_consent=True)
    other_case = TypicalCaseFactory(report=report)
    shown = add(report, staff, tmp_path, "现场.jpg", corpus.jpeg_bytes(), case=case)
    unpublished = add(report, staff, tmp_path, "另一个.mp4", video_bytes(), case=other_case)
    document = add(report, staff, tmp_path, "总结.pdf", corpus.pdf_bytes())
    publish(case)
    client = client_of(person(role, report))
    assert client.get(file_url(shown)).status_code == 200
    hidden = 200 if role in MAY_SEE_UNPUBLISHED else 404
    assert client.get(file_url(unpublished)).status_code == hidden
    assert client.get(file_url(document)).status_code == hidden


def test_an_unknown_file_or_variant_is_not_found(report, staff, tmp_path):
    media = add(report, staff, tmp_path, "a.jpg", corpus.jpeg_bytes())
    client = client_of(staff)
    assert client.get(file_url(media, "source")).status_code == 404
    assert client.get(file_url(media, "poster")).status_code == 404  # a picture has none
    assert client.get(file_url(media, "thumbnail")).status_code == 404  # not made yet
    gone = file_url(media)
    media.delete()
    assert client.get(gone).status_code == 404


# --- what is sent -------------------------------------------------------------------------------


def test_a_picture_is_shown_inline_under_its_name_with_private_caching(
    report, staff, tmp_path, committed
):
    with committed():
        media = add(report, staff, tmp_path, "开幕式 现场.jpg", corpus.jpeg_with_gps())
    response = client_of(staff).get(file_url(media))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == (
        "inline; filename*=utf-8''%E5%BC%80%E5%B9%95%E5%BC%8F%20%E7%8E%B0%E5%9C%BA.jpg"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]  # never run as a page
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]
    assert response["Accept-Ranges"] == "bytes"
    original = body_of(response)
    served = Image.open(io.BytesIO(original))
    assert not served.getexif()  # stored without EXIF (and GPS)
    thumbnail = client_of(staff).get(file_url(media, "thumbnail"))
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"
    assert "thumbnail.jpg" in thumbnail["Content-Disposition"]
    web = client_of(staff).get(file_url(media, "web"))  # small: the picture itself
    assert body_of(web) == original


def test_a_document_is_downloaded_as_an_attachment(report, staff, tmp_path):
    media = add(report, staff, tmp_path, "summary.pdf", corpus.pdf_bytes())
    response = client_of(staff).get(file_url(media))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="summary.pdf"'
    assert body_of(response) == corpus.pdf_bytes()


def test_published_media_may_be_cached_publicly(report, staff, tmp_path):
    case = TypicalCaseFactory(report=report, publication_consent=True)
    media = add(report, staff, tmp_path, "clip.mp4", video_bytes(), case=case)
    publish(case)
    response = client_of(None).get(file_url(media))
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Disposition"].startswith("inline")
    assert "public" in response["Cache-Control"]


def test_an_unchanged_file_answers_not_modified(report, staff, tmp_path):
    media = add(report, staff, tmp_path, "clip.mp4", video_bytes())
    client = client_of(staff)
    first = client.get(file_url(media))
    again = client.get(file_url(media), headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""


# --- byte ranges (the video player seeks) ------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, 4095),
        ("bytes=-16", 4080, 4095),
        ("bytes=4000-99999", 4000, 4095),
    ],
)
def test_a_range_request_gets_that_part(report, staff, tmp_path, header, start, end):
    content = video_bytes(4096)
    media = add(report, staff, tmp_path, "clip.mp4", content)
    response = client_of(staff).get(file_url(media), headers={"range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/4096"
    assert response["Content-Length"] == str(end - start + 1)
    assert body_of(response) == content[start : end + 1]


def test_an_unsatisfiable_range_is_refused_and_an_odd_one_ignored(report, staff, tmp_path):
    content = video_bytes(4096)
    media = add(report, staff, tmp_path, "clip.mp4", content)
    client = client_of(staff)
    beyond = client.get(file_url(media), headers={"range": "bytes=5000-"})
    assert beyond.status_code == 416 and beyond["Content-Range"] == "bytes */4096"
    several = client.get(file_url(media), headers={"range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and body_of(several) == content
    stale = client.get(file_url(media), headers={"range": "bytes=0-9", "if-range": '"other"'})
    assert stale.status_code == 200 and body_of(stale) == content


def test_a_range_request_is_still_permission_checked(report, staff, tmp_path):
    media = add(report, staff, tmp_path, "clip.mp4", video_bytes())
    stranger = client_of(UserFactory())
    assert stranger.get(file_url(media), headers={"range": "bytes=0-9"}).status_code == 404


# --- nginx and object storage -------------------------------------------------------------------


def test_with_x_accel_redirect_nginx_sends_the_bytes(report, staff, tmp_path, settings):
    media = add(report, staff, tmp_path, "clip.mp4", video_bytes())
    settings.FEEDBACK_MEDIA_ACCEL_REDIRECT = "/protected/"
    response = client_of(staff).get(file_url(media))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected/" + media.file.name
    assert response.content == b""
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    stranger = client_of(DepartmentMembershipFactory().user)
    refused = stranger.get(file_url(media))
    assert refused.status_code == 404 and "X-Accel-Redirect" not in refused


class SignedUrlStorage(FileSystemStorage):
    """Stands in for S3: no local path, addresses signed for a short time."""

    def path(self, name):
        raise NotImplementedError

    def url(self, name, parameters=None, expire=None):
        disposition = (parameters or {}).get("ResponseContentDisposition", "")
        return f"https://bucket.example.cn/private/{name}?expires={expire}&d={disposition}"


def test_on_object_storage_the_person_is_sent_to_a_signed_address(
    report, staff, tmp_path, settings
):
    media = add(report, staff, tmp_path, "clip.mp4", video_bytes())
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": f"{__name__}.SignedUrlStorage",
            "OPTIONS": {"location": str(tmp_path / "private-media")},
        },
    }
    response = client_of(staff).get(file_url(media))
    assert response.status_code == 302
    assert response["Location"].startswith(f"https://bucket.example.cn/private/{media.file.name}")
    assert "expires=300" in response["Location"] and "inline" in response["Location"]
    assert response["Cache-Control"] == "private, no-store"
    assert client_of(None).get(file_url(media)).status_code == 404
