"""Resumable uploads of feedback media: the services behind the chunked protocol.

The HTTP protocol (start, status, chunk, abort) is described in ``feedback/upload_views.py``; the
API calls these same functions. An upload (``FeedbackUpload``) is a session: its bytes wait in a
partial file ``<FEEDBACK_UPLOAD_DIR>/<id>.part``, appended chunk by chunk under a lock on the row,
until the last byte has arrived; then the file is checked and stored by ``services.media_add``
(moved into storage, a rename where both live on one file system) and the upload points at the
stored ``FeedbackMedia``.

Behind the reference nginx (``FEEDBACK_UPLOAD_BODY_FROM_NGINX``, docs/deploy.md) a chunk does not
pass through the web process at all: nginx writes the request body to a file in
``FEEDBACK_UPLOAD_NGINX_BODY_DIR`` and the view hands over its name; the chunk is appended from that
file inside the kernel (``os.copy_file_range``), hashed from the page cache in the background while
the client sends the next chunk, and its writing to disk is started at once. A chunk cut off on
the way never reaches the portal then: nginx drops it, and the client sends it again whole.

Only the person who started an upload continues it, and only while they may change the report.
Every change of state is audited: ``feedback.upload.started``, ``.finished``, ``.refused``,
``.abandoned``. Uploads that receive no chunk for ``FEEDBACK_UPLOAD_ABANDONED_HOURS`` are
abandoned by ``uploads_clean_up`` (the periodic task ``clean_up_abandoned_uploads``).
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import functools
import hashlib
import io
import logging
import os
import re
import shutil
import stat
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
HASH_BLOCK_SIZE = 256 * 1024  # a chunk nginx wrote to a file is hashed in pieces of this size
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


class BodyFileRefused(DomainError):
    """The file nginx is said to have written a chunk to is not one the portal takes: outside
    FEEDBACK_UPLOAD_NGINX_BODY_DIR, missing, or not as long as the chunk."""

    code = "body_file_refused"


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


class _RunningDigest:
    """The SHA-256 of an upload's bytes so far. A chunk nginx handed over as a file is hashed in a
    background thread (hashlib and reads release the GIL), so that its answer need not wait: the
    client sends the next chunk meanwhile. Each thread first waits for the previous one, so the
    bytes go in in order; `hexdigest` waits for them all. A failed read spoils the digest (None:
    media_add then reads the file)."""

    def __init__(self):
        self._digest = hashlib.sha256()
        self._spoilt = False
        self._last: threading.Thread | None = None

    def update(self, block) -> None:
        self._wait()
        self._digest.update(block)

    def add_file(self, fd: int, length: int) -> None:
        """Hash the first `length` bytes of the open file `fd` in the background, then close it
        (the caller hands `fd` over)."""
        previous = self._last

        def hash_it():
            try:
                if previous is not None:
                    previous.join()
                if not self._spoilt:
                    _hash_file(fd, length, self._digest)
            except OSError:
                logger.warning("Could not read an upload chunk to hash it", exc_info=True)
                self._spoilt = True
            finally:
                os.close(fd)

        self._last = threading.Thread(target=hash_it, name="upload-sha256", daemon=True)
        self._last.start()

    def _wait(self) -> None:
        if self._last is not None:
            self._last.join()

    def hexdigest(self) -> str | None:
        self._wait()
        return None if self._spoilt else self._digest.hexdigest()


def _running_sha256(upload_id, offset: int) -> _RunningDigest | None:
    """The hash of the upload's first `offset` bytes if this process wrote them, else None."""
    with _RUNNING_SHA256_LOCK:
        known = _RUNNING_SHA256.pop(str(upload_id), None)
    if offset == 0:
        return _RunningDigest()
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
        f.flush()
        _start_writing_out(f.fileno(), offset, written)
    return written


