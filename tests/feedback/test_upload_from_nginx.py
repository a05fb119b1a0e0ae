"""Upload chunks handed over by nginx as files (FEEDBACK_UPLOAD_BODY_FROM_NGINX).

The reference nginx (deploy/nginx/qualitymonth.conf) writes a chunk's body to a file in its body
folder and passes the file's name and the chunk's length instead of the body. The portal takes
the chunk from that file only when the setting is on and the request came from a trusted proxy,
only from that folder, and only at the announced length. The last test sends a video through a
real nginx running the site's upload location."""

import hashlib
import http.client
import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

from feedback import media_checks, uploads
from feedback.enums import UploadState
from feedback.models import FeedbackMedia, FeedbackUpload
from tests.deploy.test_nginx import NGINX, upload_front
from tests.factories import DepartmentMembershipFactory, FeedbackReportFactory
from tests.feedback.test_uploads import client_of, mp4_of, send, start, stored_bytes

pytestmark = pytest.mark.django_db

CHUNK = 1024
NGINX_ADDRESS = "10.0.0.2"


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.FEEDBACK_UPLOAD_DIR = str(tmp_path / "partial-uploads")
    settings.FEEDBACK_UPLOAD_NGINX_BODY_DIR = str(tmp_path / "upload-bodies")
    settings.FEEDBACK_UPLOAD_BODY_FROM_NGINX = True
    settings.FEEDBACK_UPLOAD_CHUNK_BYTES = CHUNK
    settings.TRUSTED_PROXIES = [NGINX_ADDRESS]
    (tmp_path / "upload-bodies").mkdir()


@pytest.fixture(autouse=True)
def no_ffmpeg(monkeypatch):
    """Videos are checked by their signature only (their bytes are the point here)."""
    monkeypatch.setattr(media_checks, "find_executable", lambda name: None)


@pytest.fixture
def body_dir(settings) -> Path:
    return Path(settings.FEEDBACK_UPLOAD_NGINX_BODY_DIR)


@pytest.fixture
def report():
    return FeedbackReportFactory()


@pytest.fixture
def staff(report):
    return DepartmentMembershipFactory(department=report.department).user


@pytest.fixture
def client(staff):
    return client_of(staff)


def body_file(folder: Path, data: bytes) -> Path:
    """A chunk's body as nginx leaves it: a file with a number for a name."""
    path = folder / f"{time.monotonic_ns():010d}"
    path.write_bytes(data)
    return path


def nginx_sends(client, url, offset, data, *, folder, remote=NGINX_ADDRESS, length=None, name=None):
    """A chunk as the reference nginx passes it: no body, the file's name and the chunk's length
    in headers. The file is deleted after the answer (nginx's "clean")."""
    path = body_file(folder, data)
    try:
        return client.generic(
            "PATCH",
            url,
            b"",
            content_type="application/offset+octet-stream",
            headers={
                "upload-offset": str(offset),
                "x-upload-body-file": str(name or path),
                "x-upload-body-length": str(len(data) if length is None else length),
            },
            REMOTE_ADDR=remote,
        )
    finally:
        path.unlink()


def upload_through_nginx(client, url, content, *, folder, start_at=0):
    offset, answer = start_at, None
    while offset < len(content):
        answer = nginx_sends(client, url, offset, content[offset : offset + CHUNK], folder=folder)
        assert answer.status_code in (200, 201), answer.content
        assert int(answer["Upload-Offset"]) > offset, "the chunk was not taken"
        offset = int(answer["Upload-Offset"])
    return answer


def received() -> int:
    return FeedbackUpload.objects.get().received


# --- taken from nginx's file -----------------------------------------------------------------


