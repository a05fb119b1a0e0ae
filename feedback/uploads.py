"""Resumable uploads of feedback media: the services behind the chunked protocol.

The HTTP protocol (start, status, chunk, abort) is described in ``feedback/upload_views.py``; the
API calls these same functions. An upload (``FeedbackUpload``) is a session: its bytes wait in a
partial file ``<FEEDBACK_UPLOAD_DIR>/<id>.part``, appended chunk by chunk under a lock on the row,
until the last byte has arrived; then the file is checked and stored by ``services.media_add``
(moved into storage, a rename where both live on one file system) and the upload points at the
stored ``FeedbackMedia``.

Only the person who started an upload continues it, and only while they may change the report.
Every change of state is audited: ``feedback.upload.started``, ``.finished``, ``.refused``,
``.abandoned``. Uploads that receive no chunk for ``FEEDBACK_UPLOAD_ABANDONED_HOURS`` are
abandoned by ``uploads_clean_up`` (the periodic task ``clean_up_abandoned_uploads``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import re
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qualitymonth.audit import audit_log
from qualitymonth.errors import DomainError, NotAllowed

from . import media_checks, services
from .enums import MediaState, UploadState
from .models import FeedbackMedia, FeedbackReport, FeedbackUpload, TypicalCase, private_storage

logger = logging.getLogger(__name__)

BLOCK_SIZE = 1024 * 1024  # a chunk is read from the request and written in pieces of this size
PARTIAL_SUFFIX = ".part"
_PARTIAL_NAME = re.compile(r"^([0-9a-f]{32})\.part$")
# Media still "being processed" after this long lost its background job (a worker restarted).
MEDIA_PROCESSING_STUCK_AFTER = dt.timedelta(hours=1)
# A stored media file that no media row names this long after it was written was left by a
# worker killed between storing it and committing the row: nothing will ever serve it.
ORPHAN_MEDIA_FILE_AFTER = dt.timedelta(hours=1)
# The folders of private storage that hold feedback media (media_checks.random_storage_name):
# the three kinds, then thumbnails, web copies and poster frames. Nothing else is looked at.
MEDIA_STORAGE_FOLDERS = ("picture", "video", "document", "thumbnails", "web", "posters")

# The SHA-256 of each upload's bytes so far, kept by the process that wrote them, so that the
# finished file need not be read once more (a second for a gigabyte). Only a shortcut: a chunk
# handled by another process, or any doubt about the bytes on disk, drops it, and media_add then
# reads the file.
_RUNNING_SHA256: OrderedDict[str, tuple[int, object]] = OrderedDict()
_RUNNING_SHA256_LOCK = threading.Lock()
_RUNNING_SHA256_MAX = 100


class UploadOffsetMismatch(DomainError):
    """The chunk does not start where the bytes received so far end; `offset` says where."""

    code = "offset_mismatch"

    def __init__(self, offset: int):
        super().__init__(
            _("This part of the file does not continue where the upload stands (%(offset)s bytes).")
            % {"offset": offset}
        )
        self.offset = offset


class ChunkTooLarge(DomainError):
    code = "chunk_too_large"


class UploadNotActive(DomainError):
    """The upload was completed, refused or abandoned: it takes no more bytes."""

    code = "upload_not_active"


def chunk_size() -> int:
    return settings.FEEDBACK_UPLOAD_CHUNK_BYTES


def upload_dir() -> Path:
    directory = Path(settings.FEEDBACK_UPLOAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def partial_path(upload: FeedbackUpload) -> Path:
    return upload_dir() / f"{upload.pk.hex}{PARTIAL_SUFFIX}"


def upload_offset(upload: FeedbackUpload) -> int:
    """The bytes received so far: what the row says, unless the partial file is shorter (the
    server stopped before the last chunk reached the disk); the client continues from here."""
    if upload.state != UploadState.UPLOADING:
        return upload.received
    try:
        on_disk = partial_path(upload).stat().st_size
    except FileNotFoundError:
        on_disk = 0
    return min(upload.received, on_disk)


def _refuse_unless_may_upload(report: FeedbackReport, actor) -> None:
    if not actor.has_perm("feedback.change_report", report):
        raise NotAllowed(_("You may only change your own department's report."))
    if not services.report_may_edit(report, actor):
        raise DomainError(
            _("The report is “%(status)s” and cannot be changed now.")
            % {"status": report.get_status_display()},
            code="report_not_editable",
        )


def _refuse_unknown_type(original_name: str) -> None:
    """A name whose extension is never accepted is refused before any byte is sent, in the words
    the content check would use when the file is complete."""
    if media_checks._extension(original_name) not in media_checks.EXTENSIONS:
        # Raises for the name alone (no extension, an SVG, a type never accepted).
        media_checks.detect_kind(io.BytesIO(b"\x00"), original_name)


def upload_start(
    report: FeedbackReport,
    *,
    actor,
    original_name: str,
    size: int,
    case: TypicalCase | None = None,
) -> FeedbackUpload:
    """Open an upload of `size` bytes named `original_name` for the report (or one of its cases).

    Refuses (MediaRefused, naming the file) what its name and size already tell: a type never
    accepted, a file over the limit for its kind, a document for a case, an empty file. The
    refusal is audited on the report; a started upload is audited on itself."""
    _refuse_unless_may_upload(report, actor)
    if case is not None and case.report_id != report.pk:
        raise DomainError(_("This typical case belongs to another report."), code="wrong_case")
    display = media_checks.sanitise_filename(original_name)
    try:
        size = int(size)
    except (TypeError, ValueError):
        size = -1
    try:
        if size < 0:
            raise DomainError(
                _("The size of “%(name)s” is missing.") % {"name": display}, code="size_missing"
            )
        services.media_refuse_early(original_name=original_name, size=size, case=case)
        _refuse_unknown_type(original_name)
    except media_checks.MediaRefused as error:
        audit_log(
            report,
            "feedback.upload.refused",
            actor=actor,
            changes={"file": [display, ""], "size": [size, ""]},
            comment=f"{error.code}: {error}",
        )
        raise
    with transaction.atomic():
        upload = FeedbackUpload.objects.create(
            report=report, case=case, original_name=display, size=size, created_by=actor
        )
        audit_log(
            upload,
            "feedback.upload.started",
            actor=actor,
            changes={
                "file": ["", display],
                "size": ["", size],
                **({"case": ["", case.title]} if case else {}),
            },
        )
    return upload


def _locked(upload: FeedbackUpload, actor) -> FeedbackUpload:
    """The upload's row, locked until the transaction ends (so two chunks sent at once cannot
    both append), after refusing anyone but its uploader."""
    current = (
        FeedbackUpload.objects.select_for_update(of=("self",))
        .select_related("report__campaign", "case")
        .get(pk=upload.pk)
    )
    if current.created_by_id != actor.pk:
        raise NotAllowed(_("Only the person who started this upload may continue it."))
    return current


def _refuse_unless_uploading(upload: FeedbackUpload) -> None:
    if upload.state != UploadState.UPLOADING:
        raise UploadNotActive(
            _("The upload of “%(name)s” is already “%(state)s”.")
            % {"name": upload.original_name, "state": upload.get_state_display()}
        )


def _running_sha256(upload_id, offset: int):
    """The hash of the upload's first `offset` bytes if this process wrote them, else None."""
    with _RUNNING_SHA256_LOCK:
        known = _RUNNING_SHA256.pop(str(upload_id), None)
    if offset == 0:
        return hashlib.sha256()
    if known is not None and known[0] == offset:
        return known[1]
    return None


