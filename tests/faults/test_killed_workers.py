"""A worker killed in the middle of a sign-up, an import or an upload leaves no half-written rows
and, once the clean-up tasks have run, no stray files (issue 6, "Under load").

Each test starts a real process (tests/faults/worker.py) on the test database, lets it do the
work up to a chosen point, kills it there with SIGKILL (no handler, no `finally`, no rollback
sent: the connection simply drops) and then looks at what is left, as the next request or the
periodic task would. PostgreSQL only: the worker needs a server that a second process can reach,
and the test needs rows the worker committed (a transactional test).
"""

import datetime as dt
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from activities import importing
from activities.models import Activity, ActivityImport, ActivityImportMode, ActivityImportStatus
from feedback import uploads
from feedback.enums import UploadState
from feedback.models import FeedbackMedia, FeedbackUpload, private_storage
from qualitymonth.models import AuditLogEntry
from registrations.models import Registration
from tests.activities.test_import import World, workbook
from tests.factories import (
    ActivityFactory,
    DepartmentMembershipFactory,
    EnterpriseRepresentativeFactory,
    FeedbackReportFactory,
)
from tests.feedback import corpus

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKER = Path(__file__).with_name("worker.py")
ROOT = WORKER.parents[2]
CHUNK = 128 * 1024


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.FEEDBACK_UPLOAD_DIR = str(tmp_path / "private-media" / "partial-uploads")
    settings.FEEDBACK_UPLOAD_CHUNK_BYTES = CHUNK


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def worker(settings, tmp_path, mail_dir):
    """run(job, args, at=None): run tests/faults/worker.py on the test database with this test's
    folders. With `at`, wait until it reaches that point, kill it (SIGKILL) and return its note;
    without, let it finish."""
    db = connection.settings_dict
    ready = tmp_path / "ready.json"  # written by the worker at its point
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/"
        + quote(db["NAME"]),
        "DATABASE_POOL": "false",
        "CONN_MAX_AGE": "0",
        "PORTAL_MODE": "development",
        "DEBUG": "false",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PRIVATE_MEDIA_ROOT": settings.STORAGES["private"]["OPTIONS"]["location"],
        "FEEDBACK_UPLOAD_DIR": settings.FEEDBACK_UPLOAD_DIR,
        "FEEDBACK_UPLOAD_CHUNK_BYTES": str(CHUNK),
        "EMAIL_URL": f"filemail:///{mail_dir}",  # django-environ drops one slash
        "CELERY_BROKER_URL": "",  # tasks run eagerly, in the worker
        "CACHE_URL": "locmemcache://",
        "RATELIMIT_CACHE_URL": "locmemcache://",
        "CURRENT_CAMPAIGN_CACHE_SECONDS": "0",
        "SENTRY_DSN": "",
        "FAULT_READY": str(ready),
    }

    def run(job: str, args: dict, *, at: str | None = None) -> dict:
        ready.unlink(missing_ok=True)
        process = subprocess.Popen(
            [sys.executable, str(WORKER)],
            cwd=ROOT,
            env={**env, "FAULT_JOB": job, "FAULT_ARGS": json.dumps(args), "FAULT_AT": at or ""},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            if at is None:
                out, err = process.communicate(timeout=120)
                assert process.returncode == 0 and "finished" in out, err[-3000:]
                return {}
            deadline = time.monotonic() + 120
            while not ready.exists():
                if process.poll() is not None:
                    pytest.fail(f"the worker ended before {at}: {process.stderr.read()[-3000:]}")
                assert time.monotonic() < deadline, f"the worker never reached {at}"
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            assert process.returncode == -signal.SIGKILL
            return json.loads(ready.read_text())
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stderr.close()

    return run


# --- sign-up ------------------------------------------------------------------------------------


@pytest.fixture
def seat():
    """An open 10-seat activity and a verified representative of an enterprise."""
    now = timezone.now()
    starts = now + dt.timedelta(days=10)
    activity = ActivityFactory(
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=3),
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=now + dt.timedelta(days=5),
        capacity=10,
        attendees_per_enterprise=2,
    )
    claim = EnterpriseRepresentativeFactory()
    return {"activity": activity.pk, "user": claim.user_id, "enterprise": claim.enterprise_id}


def registration_trail(activity_id: int) -> tuple[int, int, int]:
    """Registrations, seats taken and audit entries of registrations of the activity."""
    activity = Activity.objects.get(pk=activity_id)
    registrations = Registration.objects.filter(activity=activity)
    audited = AuditLogEntry.objects.filter(
        action__startswith="registrations.registration.",
        object_id__in=[str(pk) for pk in registrations.values_list("pk", flat=True)],
    ).count()
    return registrations.count(), activity.confirmed_count, audited


def test_a_sign_up_run_to_the_end_is_seen_whole(worker, seat, mail_dir):
    """The control: the same worker, not killed, leaves everything a sign-up makes."""
    worker("sign_up", seat)

    assert registration_trail(seat["activity"]) == (1, 1, 1)
    assert len(list(mail_dir.iterdir())) == 1  # the confirmation