def test_a_video_is_taken_from_the_files_nginx_wrote_and_stored_byte_for_byte(
    client, report, body_dir, monkeypatch
):
    checksums = []
    media_add = uploads.services.media_add

    def media_add_noting_the_checksum(*args, **kwargs):
        checksums.append(kwargs["sha256"])
        return media_add(*args, **kwargs)

    monkeypatch.setattr(uploads.services, "media_add", media_add_noting_the_checksum)
    content = mp4_of(5 * CHUNK + 77)
    body = start(client, report, "开幕式.mp4", len(content)).json()
    last = upload_through_nginx(client, body["url"], content, folder=body_dir)
    assert last.status_code == 201
    media = FeedbackMedia.objects.get(pk=last.json()["media"]["id"])
    # Hashed chunk by chunk as they came (in the background), not read again at the end.
    assert checksums == [hashlib.sha256(content).hexdigest()]
    assert media.sha256 == hashlib.sha256(content).hexdigest()
    assert stored_bytes(media) == content
    upload = FeedbackUpload.objects.get()
    assert upload.state == UploadState.COMPLETE and upload.received == len(content)
    assert not uploads.partial_path(upload).exists()


def test_the_checksum_is_right_when_another_web_process_continues(client, report, body_dir):
    content = mp4_of(4 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    nginx_sends(client, body["url"], 0, content[:CHUNK], folder=body_dir)
    uploads._RUNNING_SHA256.clear()  # the next chunks reach another process
    last = upload_through_nginx(client, body["url"], content, folder=body_dir, start_at=CHUNK)
    media = FeedbackMedia.objects.get(pk=last.json()["media"]["id"])
    assert media.sha256 == hashlib.sha256(content).hexdigest()


def test_chunks_from_nginx_and_from_the_body_mix_in_one_upload(client, report, body_dir):
    """A node without nginx in front (or the setting switched on midway) continues the same
    upload: both ways append to the same partial file."""
    content = mp4_of(3 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    nginx_sends(client, body["url"], 0, content[:CHUNK], folder=body_dir)
    send(client, body["url"], CHUNK, content[CHUNK : 2 * CHUNK])
    last = nginx_sends(client, body["url"], 2 * CHUNK, content[2 * CHUNK :], folder=body_dir)
    assert last.status_code == 201
    assert stored_bytes(FeedbackMedia.objects.get()) == content


def test_a_chunk_from_nginx_at_the_wrong_offset_answers_409_with_the_offset(
    client, report, body_dir
):
    content = mp4_of(3 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    nginx_sends(client, body["url"], 0, content[:CHUNK], folder=body_dir)
    answer = nginx_sends(client, body["url"], 0, content[:CHUNK], folder=body_dir)
    assert answer.status_code == 409
    assert answer.json()["offset"] == CHUNK and answer["Upload-Offset"] == str(CHUNK)


def test_a_chunk_from_nginx_larger_than_allowed_is_refused(client, report, body_dir):
    content = mp4_of(3 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    answer = nginx_sends(client, body["url"], 0, content[: CHUNK + 1], folder=body_dir)
    assert answer.status_code == 413 and answer["Upload-Offset"] == "0"


# --- who is believed -------------------------------------------------------------------------


def test_a_body_file_named_from_an_untrusted_address_is_ignored(client, report, body_dir):
    """Anyone may send the header straight to a web node: the body counts, not the file."""
    content = mp4_of(2 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    planted = body_file(body_dir, b"\0" * CHUNK)
    answer = client.generic(
        "PATCH",
        body["url"],
        content[:CHUNK],
        content_type="application/offset+octet-stream",
        headers={
            "upload-offset": "0",
            "x-upload-body-file": str(planted),
            "x-upload-body-length": str(CHUNK),
        },
        REMOTE_ADDR="10.0.0.9",
    )
    assert answer.status_code == 200 and answer["Upload-Offset"] == str(CHUNK)
    partial = uploads.partial_path(FeedbackUpload.objects.get())
    assert partial.read_bytes() == content[:CHUNK]


def test_a_body_file_is_ignored_while_the_setting_is_off(
    client, report, body_dir, settings, caplog
):
    settings.FEEDBACK_UPLOAD_BODY_FROM_NGINX = False
    content = mp4_of(2 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    planted = body_file(body_dir, b"\0" * CHUNK)
    with caplog.at_level(logging.WARNING, logger="feedback.upload_views"):
        answer = client.generic(
            "PATCH",
            body["url"],
            content[:CHUNK],
            content_type="application/offset+octet-stream",
            headers={"upload-offset": "0", "x-upload-body-file": str(planted)},
            REMOTE_ADDR=NGINX_ADDRESS,
        )
    assert answer.status_code == 200
    partial = uploads.partial_path(FeedbackUpload.objects.get())
    assert partial.read_bytes() == content[:CHUNK]
    assert "FEEDBACK_UPLOAD_BODY_FROM_NGINX is off" in caplog.text


@pytest.mark.parametrize("where", ["elsewhere", "dot-dot", "symlink", "relative", "the folder"])
def test_a_body_file_outside_nginxs_folder_is_refused(client, report, body_dir, tmp_path, where):
    content = mp4_of(2 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    secret = tmp_path / "secret"
    secret.write_bytes(b"s" * CHUNK)
    (body_dir / "link").symlink_to(secret)
    name = {
        "elsewhere": str(secret),
        "dot-dot": f"{body_dir}/../secret",
        "symlink": str(body_dir / "link"),
        "relative": "secret",
        "the folder": str(body_dir),
    }[where]
    answer = nginx_sends(client, body["url"], 0, content[:CHUNK], folder=body_dir, name=name)
    assert answer.status_code == 400
    assert answer.json()["code"] == "body_file_refused"
    assert "does not take it from" in answer.json()["error"]
    assert answer["Upload-Offset"] == "0" and received() == 0
    assert not uploads.partial_path(FeedbackUpload.objects.get()).exists()


def test_a_body_file_of_another_length_is_refused(client, report, body_dir):
    content = mp4_of(2 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    answer = nginx_sends(
        client, body["url"], 0, content[: CHUNK - 1], folder=body_dir, length=CHUNK
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "body_file_refused"
    assert answer.json()["error"] == (
        f"This part of the file arrived with {CHUNK - 1} bytes instead of {CHUNK}."
    )
    assert answer["Upload-Offset"] == "0" and received() == 0


def test_a_chunk_without_its_length_is_refused(client, report, body_dir):
    content = mp4_of(2 * CHUNK)
    body = start(client, report, "v.mp4", len(content)).json()
    path = body_file(body_dir, content[:CHUNK])
    answer = client.generic(
        "PATCH",
        body["url"],
        b"",
        content_type="application/offset+octet-stream",
        headers={"upload-offset": "0", "x-upload-body-file": str(path)},
        REMOTE_ADDR=NGINX_ADDRESS,
    )
    assert answer.status_code == 411 and received() == 0


# --- interruptions -----------------------------------------------------------------------------


def test_a_chunk_interrupted_while_appended_is_sent_again_and_the_file_is_whole(
    client, report, staff, body_dir, monkeypatch
):
    """The disk fails halfway through appending the second chunk: nothing of it counts, the
    status says where to continue, and the upload completes with the original's checksum."""
    content = mp4_of(4 * CHUNK + 10)
    body = start(client, report, "v.mp4", len(content)).json()
    nginx_sends(client, body["url"], 0, content[:CHUNK], folder=body_dir)

    copy_range = uploads._copy_range

    def half_then_fail(source, target, count, source_at, target_at):
        if source_at == 0:
            return copy_range(source, target, count // 2, source_at, target_at)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(uploads, "_copy_range", half_then_fail)
    second = body_file(body_dir, content[CHUNK : 2 * CHUNK])
    with pytest.raises(OSError, match="No space"):
        uploads.upload_append(
            FeedbackUpload.objects.get(),
            actor=staff,
            offset=CHUNK,
            length=CHUNK,
            body_file=str(second),
        )
    monkeypatch.setattr(uploads, "_copy_range", copy_range)  # the disk has room again
    status = client.head(body["url"])
    assert status["Upload-Offset"] == str(CHUNK)

    last = upload_through_nginx(client, body["url"], content, folder=body_dir, start_at=CHUNK)
    assert last.status_code == 201
    media = FeedbackMedia.objects.get()
    assert media.sha256 == hashlib.sha256(content).hexdigest()
    assert hashlib.sha256(stored_bytes(media)).hexdigest() == hashlib.sha256(content).hexdigest()


def test_the_clean_up_leaves_nginxs_folder_alone_inside_the_upload_folder(settings, tmp_path):
    folder = Path(settings.FEEDBACK_UPLOAD_DIR) / "upload-bodies"
    folder.mkdir(parents=True)
    settings.FEEDBACK_UPLOAD_NGINX_BODY_DIR = str(folder)
    long_ago = time.time() - 7 * 24 * 3600
    os.utime(folder, (long_ago, long_ago))
    uploads.uploads_clean_up()
    assert folder.is_dir()


# --- through a real nginx ------------------------------------------------------------------------


@pytest.fixture
def nginx_in_front(live_server, settings, tmp_path):
    """nginx with the reference site's upload location in front of the live server, on plain
    HTTP; yields its port."""
    if NGINX is None:
        pytest.skip("nginx is not installed (./portal test installs nginx-light)")
    folder = tmp_path / "nginx"
    folder.mkdir()
    body_dir = tmp_path / "upload-bodies"
    settings.FEEDBACK_UPLOAD_NGINX_BODY_DIR = str(body_dir)
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    port = free_port()
    web = urlsplit(live_server.url)
    config = folder / "nginx.conf"
    config.write_text(
        upload_front(
            listen=port,
            web=f"127.0.0.1:{web.port}",
            folder=folder,
            body_dir=body_dir,
        )
    )
    log = folder / "stderr.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(config), "-g", "daemon off;"], stderr=stderr
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {log.read_text()}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_a_video_goes_up_through_a_real_nginx_running_the_sites_upload_location(
    nginx_in_front, settings, tmp_path, monkeypatch
):
    settings.FEEDBACK_UPLOAD_CHUNK_BYTES = 64 * 1024

    def no_body_through_the_web_process(*args, **kwargs):
        raise AssertionError("a chunk's body reached the web process")

    monkeypatch.setattr(uploads, "_append", no_body_through_the_web_process)
    report = FeedbackReportFactory()
    staff = DepartmentMembershipFactory(department=report.department).user
    login = Client()
    login.force_login(staff)
    csrf = "nginxtestcsrfsecretnginxtestcsrf"  # 32 characters
    cookie = f"sessionid={login.cookies['sessionid'].value}; csrftoken={csrf}"
    content = mp4_of(200 * 1024 + 3)
    connection = http.client.HTTPConnection("127.0.0.1", nginx_in_front, timeout=30)

    def request(method, url, body=b"", **headers):
        connection.request(method, url, body, {"Cookie": cookie, "X-CSRFToken": csrf, **headers})
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()

    status, _, data = request(
        "POST",
        "/workspace/feedback/uploads/",
        json.dumps({"report": report.pk, "name": "现场.mp4", "size": len(content)}),
        **{"Content-Type": "application/json"},
    )
    assert status == 201, data
    url, offset = json.loads(data)["url"], 0
    while offset < len(content):
        piece = content[offset : offset + 64 * 1024]
        status, headers, data = request(
            "PATCH",
            url,
            piece,
            **{
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                # A client naming a file of its own: nginx overwrites the header.
                "X-Upload-Body-File": str(tmp_path / "planted"),
            },
        )
        assert status in (200, 201), data
        assert int(headers["Upload-Offset"]) == offset + len(piece)
        offset = int(headers["Upload-Offset"])
    assert status == 201
    connection.close()

    media = FeedbackMedia.objects.get(pk=json.loads(data)["media"]["id"])
    assert media.sha256 == hashlib.sha256(content).hexdigest()
    assert stored_bytes(media) == content
    # Every chunk came as a file of nginx's, which nginx deletes once it has finished the request:
    # just after the client has the answer, so give it a moment.
    body_dir = Path(settings.FEEDBACK_UPLOAD_NGINX_BODY_DIR)
    assert body_dir.is_dir()
    deadline = time.monotonic() + 5
    while any(body_dir.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(body_dir.iterdir())