def _keep_running_sha256(upload_id, offset: int, digest) -> None:
    with _RUNNING_SHA256_LOCK:
        _RUNNING_SHA256[str(upload_id)] = (offset, digest)
        while len(_RUNNING_SHA256) > _RUNNING_SHA256_MAX:
            _RUNNING_SHA256.popitem(last=False)


def _append(path: Path, offset: int, stream, length: int, digest=None) -> int:
    """Write up to `length` bytes read from `stream` into `path` at `offset`, in blocks (adding
    them to `digest` if given); returns the bytes written (fewer when the client went away: what
    arrived is kept)."""
    mode = "r+b" if path.exists() else "wb"
    written = 0
    with open(path, mode) as f:
        f.seek(offset)
        f.truncate()  # bytes past the offset never counted (a chunk cut off by a crash)
        while written < length:
            try:
                block = stream.read(min(BLOCK_SIZE, length - written))
            except OSError:
                logger.info("An upload chunk was cut off after %s bytes", written)
                break
            if not block:
                break
            f.write(block)
            if digest is not None:
                digest.update(block)
            written += len(block)
    return written


def upload_append(
    upload: FeedbackUpload, *, actor, offset: int, length: int, stream
) -> FeedbackUpload:
    """Append one chunk of `length` bytes, read from `stream`, at `offset`.

    Steps: lock the upload's row; refuse anyone but the uploader, an upload no longer in
    progress, a report no longer editable, a chunk not starting at the bytes received so far
    (UploadOffsetMismatch with the offset to continue from), larger than
    FEEDBACK_UPLOAD_CHUNK_BYTES or past the declared size; write the bytes; save the offset.
    With the last byte the file is checked and stored (``services.media_add``): the upload is
    complete and points at the media, or refused (MediaRefused is raised after the refusal is
    saved and audited; the bytes are deleted)."""
    refused = None
    with transaction.atomic():
        current = _locked(upload, actor)
        _refuse_unless_uploading(current)
        _refuse_unless_may_upload(current.report, actor)
        received = upload_offset(current)
        if offset != received:
            raise UploadOffsetMismatch(received)
        if length > chunk_size():
            raise ChunkTooLarge(
                _("A part of at most %(limit)s bytes can be sent at once.")
                % {"limit": chunk_size()}
            )
        if offset + length > current.size:
            raise DomainError(
                _("More bytes were sent than “%(name)s” has (%(size)s bytes).")
                % {"name": current.original_name, "size": current.size},
                code="past_the_end",
            )
        if offset + length < current.size:
            _commit_without_waiting_for_the_disk()
        digest = _running_sha256(current.pk, offset)
        written = _append(partial_path(current), offset, stream, length, digest)
        current.received = offset + written
        current.save(update_fields=["received", "updated_at"])
        if current.received == current.size:
            refused = _finish(current, actor, digest.hexdigest() if digest else None)
        elif digest is not None:
            _keep_running_sha256(current.pk, current.received, digest)
    _copy_state(current, upload)
    if refused is not None:
        raise refused
    return upload