def _open_body_file(name: str, length: int) -> int:
    """A descriptor of the file nginx wrote a chunk to, refused (BodyFileRefused) unless it lies
    inside FEEDBACK_UPLOAD_NGINX_BODY_DIR, is a regular file and holds exactly `length` bytes."""
    directory = Path(settings.FEEDBACK_UPLOAD_NGINX_BODY_DIR).resolve()
    try:
        path = Path(name).resolve(strict=True) if os.path.isabs(name) else None
    except (OSError, RuntimeError, ValueError):
        path = None
    if path is None or directory not in path.parents:
        logger.warning("Refused an upload body file outside %s: %r", directory, name)
        raise BodyFileRefused(
            _(
                "The web server handed this part of the file over in a place the portal does not "
                "take it from."
            )
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except PermissionError:
        logger.error(
            "Cannot read %s, which nginx wrote: its workers must run as the portal's user "
            "(docs/deploy.md, Upload chunks through nginx)",
            path,
        )
        raise
    found = os.fstat(fd)
    if not stat.S_ISREG(found.st_mode) or found.st_size != length:
        os.close(fd)
        raise BodyFileRefused(
            _("This part of the file arrived with %(received)s bytes instead of %(expected)s.")
            % {"received": found.st_size, "expected": length}
        )
    return fd


def _append_file(path: Path, offset: int, source: int, length: int, digest=None) -> int:
    """Copy the `length` bytes of the open file `source` into `path` at `offset` inside the
    kernel (no byte passes through this process; a reflink where the file system has them), and
    have them added to `digest` in the background, from the page cache."""
    mode = "r+b" if path.exists() else "wb"
    with open(path, mode) as f:
        f.truncate(offset)  # bytes past the offset never counted (a chunk cut off by a crash)
        copied = 0
        while copied < length:
            done = _copy_range(source, f.fileno(), length - copied, copied, offset + copied)
            if not done:
                raise OSError(f"The upload body ended after {copied} of {length} bytes")
            copied += done
        _start_writing_out(f.fileno(), offset, length)
    if digest is not None:
        digest.add_file(os.dup(source), length)
    return copied


def _start_writing_out(fd: int, offset: int, length: int) -> None:
    """Have the kernel start writing the chunk to disk now (Linux's sync_file_range, which does
    not wait), while the next one arrives, so that the fsync after the last chunk finds little
    left: otherwise it writes the whole file at the end. Where the call is missing, the fsync
    does it all."""
    start_write_back = _sync_file_range()
    if start_write_back is not None:
        start_write_back(fd, offset, length, SYNC_FILE_RANGE_WRITE)


SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>: start writing the dirty pages, do not wait


@functools.cache
def _sync_file_range():
    """libc's sync_file_range (Linux, glibc and musl), or None."""
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _copy_range(source: int, target: int, count: int, source_at: int, target_at: int) -> int:
    try:
        return os.copy_file_range(source, target, count, source_at, target_at)
    except OSError as error:  # another file system (EXDEV on older kernels), or none of it
        if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            raise
    os.lseek(target, target_at, os.SEEK_SET)
    return os.sendfile(target, source, source_at, count)


def _hash_file(source: int, length: int, digest) -> None:
    buffer = bytearray(HASH_BLOCK_SIZE)
    view = memoryview(buffer)
    position = 0
    while position < length:
        read = os.preadv(source, [view[: min(HASH_BLOCK_SIZE, length - position)]], position)
        if not read:
            raise OSError(f"The upload body ended after {position} of {length} bytes")
        digest.update(view[:read])
        position += read


def upload_append(
    upload: FeedbackUpload,
    *,
    actor,
    offset: int,
    length: int,
    stream=None,
    body_file: str | None = None,
) -> FeedbackUpload:
    """Append one chunk of `length` bytes at `offset`, read from `stream`, or taken from
    `body_file`, the file nginx wrote the request body to (only ever a name nginx set: the view
    checks that the request came through it).

    Steps: refuse a body file outside FEEDBACK_UPLOAD_NGINX_BODY_DIR or not `length` bytes long
    (BodyFileRefused); lock the upload's row; refuse anyone but the uploader, an upload no longer
    in progress, a report no longer editable, a chunk not starting at the bytes received so far
    (UploadOffsetMismatch with the offset to continue from), larger than
    FEEDBACK_UPLOAD_CHUNK_BYTES or past the declared size; write the bytes; save the offset.
    With the last byte the file is checked and stored (``services.media_add``): the upload is
    complete and points at the media, or refused (MediaRefused is raised after the refusal is
    saved and audited; the bytes are deleted)."""
    source = _open_body_file(body_file, length) if body_file is not None else None
    try:
        return _append_chunk(
            upload, actor=actor, offset=offset, length=length, stream=stream, source=source
        )
    finally:
        if source is not None:
            os.close(source)


def _append_chunk(upload, *, actor, offset, length, stream, source) -> FeedbackUpload:
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
        if source is None:
            written = _append(partial_path(current), offset, stream, length, digest)
        else:
            written = _append_file(partial_path(current), offset, source, length, digest)
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
    nginx_bodies = Path(settings.FEEDBACK_UPLOAD_NGINX_BODY_DIR).resolve()
    deleted = 0
    for entry in entries:
        match = _PARTIAL_NAME.match(entry.name)
        if not match and Path(entry.path).resolve() == nginx_bodies:
            continue  # nginx's folder for chunks in flight, should it have been put here
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
