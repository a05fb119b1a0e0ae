"""Resumable chunked uploads, the panel's plain form, the media panel and the clean-up task."""

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from feedback import media_checks, tasks, uploads
from feedback.enums import MediaKind, MediaState, ReportStatus, UploadState
from feedback.models import FeedbackMedia, FeedbackReport, FeedbackUpload
from qualitymonth.models import AuditLogEntry
from tests.factories import (
    DepartmentMembershipFactory,
    FeedbackReportFactory,
    ReviewerAssignmentFactory,
    TypicalCaseFactory,
)
from tests.feedback import corpus

pytestmark = pytest.mark.django_db

CHUNK = 1024


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    """Partial files beside the private storage (one file system, as in production); small
    chunks, so that small samples arrive in several."""
    settings.FEEDBACK_UPLOAD_DIR = str(tmp_path / "partial-uploads")
    settings.FEEDBACK_UPLOAD_CHUNK_BYTES = CHUNK


@pytest.fixture(autouse=True)
def no_ffmpeg(monkeypatch, request):
    """Videos are checked by their signature only, whether or not ffmpeg is installed (the test
    that needs the real tools says so)."""
    if "real_ffmpeg" not in request.fixturenames:
        monkeypatch.setattr(media_checks, "find_executable", lambda name: None)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def report():
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


@pytest.fixture
def client(staff):
    return client_of(staff)