def _commit_without_waiting_for_the_disk() -> None:
    """A chunk's commit only moves the offset on. PostgreSQL need not wait for it to reach the
    disk (it competes with the upload's own writes): were it lost in a crash, the client resumes
    from the earlier offset and the bytes past it are written again. The last chunk's commit,
    which stores the file, waits as usual."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _copy_state(source: FeedbackUpload, target: FeedbackUpload) -> None:
    for field in ("received", "state", "refusal", "media_id", "updated_at"):
        setattr(target, field, getattr(source, field))
    if source.media_id:
        target.media = source.media


def _finish(upload: FeedbackUpload, actor, sha256: str | None) -> media_checks.MediaRefused | None:
    """Check and store the complete file (`sha256`: its checksum, if known); returns the refusal
    (already saved) or None."""
    path = partial_path(upload)
    with open(path, "rb") as f:
        os.fsync(f.fileno())  # the media row will say the file exists
    try:
        media = services.media_add(
            upload.report,
            actor=actor,
            path=path,
            original_name=upload.original_name,
            case=upload.case,
            sha256=sha256,
        )
    except media_checks.MediaRefused as error:
        upload.state = UploadState.REFUSED
        upload.refusal = str(error)
        upload.save(update_fields=["state", "refusal", "updated_at"])
        audit_log(
            upload,
            "feedback.upload.refused",
            actor=actor,
            changes={"state": [UploadState.UPLOADING, UploadState.REFUSED]},
            comment=f"{error.code}: {error}",
        )
        _delete_partial_on_commit(upload)
        return error
    upload.state = UploadState.COMPLETE
    upload.media = media
    upload.save(update_fields=["state", "media", "updated_at"])
    audit_log(
        upload,
        "feedback.upload.finished",
        actor=actor,
        changes={
            "state": [UploadState.UPLOADING, UploadState.COMPLETE],
            "media": ["", str(media.pk)],
            "sha256": ["", media.sha256],
        },
    )
    return None


def _delete_partial_on_commit(upload: FeedbackUpload) -> None:
    path = partial_path(upload)

    def _delete():
        try:
            path.unlink(missing_ok=True)
        except OSError:
            logger.warning("Could not delete %s", path)

    transaction.on_commit(_delete)


@transaction.atomic
def upload_abort(upload: FeedbackUpload, *, actor) -> FeedbackUpload:
    """The uploader gives up: the upload is abandoned and its bytes deleted."""
    current = _locked(upload, actor)
    _refuse_unless_uploading(current)
    _abandon(current, actor=actor, comment=_("Cancelled by the uploader."))
    _copy_state(current, upload)
    return upload


def _abandon(upload: FeedbackUpload, *, actor, comment) -> None:
    upload.state = UploadState.ABANDONED
    upload.save(update_fields=["state", "updated_at"])
    audit_log(
        upload,
        "feedback.upload.abandoned",
        actor=actor,
        changes={
            "state": [UploadState.UPLOADING, UploadState.ABANDONED],
            "received": [upload.received, upload.received],
        },
        comment=str(comment),
    )
    _delete_partial_on_commit(upload)


def upload_of(user, pk) -> FeedbackUpload | None:
    """The upload `pk` if `user` started it (nobody else sees it), else None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        FeedbackUpload.objects.filter(pk=pk, created_by=user)
        .select_related("report__campaign", "case", "media")
        .first()
    )