def test_a_sign_up_killed_before_its_commit_leaves_nothing(worker, seat, mail_dir):
    worker("sign_up", seat, at="sign_up.before_commit")

    assert registration_trail(seat["activity"]) == (0, 0, 0)
    assert not AuditLogEntry.objects.filter(action__startswith="registrations.").exists()
    assert not mail_dir.exists() or not list(mail_dir.iterdir())
    # The seat is free: the enterprise signs up at once (no leftover row or lock refuses it).
    worker("sign_up", seat)
    assert registration_trail(seat["activity"]) == (1, 1, 1)


def test_a_sign_up_killed_after_its_one_statement_is_whole(worker, seat, mail_dir):
    """On PostgreSQL the sign-up is one statement, which commits whole or not at all: killed
    right after it, the registration, its seat and its audit entry are there; only the email,
    queued after the commit, is lost (the registration page shows the check-in code)."""
    worker("sign_up", seat, at="sign_up.after_the_statement")

    assert registration_trail(seat["activity"]) == (1, 1, 1)
    assert not mail_dir.exists() or not list(mail_dir.iterdir())


# --- import -------------------------------------------------------------------------------------

ROWS = 6


@pytest.fixture
def plan(tmp_path):
    """A bureau's staff and a workbook of six valid activities."""
    world = World()
    rows = [world.good_row(title=f"质量开放日（第{n}场）") for n in range(1, ROWS + 1)]
    path = tmp_path / "plan.xlsx"
    path.write_bytes(workbook(world, rows))
    return {"user": world.staff.pk, "file": str(path), "after_rows": ROWS // 2}


@pytest.mark.parametrize(
    ("at", "mode"),
    [
        ("import.checking", ActivityImportMode.ALL_OR_NOTHING),
        ("import.creating", ActivityImportMode.ALL_OR_NOTHING),
        ("import.creating", ActivityImportMode.VALID_AS_DRAFTS),
    ],
)
def test_an_import_killed_mid_way_creates_nothing_and_is_marked_failed_later(
    worker, plan, at, mode
):
    worker("import", {**plan, "mode": mode}, at=at)

    assert not Activity.objects.exists()
    job = ActivityImport.objects.get()
    assert job.status == ActivityImportStatus.RUNNING and job.rows_total == ROWS
    # A redelivered task leaves a started job alone, so it would say "running" for ever ...
    assert importing.activity_import_run(job.pk) == ActivityImportStatus.RUNNING
    assert importing.activity_imports_fail_stale() == 0  # ... not yet stale
    later = timezone.now() + dt.timedelta(minutes=61)
    # ... until the periodic task marks it failed, saying nothing was imported.
    assert importing.activity_imports_fail_stale(now=later) == 1

    job.refresh_from_db()
    assert job.status == ActivityImportStatus.ERROR and job.finished_at == later
    assert importing.in_language(job.failure, "en").startswith(
        "The import stopped before it finished"
    )
    entry = AuditLogEntry.objects.filter(action="activities.activityimport.finished").get()
    assert entry.actor is None and entry.changes["status"] == ["running", "error"]
    assert not Activity.objects.exists()


def test_an_import_killed_after_its_activities_committed_is_finished(worker, plan):
    worker("import", {**plan, "mode": ActivityImportMode.ALL_OR_NOTHING}, at="import.finishing")

    job = ActivityImport.objects.get()
    assert Activity.objects.count() == ROWS
    # The outcome committed with the activities: never "running" over imported activities.
    assert job.status == ActivityImportStatus.DONE and job.created_count == ROWS
    later = timezone.now() + dt.timedelta(minutes=61)
    assert importing.activity_imports_fail_stale(now=later) == 0


def test_stale_imports_are_checked_periodically(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["activities-stale-imports"]
    assert schedule["task"] == "activities.tasks.fail_stale_imports"
    assert schedule["schedule"] <= settings.ACTIVITY_IMPORT_STALE_MINUTES * 60


# --- upload -------------------------------------------------------------------------------------


CONTENT = corpus.pdf_bytes(extra=b"%" + b"quality month " * 25_000 + b"\n")  # about 350 KB


@pytest.fixture
def upload():
    report = FeedbackReportFactory()
    staff = DepartmentMembershipFactory(department=report.department).user
    return uploads.upload_start(report, actor=staff, original_name="总结.pdf", size=len(CONTENT))


def chunks(start: int = 0) -> list[tuple[int, int]]:
    return [(o, min(CHUNK, len(CONTENT) - o)) for o in range(start, len(CONTENT), CHUNK)]


def send(upload: FeedbackUpload, start: int) -> FeedbackUpload:
    """The uploader's browser resumes: it sends the rest, from `start`."""
    for offset, length in chunks(start):
        upload = uploads.upload_append(
            upload,
            actor=upload.created_by,
            offset=offset,
            length=length,
            stream=io.BytesIO(CONTENT[offset : offset + length]),
        )
    return upload


def on_disk(upload: FeedbackUpload) -> int:
    path = uploads.partial_path(upload)
    return path.stat().st_size if path.exists() else 0


def leftovers(settings) -> list[str]:
    folder = Path(settings.FEEDBACK_UPLOAD_DIR)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_every_media_has_its_file() -> None:
    storage = private_storage()
    for media in FeedbackMedia.objects.all():
        assert media.file and storage.exists(media.file.name), media.pk


def assert_complete(upload: FeedbackUpload) -> None:
    upload = FeedbackUpload.objects.select_related("media").get(pk=upload.pk)
    assert upload.state == UploadState.COMPLETE and upload.received == len(CONTENT)
    with upload.media.file.open("rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def client_file(tmp_path) -> str:
    path = tmp_path / "client" / "总结.pdf"  # the file on the uploader's computer
    path.parent.mkdir()
    path.write_bytes(CONTENT)
    return str(path)


def test_an_upload_killed_mid_chunk_resumes_from_the_bytes_counted(
    worker, upload, client_file, settings
):
    uploads.upload_append(  # the first chunk, committed
        upload, actor=upload.created_by, offset=0, length=CHUNK, stream=io.BytesIO(CONTENT)
    )
    note = worker(
        "upload",
        {
            "user": upload.created_by_id,
            "upload": str(upload.pk),
            "file": client_file,
            "chunks": [chunks()[1]],
            "stall_after": 64 * 1024,
        },
        at="upload.mid_chunk",
    )

    upload.refresh_from_db()
    assert note["handed_over"] == 64 * 1024
    # The half-written chunk's bytes may be on disk; the row never counts more than is there.
    assert upload.received == CHUNK <= on_disk(upload)
    assert on_disk(upload) > CHUNK  # killed while writing, indeed
    assert uploads.upload_offset(upload) == CHUNK

    send(upload, uploads.upload_offset(upload))
    assert_complete(upload)
    uploads.uploads_clean_up()
    assert leftovers(settings) == []
    assert_every_media_has_its_file()


def test_an_upload_killed_between_chunks_resumes(worker, upload, client_file, settings):
    worker(
        "upload",
        {
            "user": upload.created_by_id,
            "upload": str(upload.pk),
            "file": client_file,
            "chunks": chunks(),
        },
        at="upload.between_chunks",
    )

    upload.refresh_from_db()
    assert upload.received == CHUNK == on_disk(upload) == uploads.upload_offset(upload)
    send(upload, uploads.upload_offset(upload))
    assert_complete(upload)
    assert leftovers(settings) == []


def test_an_upload_killed_mid_chunk_and_never_resumed_is_cleaned_up(
    worker, upload, client_file, settings
):
    worker(
        "upload",
        {
            "user": upload.created_by_id,
            "upload": str(upload.pk),
            "file": client_file,
            "chunks": chunks()[:1],
            "stall_after": 64 * 1024,
        },
        at="upload.mid_chunk",
    )
    upload.refresh_from_db()
    assert upload.received == 0 and on_disk(upload) > 0
    settings.FEEDBACK_UPLOAD_ABANDONED_HOURS = 0

    result = uploads.uploads_clean_up()

    assert result["abandoned"] == 1
    upload.refresh_from_db()
    assert upload.state == UploadState.ABANDONED
    assert leftovers(settings) == []
    assert not FeedbackMedia.objects.exists()


def test_a_file_stored_by_a_worker_killed_before_its_commit_is_swept(
    worker, upload, client_file, settings
):
    storage = private_storage()
    complaint = storage.save("complaints/2030/01/evidence.pdf", ContentFile(b"evidence"))
    note = worker(
        "upload",
        {
            "user": upload.created_by_id,
            "upload": str(upload.pk),
            "file": client_file,
            "chunks": chunks(),
        },
        at="upload.stored",
    )

    orphan = note["stored"]
    assert storage.exists(orphan)  # in storage, moved there from the partial file ...
    assert not FeedbackMedia.objects.exists()  # ... but its row died with the worker
    assert not AuditLogEntry.objects.filter(action="feedback.media.added").exists()
    upload.refresh_from_db()
    assert upload.state == UploadState.UPLOADING
    # The partial file is gone (moved): the uploader starts again from the first byte.
    assert upload.received == 2 * CHUNK and on_disk(upload) == 0
    assert uploads.upload_offset(upload) == 0
    send(upload, 0)
    assert_complete(upload)
    kept = FeedbackMedia.objects.get().file.name

    assert uploads.uploads_clean_up()["orphans_deleted"] == 0  # stored under an hour ago
    assert storage.exists(orphan)
    result = uploads.uploads_clean_up(now=timezone.now() + dt.timedelta(hours=2))

    assert result["orphans_deleted"] == 1
    assert not storage.exists(orphan)
    assert storage.exists(kept) and storage.exists(complaint)  # named by a row; not media
    assert leftovers(settings) == []
    assert_every_media_has_its_file()