def mp4_of(size: int) -> bytes:
    """An MP4 by its signature (ftyp box) whose mdat box fills it up to `size` bytes."""
    head = corpus.mp4_bytes()[:-40]  # the ftyp box alone
    payload = size - len(head) - 8
    pattern = bytes(range(256)) * (payload // 256 + 1)
    return head + struct.pack(">I", payload + 8) + b"mdat" + pattern[:payload]


def noisy_jpeg() -> bytes:
    """A photo-like JPEG of several kilobytes (noise does not compress)."""
    buffer = io.BytesIO()
    Image.effect_noise((200, 150), 80).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def start(client, report, name, size, case=None):
    body = {"report": report.pk, "name": name, "size": size}
    if case is not None:
        body["case"] = case.pk
    return client.post(
        reverse("feedback:upload_start"), json.dumps(body), content_type="application/json"
    )


def send(client, url, offset, data: bytes):
    return client.generic(
        "PATCH",
        url,
        data,
        content_type="application/offset+octet-stream",
        headers={"upload-offset": str(offset)},
    )


def upload_all(client, url, content: bytes, *, start_at=0):
    """Send `content` from `start_at` in chunks; the last answer."""
    offset = start_at
    answer = None
    while offset < len(content):
        answer = send(client, url, offset, content[offset : offset + CHUNK])
        assert answer.status_code in (200, 201), answer.content
        offset = int(answer["Upload-Offset"])
    return answer


def stored_bytes(media: FeedbackMedia) -> bytes:
    with media.file.open("rb") as f:
        return f.read()


def actions_on(obj) -> list[str]:
    return list(
        AuditLogEntry.objects.filter(object_id=str(obj.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )


# --- the resumable protocol -----------------------------------------------------------------


def test_a_picture_arrives_in_several_chunks_and_is_stored(client, report, committed):
    content = noisy_jpeg()
    started = start(client, report, "现场照片.jpg", len(content))
    assert started.status_code == 201
    body = started.json()
    assert body["offset"] == 0 and body["chunk_size"] == CHUNK
    assert started["Location"] == body["url"]
    assert len(content) > 2 * CHUNK  # several chunks
    offset = 0
    while offset + CHUNK < len(content):
        answer = send(client, body["url"], offset, content[offset : offset + CHUNK])
        assert answer.status_code == 200
        offset += CHUNK
        assert answer["Upload-Offset"] == str(offset)
    with committed():
        last = send(client, body["url"], offset, content[offset:])
    assert last.status_code == 201
    media_json = last.json()["media"]
    assert media_json["name"] == "现场照片.jpg" and media_json["kind"] == "picture"
    assert "现场照片.jpg" in media_json["html"]
    media = FeedbackMedia.objects.get(pk=media_json["id"])
    assert media.report == report and media.case is None and media.kind == MediaKind.PICTURE
    assert media.state == MediaState.READY and media.thumbnail  # processed on commit
    upload = FeedbackUpload.objects.get(pk=body["id"])
    assert upload.state == UploadState.COMPLETE and upload.media == media
    assert upload.received == len(content)
    assert not uploads.partial_path(upload).exists()
    assert actions_on(upload) == ["feedback.upload.started", "feedback.upload.finished"]
    assert "feedback.media.added" in actions_on(media)


def test_a_video_arrives_in_several_chunks_byte_for_byte(client, report):
    content = mp4_of(10 * CHUNK + 123)
    body = start(client, report, "活动视频.mp4", len(content)).json()
    last = upload_all(client, body["url"], content)
    assert last.status_code == 201
    media = FeedbackMedia.objects.get(pk=last.json()["media"]["id"])
    assert media.kind == MediaKind.VIDEO and media.format == "mp4" and not media.probed
    assert media.sha256 == hashlib.sha256(content).hexdigest()
    assert stored_bytes(media) == content
    assert media.file.name.startswith("video/") and "活动视频" not in media.file.name


def test_a_case_gets_its_own_video(client, report):
    case = TypicalCaseFactory(report=report)
    content = mp4_of(3 * CHUNK)
    body = start(client, report, "case.mp4", len(content), case=case).json()
    upload_all(client, body["url"], content)
    assert FeedbackMedia.objects.get().case == case


def test_an_interrupted_upload_continues_where_it_stopped(report, staff):
    content = mp4_of(6 * CHUNK + 500)
    first = client_of(staff)
    body = start(first, report, "long.mp4", len(content)).json()
    for offset in (0, CHUNK):
        assert send(first, body["url"], offset, content[offset : offset + CHUNK]).status_code == 200
    del first  # the browser crashed; a new one asks how far the upload got

    again = client_of(staff)
    status = again.head(body["url"])
    assert status.status_code == 200 and status.content == b""
    assert status["Upload-Offset"] == str(2 * CHUNK)
    assert status["Upload-Length"] == str(len(content))
    assert again.get(body["url"]).json()["offset"] == 2 * CHUNK
    last = upload_all(again, body["url"], content, start_at=2 * CHUNK)
    assert last.status_code == 201
    media = FeedbackMedia.objects.get()
    assert hashlib.sha256(stored_bytes(media)).hexdigest() == hashlib.sha256(content).hexdigest()


def test_an_upload_continued_by_another_web_process_gets_the_right_checksum(client, report):
    """Each web process keeps the running checksum of the chunks it wrote; another process
    continuing the upload has none, and the finished file is read once more."""
    content = mp4_of(4 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    send(client, body["url"], 0, content[:CHUNK])
    uploads._RUNNING_SHA256.clear()  # the next chunks reach another process
    last = upload_all(client, body["url"], content, start_at=CHUNK)
    media = FeedbackMedia.objects.get(pk=last.json()["media"]["id"])
    assert media.sha256 == hashlib.sha256(content).hexdigest()


class CutOff(io.RawIOBase):
    """A request body whose connection breaks after `keep` bytes."""

    def __init__(self, data: bytes, keep: int):
        self.data, self.keep, self.position = data, keep, 0

    def read(self, size=-1):
        if self.position >= self.keep:
            raise OSError("connection reset by peer")
        piece = self.data[self.position : min(self.position + size, self.keep)]
        self.position += len(piece)
        return piece


def test_the_bytes_of_a_chunk_cut_off_midway_are_kept(report, staff):
    content = mp4_of(2 * CHUNK)
    upload = uploads.upload_start(report, actor=staff, original_name="v.mp4", size=len(content))
    uploads.upload_append(
        upload, actor=staff, offset=0, length=CHUNK, stream=CutOff(content[:CHUNK], 700)
    )
    assert uploads.upload_offset(upload) == 700
    uploads.upload_append(
        upload, actor=staff, offset=700, length=CHUNK, stream=io.BytesIO(content[700 : 700 + CHUNK])
    )
    uploads.upload_append(
        upload,
        actor=staff,
        offset=700 + CHUNK,
        length=len(content) - 700 - CHUNK,
        stream=io.BytesIO(content[700 + CHUNK :]),
    )
    upload.refresh_from_db()
    assert upload.state == UploadState.COMPLETE
    assert stored_bytes(upload.media) == content


def test_a_partial_file_shorter_than_recorded_resumes_from_the_disk(report, staff):
    """The server stopped before the last chunk reached the disk: continue from what is there."""
    content = mp4_of(3 * CHUNK)
    upload = uploads.upload_start(report, actor=staff, original_name="v.mp4", size=len(content))
    uploads.upload_append(
        upload, actor=staff, offset=0, length=CHUNK, stream=io.BytesIO(content[:CHUNK])
    )
    with open(uploads.partial_path(upload), "r+b") as f:
        f.truncate(300)
    assert uploads.upload_offset(upload) == 300


def test_a_chunk_at_the_wrong_offset_is_refused_with_the_current_offset(client, report):
    content = mp4_of(4 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    send(client, body["url"], 0, content[:CHUNK])
    for wrong in (0, 2 * CHUNK):
        answer = send(client, body["url"], wrong, content[wrong : wrong + CHUNK])
        assert answer.status_code == 409
        assert answer["Upload-Offset"] == str(CHUNK)
        assert answer.json()["offset"] == CHUNK and answer.json()["code"] == "offset_mismatch"
    assert os.path.getsize(uploads.partial_path(FeedbackUpload.objects.get())) == CHUNK
    missing = client.generic("PATCH", body["url"], content[:CHUNK])
    assert missing.status_code == 400 and "Upload-Offset" in missing.json()["error"]


def test_a_chunk_larger_than_allowed_is_refused(client, report):
    content = mp4_of(4 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    answer = send(client, body["url"], 0, content[: CHUNK + 1])
    assert answer.status_code == 413
    assert str(CHUNK) in answer.json()["error"]
    assert answer["Upload-Offset"] == "0"
    assert FeedbackUpload.objects.get().received == 0


def test_more_bytes_than_declared_are_refused(client, report):
    body = start(client, report, "v.mp4", 100).json()
    answer = send(client, body["url"], 0, mp4_of(200))
    assert answer.status_code == 409
    assert "100" in answer.json()["error"]


def test_a_bad_file_sent_in_chunks_is_refused_naming_it_and_the_reason(client, report, staff):
    content = b"<!DOCTYPE html><html><body>" + b"x" * (2 * CHUNK) + b"</body></html>"
    body = start(client, report, "page.jpg", len(content)).json()
    send(client, body["url"], 0, content[:CHUNK])
    send(client, body["url"], CHUNK, content[CHUNK : 2 * CHUNK])
    answer = send(client, body["url"], 2 * CHUNK, content[2 * CHUNK :])
    assert answer.status_code == 400
    assert answer.json()["code"] == "type_mismatch"
    assert answer.json()["error"] == "“page.jpg” is named .jpg but its content is in HTML format."
    upload = FeedbackUpload.objects.get()
    assert upload.state == UploadState.REFUSED and upload.refusal == answer.json()["error"]
    assert not uploads.partial_path(upload).exists()
    assert not FeedbackMedia.objects.exists()
    assert actions_on(upload) == ["feedback.upload.started", "feedback.upload.refused"]
    assert client.get(body["url"]).json()["error"] == answer.json()["error"]
    # A refused upload takes no more bytes.
    assert send(client, body["url"], len(content), b"x").status_code == 409


@pytest.mark.parametrize(
    ("name", "size", "code", "words"),
    [
        ("setup.exe", 5000, "unsupported_type", "is not an accepted type"),
        ("logo.svg", 5000, "svg", "SVG"),
        ("video", 5000, "no_extension", "has no file extension"),
        ("huge.mp4", 3 * 1024**3, "too_large", "larger than"),
        ("empty.jpg", 0, "empty", "is empty"),
    ],
)
def test_what_the_name_and_size_tell_is_refused_before_any_byte(
    client, report, name, size, code, words
):
    answer = start(client, report, name, size)
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert name in answer.json()["error"] and words in answer.json()["error"]
    assert not FeedbackUpload.objects.exists()
    assert AuditLogEntry.objects.filter(
        action="feedback.upload.refused", object_id=str(report.pk)
    ).exists()


def test_a_document_is_refused_for_a_case(client, report):
    case = TypicalCaseFactory(report=report)
    answer = start(client, report, "summary.pdf", 5000, case=case)
    assert answer.status_code == 400 and answer.json()["code"] == "document_in_case"


def test_errors_are_in_the_persons_language(report, staff):
    client = client_of(staff)
    client.cookies["django_language"] = "zh-hans"
    answer = start(client, report, "setup.exe", 10)
    assert answer.status_code == 400
    assert "setup.exe" in answer.json()["error"]
    assert "is not an accepted type" not in answer.json()["error"]


def test_the_uploader_cancels(client, report, committed):
    content = mp4_of(3 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    send(client, body["url"], 0, content[:CHUNK])
    upload = FeedbackUpload.objects.get()
    assert uploads.partial_path(upload).exists()
    with committed():
        answer = client.delete(body["url"])
    assert answer.status_code == 204
    upload.refresh_from_db()
    assert upload.state == UploadState.ABANDONED
    assert not uploads.partial_path(upload).exists()
    assert actions_on(upload)[-1] == "feedback.upload.abandoned"
    assert send(client, body["url"], CHUNK, content[CHUNK : 2 * CHUNK]).status_code == 409


# --- who may upload -----------------------------------------------------------------------------


def test_another_departments_staff_do_not_find_the_report(report):
    stranger = DepartmentMembershipFactory().user
    assert start(client_of(stranger), report, "v.mp4", 100).status_code == 404


def test_reviewers_may_not_upload(report):
    reviewer = ReviewerAssignmentFactory(region=report.department.region).user
    answer = start(client_of(reviewer), report, "v.mp4", 100)
    assert answer.status_code == 403


def test_nobody_uploads_to_a_submitted_report(client, report, staff):
    content = mp4_of(3 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    FeedbackReport.objects.filter(pk=report.pk).update(status=ReportStatus.SUBMITTED)
    refused = start(client, report, "v2.mp4", 100)
    assert refused.status_code == 403
    assert "cannot be changed now" in refused.json()["error"]
    assert send(client, body["url"], 0, content[:CHUNK]).status_code == 403


def test_an_expired_session_gets_a_json_answer(report):
    answer = start(client_of(None), report, "v.mp4", 100)
    assert answer.status_code == 403
    assert "Sign in again" in answer.json()["error"]


def test_only_the_uploader_continues_an_upload(client, report):
    content = mp4_of(3 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    colleague = client_of(DepartmentMembershipFactory(department=report.department).user)
    assert colleague.head(body["url"]).status_code == 404
    assert send(colleague, body["url"], 0, content[:CHUNK]).status_code == 404
    assert colleague.delete(body["url"]).status_code == 404
    assert FeedbackUpload.objects.get().state == UploadState.UPLOADING


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_chunks_sent_at_once_cannot_both_append(settings, tmp_path):
    """The row lock: the second chunk waits for the first, then finds the offset moved on."""
    report = FeedbackReportFactory()
    staff = DepartmentMembershipFactory(department=report.department).user
    upload = uploads.upload_start(report, actor=staff, original_name="v.mp4", size=4 * CHUNK)
    barrier = threading.Barrier(2, timeout=30)
    outcomes = {}

    class Slow(io.RawIOBase):
        def __init__(self, byte):
            self.byte, self.left = byte, CHUNK

        def read(self, size=-1):
            time.sleep(0.2)  # hold the lock a while
            piece = self.byte * min(size, self.left, 256)
            self.left -= len(piece)
            return piece

    def work(name, byte):
        try:
            barrier.wait()
            found = FeedbackUpload.objects.get(pk=upload.pk)
            uploads.upload_append(found, actor=staff, offset=0, length=CHUNK, stream=Slow(byte))
            outcomes[name] = "appended"
        except uploads.UploadOffsetMismatch as error:
            outcomes[name] = error.offset
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n, b)) for n, b in (("a", b"a"), ("b", b"b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values(), key=str) == [CHUNK, "appended"]
    data = uploads.partial_path(upload).read_bytes()
    assert data in (b"a" * CHUNK, b"b" * CHUNK)
    upload.refresh_from_db()
    assert upload.received == CHUNK


# --- the form without JavaScript ------------------------------------------------------------


def test_the_plain_form_keeps_good_files_and_names_each_refused_one(client, report, committed):
    page = io.BytesIO(b"<!DOCTYPE html><html><body>hello</body></html>")
    page.name = "page.jpg"
    photo = io.BytesIO(corpus.jpeg_bytes())
    photo.name = "photo.jpg"
    clip = io.BytesIO(mp4_of(5000))
    clip.name = "clip.mp4"
    back = reverse("feedback:report_edit", args=[report.campaign.year])
    with committed():
        answer = client.post(
            reverse("feedback:media_upload", args=[report.pk]),
            {"files": [photo, page, clip], "next": back},
        )
    assert answer.status_code == 302 and answer["Location"] == back
    shown = [str(m) for m in get_messages(answer.wsgi_request)]
    assert "“page.jpg” is named .jpg but its content is in HTML format." in shown
    assert "“photo.jpg” was added." in shown and "“clip.mp4” was added." in shown
    assert sorted(FeedbackMedia.objects.values_list("original_name", flat=True)) == [
        "clip.mp4",
        "photo.jpg",
    ]


def test_a_large_form_upload_streams_to_a_temporary_file_that_is_consumed(
    client, report, settings, tmp_path
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # larger files go to a temporary file
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "form-temp")
    os.makedirs(settings.FILE_UPLOAD_TEMP_DIR)
    clip = io.BytesIO(mp4_of(50_000))
    clip.name = "clip.mp4"
    client.post(reverse("feedback:media_upload", args=[report.pk]), {"files": [clip]})
    assert FeedbackMedia.objects.get().size == 50_000
    assert os.listdir(settings.FILE_UPLOAD_TEMP_DIR) == []


def test_the_plain_form_of_another_department_is_not_found(report):
    photo = io.BytesIO(corpus.jpeg_bytes())
    photo.name = "photo.jpg"
    stranger = client_of(DepartmentMembershipFactory().user)
    answer = stranger.post(reverse("feedback:media_upload", args=[report.pk]), {"files": [photo]})
    assert answer.status_code == 404
    assert not FeedbackMedia.objects.exists()


def test_deleting_a_file_and_changing_its_caption(client, report, staff, tmp_path, committed):
    media = add_media(report, staff, tmp_path, 1)[0]
    answer = client.post(
        reverse("feedback:media_caption", args=[media.pk]), {"caption": "开幕式现场"}
    )
    assert answer.status_code == 302
    media.refresh_from_db()
    assert media.caption == "开幕式现场"
    stored = media.file.name
    assert media.file.storage.exists(stored)
    with committed():
        answer = client.post(reverse("feedback:media_delete", args=[media.pk]))
    assert answer.status_code == 302
    assert "“照片0.jpg” was deleted." in [str(m) for m in get_messages(answer.wsgi_request)]
    assert not FeedbackMedia.objects.exists()
    assert not media.file.storage.exists(stored)


def test_a_reviewer_may_not_delete_a_file(report, staff, tmp_path):
    media = add_media(report, staff, tmp_path, 1)[0]
    reviewer = client_of(ReviewerAssignmentFactory(region=report.department.region).user)
    assert reviewer.post(reverse("feedback:media_delete", args=[media.pk])).status_code == 403
    stranger = client_of(DepartmentMembershipFactory().user)
    assert stranger.post(reverse("feedback:media_delete", args=[media.pk])).status_code == 404
    assert FeedbackMedia.objects.exists()


# --- the media panel ----------------------------------------------------------------------------

PANEL = Template(
    '{% include "feedback/_media_panel.html" with report=report case=case may_edit=may_edit %}'
)


def render_panel(rf, user, report, case=None, may_edit=True) -> str:
    request = rf.get("/workspace/feedback/")
    request.user = user
    from django.middleware.csrf import get_token

    get_token(request)
    return PANEL.render(
        Context({"report": report, "case": case, "may_edit": may_edit, "request": request})
    )


def add_media(report, staff, tmp_path, n, **fields):
    from feedback import services

    made = []
    for i in range(n):
        path = corpus.write(tmp_path, "x", noisy_jpeg())
        media = services.media_add(report, actor=staff, path=path, original_name=f"照片{i}.jpg")
        if fields:
            FeedbackMedia.objects.filter(pk=media.pk).update(**fields)
        made.append(media)
    return made


def test_the_panel_lists_each_file_with_its_state(rf, report, staff, tmp_path):
    add_media(report, staff, tmp_path, 1)
    failed = add_media(report, staff, tmp_path, 1, state=MediaState.FAILED, failure="bad frame")[0]
    FeedbackMedia.objects.filter(pk=failed.pk).update(original_name="坏的.jpg")
    with translation.override("en"):
        html = render_panel(rf, staff, report)
    assert "照片0.jpg" in html and "坏的.jpg" in html
    assert "Being processed" in html  # the first is still processing (nothing committed)
    assert "no thumbnail could be made" in html and "bad frame" in html
    assert html.count("Delete") >= 2
    assert 'enctype="multipart/form-data"' in html and "data-uploader" in html
    assert "js/uploader.js" in html and "<script>" not in html


def test_the_panel_read_only_has_no_forms(rf, report, staff, tmp_path):
    add_media(report, staff, tmp_path, 1)
    html = render_panel(rf, staff, report, may_edit=False)
    assert "照片0.jpg" in html
    assert "<form" not in html


def test_a_cases_panel_shows_its_own_files_and_offers_no_documents(rf, report, staff, tmp_path):
    case = TypicalCaseFactory(report=report)
    add_media(report, staff, tmp_path, 1)
    html = render_panel(rf, staff, report, case=case)
    assert "照片0.jpg" not in html
    assert ".pdf" not in html and ".mp4" in html
    assert f'name="case" value="{case.pk}"' in html


@pytest.mark.parametrize("count", [1, 3])
def test_the_panel_reads_a_fixed_number_of_queries(
    rf, report, staff, tmp_path, count, django_assert_num_queries
):
    add_media(report, staff, tmp_path, count)
    prefetched = FeedbackReport.objects.prefetch_related("media").get(pk=report.pk)
    with django_assert_num_queries(0):
        html = render_panel(rf, staff, prefetched)
    assert html.count('class="media-item') == count


def test_the_panel_polls_a_file_being_processed(report, staff, tmp_path, client):
    media = add_media(report, staff, tmp_path, 1)[0]
    answer = client.get(reverse("feedback:media_status", args=[media.pk]))
    assert answer.status_code == 200
    assert answer.json()["state"] == "processing"
    assert answer.json()["state_display"] == "Being processed"
    stranger = client_of(DepartmentMembershipFactory().user)
    assert stranger.get(reverse("feedback:media_status", args=[media.pk])).status_code == 404


# --- the periodic clean-up ------------------------------------------------------------------


def test_the_clean_up_abandons_old_uploads_and_deletes_stray_files(
    client, report, settings, committed
):
    content = mp4_of(3 * CHUNK)
    old = start(client, report, "old.mp4", len(content)).json()
    send(client, old["url"], 0, content[:CHUNK])
    fresh = start(client, report, "fresh.mp4", len(content)).json()
    send(client, fresh["url"], 0, content[:CHUNK])
    long_ago = timezone.now() - dt.timedelta(hours=settings.FEEDBACK_UPLOAD_ABANDONED_HOURS + 1)
    FeedbackUpload.objects.filter(pk=old["id"]).update(updated_at=long_ago)
    folder = Path(settings.FEEDBACK_UPLOAD_DIR)
    orphan = folder / ("0" * 32 + ".part")  # no upload owns it
    orphan.write_bytes(b"x")
    old_scratch = folder / "tmpcrashed.jpg"
    old_scratch.write_bytes(b"x")
    os.utime(old_scratch, (long_ago.timestamp(), long_ago.timestamp()))
    new_scratch = folder / "tmpworking.jpg"
    new_scratch.write_bytes(b"x")

    with committed():
        result = tasks.clean_up_abandoned_uploads()

    assert result["abandoned"] == 1
    old_upload = FeedbackUpload.objects.get(pk=old["id"])
    fresh_upload = FeedbackUpload.objects.get(pk=fresh["id"])
    assert old_upload.state == UploadState.ABANDONED
    assert fresh_upload.state == UploadState.UPLOADING
    assert not uploads.partial_path(old_upload).exists()
    assert uploads.partial_path(fresh_upload).exists()
    assert not orphan.exists() and not old_scratch.exists()
    assert new_scratch.exists()
    entry = AuditLogEntry.objects.filter(object_id=old["id"]).order_by("pk").last()
    assert entry.action == "feedback.upload.abandoned" and entry.actor is None
    # The uploader's browser is told, and may start again.
    answer = send(client, old["url"], CHUNK, content[CHUNK : 2 * CHUNK])
    assert answer.status_code == 409 and "Abandoned" in answer.json()["error"]


def test_media_stuck_being_processed_are_processed_again(report, staff, tmp_path):
    stuck = add_media(report, staff, tmp_path, 1)[0]  # its job never ran (nothing committed)
    recent = add_media(report, staff, tmp_path, 1)[0]
    FeedbackMedia.objects.filter(pk=stuck.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=2)
    )
    result = tasks.clean_up_abandoned_uploads()
    assert result["media_requeued"] == 1
    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert stuck.state == MediaState.READY and stuck.thumbnail
    assert recent.state == MediaState.PROCESSING


def test_the_clean_up_is_scheduled(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["feedback-abandoned-uploads"]
    assert schedule["task"] == tasks.clean_up_abandoned_uploads.name


# --- with the real ffmpeg -----------------------------------------------------------------------


@pytest.fixture
def real_ffmpeg():
    if not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
        pytest.skip("ffmpeg is not installed (./portal test installs it with apt-get)")


def test_a_real_video_is_probed_and_gets_a_poster_frame(
    real_ffmpeg, client, report, tmp_path, committed
):
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=10",
         "-pix_fmt", "yuv420p", "-c:v", "mpeg4", str(clip)],
        check=True,
    )  # fmt: skip
    content = clip.read_bytes()
    body = start(client, report, "开幕式.mp4", len(content)).json()
    with committed():
        last = upload_all(client, body["url"], content)
    media = FeedbackMedia.objects.get(pk=last.json()["media"]["id"])
    assert media.probed and media.codec == "mpeg4"
    assert (media.width, media.height) == (320, 240)
    assert media.duration == pytest.approx(2, abs=0.2)
    assert media.state == MediaState.READY and media.poster and media.thumbnail


def test_a_file_that_only_looks_like_a_video_is_refused_by_the_probe(real_ffmpeg, client, report):
    content = mp4_of(3 * CHUNK)
    body = start(client, report, "fake.mp4", len(content)).json()
    send(client, body["url"], 0, content[:CHUNK])
    send(client, body["url"], CHUNK, content[CHUNK : 2 * CHUNK])
    answer = send(client, body["url"], 2 * CHUNK, content[2 * CHUNK :])
    assert answer.status_code == 400
    assert answer.json()["error"] == "“fake.mp4” cannot be read as a video."


def test_too_many_uploads_answer_429_with_the_wait_in_the_readers_language(
    client, report, staff, settings
):
    from django.core.cache import caches

    caches["ratelimit"].clear()
    settings.FEEDBACK_UPLOAD_RATE_PER_USER = "2/h"
    for n in range(2):
        assert start(client, report, f"clip{n}.mp4", 1000).status_code == 201
    refused = start(client, report, "clip3.mp4", 1000)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert "at most 2 files in" in refused.json()["detail"]
    assert int(refused["Retry-After"]) > 0
    # The plain form and the API share the count.
    form = client.post(reverse("feedback:media_upload", args=[report.pk]), {})
    assert form.status_code == 429
    api = client.post(f"/api/v1/feedback-reports/{report.pk}/media/", {})
    assert api.status_code == 429
    assert FeedbackUpload.objects.count() == 2