# --- the periodic clean-up ------------------------------------------------------------------


def uploads_clean_up(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Periodic: uploads without a chunk for FEEDBACK_UPLOAD_ABANDONED_HOURS are abandoned and
    their partial files deleted; files in FEEDBACK_UPLOAD_DIR that no upload in progress owns
    (and scratch files left by a crash, once as old) are deleted; media still being processed
    after MEDIA_PROCESSING_STUCK_AFTER are queued for processing again; stored media files no
    media row names, older than ORPHAN_MEDIA_FILE_AFTER, are deleted. Returns the counts."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.FEEDBACK_UPLOAD_ABANDONED_HOURS)
    abandoned = 0
    stale = FeedbackUpload.objects.filter(state=UploadState.UPLOADING, updated_at__lt=cutoff)
    for pk in stale.values_list("pk", flat=True):
        with transaction.atomic():
            # An upload receiving a chunk right now is locked: leave it alone.
            upload = (
                FeedbackUpload.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=UploadState.UPLOADING, updated_at__lt=cutoff)
                .first()
            )
            if upload is None:
                continue
            _abandon(
                upload,
                actor=None,
                comment=_("No part of the file arrived for %(hours)s hours.")
                % {"hours": settings.FEEDBACK_UPLOAD_ABANDONED_HOURS},
            )
            abandoned += 1
    files = _delete_leftover_files(cutoff)
    requeued = _requeue_stuck_media(now)
    orphans = _delete_orphan_media_files(now - ORPHAN_MEDIA_FILE_AFTER)
    if abandoned or files or requeued or orphans:
        logger.info(
            "Upload clean-up: %s abandoned, %s files deleted, %s media requeued, "
            "%s orphaned media files deleted",
            abandoned,
            files,
            requeued,
            orphans,
        )
    return {
        "abandoned": abandoned,
        "files_deleted": files,
        "media_requeued": requeued,
        "orphans_deleted": orphans,
    }


def _delete_leftover_files(cutoff: dt.datetime) -> int:
    directory = upload_dir()
    entries = list(os.scandir(directory))
    ids = [m.group(1) for e in entries if (m := _PARTIAL_NAME.match(e.name))]
    live = {
        pk.hex
        for pk in FeedbackUpload.objects.filter(
            pk__in=ids, state=UploadState.UPLOADING
        ).values_list("pk", flat=True)
    }
    oldest = cutoff.timestamp()
    deleted = 0
    for entry in entries:
        match = _PARTIAL_NAME.match(entry.name)
        try:
            if match:
                if match.group(1) in live:
                    continue
            elif entry.stat(follow_symlinks=False).st_mtime >= oldest:
                continue  # a scratch file or folder of work in progress
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            deleted += 1
        except FileNotFoundError:
            continue
        except OSError:
            logger.warning("Could not delete %s", entry.path)
    return deleted


def _stored_names(storage, folder: str):
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:  # local storage: nothing stored there yet
        return
    for name in files:
        yield f"{folder}/{name}"
    for sub in folders:
        yield from _stored_names(storage, f"{folder}/{sub}")


def _delete_orphan_media_files(written_before: dt.datetime) -> int:
    """Delete files in the media folders of private storage that no FeedbackMedia names (as its
    file, thumbnail, web copy or poster) and that were written before `written_before` (a file
    just stored waits for its row to commit)."""
    storage = private_storage()
    deleted = 0
    for folder in MEDIA_STORAGE_FOLDERS:
        names = list(_stored_names(storage, folder))
        for start in range(0, len(names), 1000):
            batch = names[start : start + 1000]
            named = set()
            for field in ("file", "thumbnail", "web_copy", "poster"):
                named.update(
                    FeedbackMedia.objects.filter(**{f"{field}__in": batch}).values_list(
                        field, flat=True
                    )
                )
            for name in batch:
                if name in named:
                    continue
                try:
                    if storage.get_modified_time(name) >= written_before:
                        continue
                    storage.delete(name)
                    deleted += 1
                except FileNotFoundError:
                    continue
                except Exception:
                    logger.warning("Could not delete the orphaned media file %s", name)
    return deleted


def _requeue_stuck_media(now: dt.datetime) -> int:
    from .tasks import process_media

    stuck = FeedbackMedia.objects.filter(
        state=MediaState.PROCESSING, created_at__lt=now - MEDIA_PROCESSING_STUCK_AFTER
    ).values_list("pk", flat=True)
    count = 0
    for pk in stuck:
        try:
            process_media.delay(str(pk))
            count += 1
        except Exception:
            logger.exception("Could not queue processing of %s", pk)
    return count
