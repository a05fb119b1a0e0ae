"""A worker of the portal in a process of its own, stopped at a chosen point so that a test can
kill it there (tests/faults/test_killed_workers.py). Not a test module.

    FAULT_JOB    what to do: sign_up, import or upload
    FAULT_ARGS   its arguments (JSON)
    FAULT_AT     where to stop and wait to be killed (a point named below); empty: run to the end
    FAULT_READY  the file written (with a JSON note) once the point is reached

The points are set by wrapping a function of the portal in this process only: nothing of it is
changed for any other process, and production code has no hook.
"""

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitymonth.settings")

ARGS = json.loads(os.environ.get("FAULT_ARGS") or "{}")
AT = os.environ.get("FAULT_AT", "")


def wait_to_be_killed(note: dict | None = None) -> None:
    ready = Path(os.environ["FAULT_READY"])
    scratch = ready.with_suffix(".tmp")
    scratch.write_text(json.dumps(note or {}))
    scratch.replace(ready)  # whole, at once
    while True:
        time.sleep(60)


def stop_after(module, name: str, point: str, *, calls: int = 1, when=None, note=None) -> None:
    """At point `point`, wrap `module.name`: once it has returned `calls` times (counting the
    calls `when(*args, **kwargs)` accepts), wait to be killed."""
    if point != AT:
        return
    original = getattr(module, name)
    seen = 0

    def wrapper(*args, **kwargs):
        nonlocal seen
        result = original(*args, **kwargs)
        if when is None or when(*args, **kwargs):
            seen += 1
            if seen >= calls:
                wait_to_be_killed(note(result) if note else None)
        return result

    setattr(module, name, wrapper)


def sign_up() -> None:
    from django.conf import settings

    from accounts.models import User
    from activities.models import Activity
    from registrations import services
    from registrations.models import Enterprise

    # Through the transaction other databases use: the seat, the registration and its attendees
    # written, the audit entry made, nothing committed.
    if AT == "sign_up.before_commit":
        settings.SIGNUP_ONE_STATEMENT = False
    stop_after(services, "_audit_entries", "sign_up.before_commit")
    # PostgreSQL's one statement has committed; the emails are not queued yet.
    stop_after(services, "_sign_up_in_one_statement", "sign_up.after_the_statement")
    services.registration_sign_up(
        Activity.objects.get(pk=ARGS["activity"]),
        actor=User.objects.get(pk=ARGS["user"]),
        enterprise=Enterprise.objects.get(pk=ARGS["enterprise"]),
        attendees=[{"name": "张三", "mobile": "13800138000"}],
        contact_name="李四",
        contact_mobile="13912345678",
    )


def import_() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import User
    from activities import importing

    rows = ARGS.get("after_rows", 1)
    stop_after(importing, "check_row", "import.checking", calls=rows)
    stop_after(importing, "activity_create", "import.creating", calls=rows)
    # The activities committed, the job's "finished" entry being written.
    stop_after(
        importing,
        "audit_log",
        "import.finishing",
        when=lambda obj, action, **kw: action == "activities.activityimport.finished",
    )
    content = Path(ARGS["file"]).read_bytes()
    upload = SimpleUploadedFile("plan.xlsx", content, content_type=importing.XLSX_CONTENT_TYPE)
    # Runs the task in this process once the upload commits (no broker: Celery is eager).
    importing.activity_import_start(
        actor=User.objects.get(pk=ARGS["user"]), upload=upload, mode=ARGS["mode"]
    )


class Trickle:
    """A request body that arrives in pieces and, at point upload.mid_chunk, stops arriving after
    `stall_after` bytes (the worker waits on the client, mid-chunk, when it is killed)."""

    def __init__(self, data: bytes, stall_after: int | None):
        self.data, self.position, self.stall_after = data, 0, stall_after

    def read(self, size: int) -> bytes:
        if self.stall_after is not None and self.position >= self.stall_after:
            wait_to_be_killed({"handed_over": self.position})
        piece = self.data[self.position : self.position + min(size, 64 * 1024)]
        self.position += len(piece)
        return piece


def upload() -> None:
    from accounts.models import User
    from feedback import services, uploads
    from feedback.models import FeedbackUpload

    stop_after(uploads, "upload_append", "upload.between_chunks")
    # In media_add: the file moved into private storage, its media row not yet committed.
    stop_after(services, "_store", "upload.stored", note=lambda name: {"stored": name})
    actor = User.objects.get(pk=ARGS["user"])
    data = Path(ARGS["file"]).read_bytes()
    target = FeedbackUpload.objects.get(pk=ARGS["upload"])
    for offset, length in ARGS["chunks"]:
        stall = ARGS.get("stall_after") if AT == "upload.mid_chunk" else None
        uploads.upload_append(
            target,
            actor=actor,
            offset=offset,
            length=length,
            stream=Trickle(data[offset : offset + length], stall),
        )


def main() -> None:
    import django

    django.setup()
    {"sign_up": sign_up, "import": import_, "upload": upload}[os.environ["FAULT_JOB"]]()
    print("finished")


if __name__ == "__main__":
    main()
