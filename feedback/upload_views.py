"""Uploads of pictures, videos and documents to a feedback report, and serving them.

Two ways in, one set of rules (``feedback.uploads`` and ``feedback.services``):

- the media panel's plain form (``media_upload``): one or more files in a multipart POST, for
  browsers without JavaScript; each file is checked and kept or refused on its own;
- the resumable protocol below, which ``static/js/uploader.js`` (and the API) speak, for videos of
  a gigabyte and more over connections that break.

The resumable protocol (our own, modelled on tus 1.0; session authentication with the CSRF token
in the ``X-CSRFToken`` header; every answer is JSON, errors as ``{"error": <message in the
person's language>, "code": <machine word>}``):

1. **Start**: ``POST /workspace/feedback/uploads/`` with ``report`` (its id), optional ``case``
   (the typical case's id), ``name`` (the file's name) and ``size`` (bytes), as JSON or form
   fields. What the name and size already tell is refused at once (400: a type never accepted, a
   file over the limit, a document for a case, an empty file). Answer 201, ``Location`` the
   upload's URL, ``{"id", "url", "name", "size", "offset": 0, "chunk_size", "state"}``.
2. **Status**: ``HEAD`` or ``GET`` on the upload's URL: the bytes received so far in the
   ``Upload-Offset`` header (and ``Upload-Length``); GET also answers the JSON above, with
   ``media`` once complete or ``error`` once refused. A client that lost its connection asks
   this and continues from there.
3. **Chunk**: ``PATCH`` (or ``PUT``) on the upload's URL, header ``Upload-Offset`` (where this
   chunk starts: the bytes received so far), ``Content-Length``, the raw bytes as the body
   (``Content-Type: application/offset+octet-stream``), at most ``chunk_size`` bytes (413
   otherwise). A wrong offset answers 409 with the offset to continue from (header and JSON).
   The body is streamed to the partial file in blocks, never held whole in memory; behind the
   reference nginx (``FEEDBACK_UPLOAD_BODY_FROM_NGINX``) nginx writes it to a file and passes its
   name in ``X-Upload-Body-File`` and the chunk's length in ``X-Upload-Body-Length``, believed
   only from ``TRUSTED_PROXIES`` (docs/deploy.md). Answer 200 with
   the new ``Upload-Offset``; with the last byte the file is checked and stored: 201 with
   ``media`` (its id, name, state, addresses and the panel's HTML for it), or 400 with the reason
   it was refused, naming the file (the upload is then refused and its bytes deleted).
4. **Abort**: ``DELETE`` on the upload's URL: abandoned, the bytes deleted (204).

Only the report's department staff (and administrators) upload, while the report is a draft or
returned (403 otherwise; another organisation's report or someone else's upload: 404). Uploads
without a chunk for ``FEEDBACK_UPLOAD_ABANDONED_HOURS`` are abandoned by a periodic task.

Stored files are served by ``media_file`` only to those ``feedback.view_media`` allows (media of a
published typical case: everyone), with HTTP Range requests for the video player, through nginx's
``X-Accel-Redirect`` when ``FEEDBACK_MEDIA_ACCEL_REDIRECT`` is set (docs/deploy.md), or as a
redirect to a short-lived signed URL where the storage is S3-compatible object storage.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from qualitymonth.errors import DomainError, NotAllowed
from qualitymonth.ratelimit import ratelimit

from . import media_checks, services, uploads
from .enums import MediaKind
from .limits import UPLOAD_LIMITS
from .models import FeedbackMedia, FeedbackReport, FeedbackUpload, TypicalCase

logger = logging.getLogger(__name__)

READ_BLOCK = 1024 * 1024
# Browsers may keep a private file this long; published files may sit in shared caches a little.
PRIVATE_CACHE_SECONDS = 600
PUBLIC_CACHE_SECONDS = 3600
SIGNED_URL_SECONDS = 300
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


# --- JSON helpers -------------------------------------------------------------------------------


def _error(message, *, status: int, code: str = "invalid", **extra) -> JsonResponse:
    return JsonResponse({"error": str(message), "code": code, **extra}, status=status)


def _json_login_required(view):
    """For the protocol's endpoints: an expired session answers 403 in JSON, not a login page."""

    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _error(
                _("Your session has ended. Sign in again, then resume the upload."),
                status=403,
                code="not_authenticated",
            )
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _report_for_upload(user, report_id) -> FeedbackReport:
    """The report, if `user` may see it (404 otherwise: another organisation's report must not
    be told apart from a wrong number)."""
    report = (
        FeedbackReport.objects.select_related("campaign", "department").filter(pk=report_id).first()
    )
    if report is None or not user.has_perm("feedback.view_report", report):
        raise Http404
    return report


def _case_of(report: FeedbackReport, case_id) -> TypicalCase | None:
    if case_id in (None, ""):
        return None
    try:
        return TypicalCase.objects.get(pk=int(case_id), report=report)
    except (TypeError, ValueError, TypicalCase.DoesNotExist) as error:
        raise Http404 from error


def media_json(request, media: FeedbackMedia, *, may_edit: bool) -> dict:
    """What the panel (and uploader.js) needs of a stored file, with its HTML in the panel."""
    return {
        "id": str(media.pk),
        "name": media.original_name,
        "kind": media.kind,
        "kind_display": str(media.get_kind_display()),
        "size": media.size,
        "caption": media.caption,
        "state": media.state,
        "state_display": str(media.get_state_display()),
        "failure": media.failure,
        "url": media.url("original"),
        "thumbnail_url": media.url("thumbnail"),
        "status_url": reverse("feedback:media_status", args=[media.pk]),
        "html": render_to_string(
            "feedback/_media_item.html",
            {"media": media, "may_edit": may_edit},
            request=request,
        ),
    }


def _upload_json(request, upload: FeedbackUpload) -> dict:
    data = {
        "id": str(upload.pk),
        "url": reverse("feedback:upload", args=[upload.pk]),
        "name": upload.original_name,
        "size": upload.size,
        "offset": uploads.upload_offset(upload),
        "chunk_size": uploads.chunk_size(),
        "state": upload.state,
        "state_display": str(upload.get_state_display()),
    }
    if upload.refusal:
        data["error"] = upload.refusal
    if upload.media_id:
        data["media"] = media_json(request, upload.media, may_edit=True)
    return data


def _with_offset(response, upload: FeedbackUpload):
    response["Upload-Offset"] = str(uploads.upload_offset(upload))
    response["Upload-Length"] = str(upload.size)
    response["Cache-Control"] = "no-store"
    return response


# --- the resumable protocol -----------------------------------------------------------------


def _start_fields(request) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    return request.POST.dict()


@_json_login_required
@require_POST
@ratelimit(*UPLOAD_LIMITS)
def upload_start(request):
    """Start a resumable upload (the protocol's step 1)."""
    fields = _start_fields(request)
    report = _report_for_upload(request.user, _int_or_404(fields.get("report")))
    case = _case_of(report, fields.get("case"))
    name = str(fields.get("name") or "").strip()
    if not name:
        return _error(_("The file's name is missing."), status=400, code="name_missing")
    try:
        upload = uploads.upload_start(
            report, actor=request.user, original_name=name, size=fields.get("size"), case=case
        )
    except NotAllowed as error:
        return _error(error, status=403, code="forbidden")
    except DomainError as error:
        status = 403 if error.code == "report_not_editable" else 400
        return _error(error, status=status, code=error.code)
    response = _with_offset(JsonResponse(_upload_json(request, upload), status=201), upload)
    response["Location"] = reverse("feedback:upload", args=[upload.pk])
    return response


def _int_or_404(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise Http404 from error


@_json_login_required
@require_http_methods(["GET", "HEAD", "PATCH", "PUT", "DELETE"])
def upload(request, pk):
    """One resumable upload: its status (HEAD/GET), a chunk (PATCH/PUT), abort (DELETE)."""
    found = uploads.upload_of(request.user, pk)
    if found is None:
        return _error(_("There is no such upload."), status=404, code="not_found")
    if request.method in ("GET", "HEAD"):
        response = _with_offset(JsonResponse(_upload_json(request, found)), found)
        if request.method == "HEAD":
            response.content = b""
        return response
    if request.method == "DELETE":
        try:
            uploads.upload_abort(found, actor=request.user)
        except NotAllowed:
            return _error(_("There is no such upload."), status=404, code="not_found")
        except DomainError as error:
            return _with_offset(_error(error, status=409, code=error.code), found)
        return _with_offset(HttpResponse(status=204), found)
    return _upload_chunk(request, found)


def _body_file_from_nginx(request) -> str | None:
    """The file nginx wrote this chunk's body to, when the portal takes bodies from nginx and the
    request came through it (TRUSTED_PROXIES, as for X-Real-IP); None: the body is in the request.
    The reference nginx overwrites the header, so a client cannot name a file."""
    name = request.headers.get("X-Upload-Body-File") or None
    if name is None or request.META.get("REMOTE_ADDR") not in settings.TRUSTED_PROXIES:
        return None
    if not settings.FEEDBACK_UPLOAD_BODY_FROM_NGINX:
        logger.warning(
            "nginx passed an upload body as a file, but FEEDBACK_UPLOAD_BODY_FROM_NGINX is off"
        )
        return None
    return name


def _upload_chunk(request, found: FeedbackUpload):
    try:
        offset = int(request.headers["Upload-Offset"])
        if offset < 0:
            raise ValueError
    except (KeyError, ValueError):
        return _with_offset(
            _error(_("The Upload-Offset header is missing."), status=400, code="offset_missing"),
            found,
        )
    body_file = _body_file_from_nginx(request)
    length_header = "X-Upload-Body-Length" if body_file else "Content-Length"
    try:
        length = int(request.headers.get(length_header) or "")
    except ValueError:
        return _error(
            _("The Content-Length header is missing."), status=411, code="length_required"
        )
    try:
        uploads.upload_append(
            found,
            actor=request.user,
            offset=offset,
            length=length,
            stream=None if body_file else request,
            body_file=body_file,
        )
    except uploads.BodyFileRefused as error:
        return _with_offset(_error(error, status=400, code=error.code), found)
    except uploads.UploadOffsetMismatch as error:
        found.refresh_from_db()
        return _with_offset(_error(error, status=409, code=error.code, offset=error.offset), found)
    except uploads.ChunkTooLarge as error:
        return _with_offset(_error(error, status=413, code=error.code), found)
    except media_checks.MediaRefused as error:
        return _with_offset(_error(error, status=400, code=error.code, state=found.state), found)
    except NotAllowed as error:
        return _error(error, status=403, code="forbidden")
    except DomainError as error:
        status = 403 if error.code == "report_not_editable" else 409
        found.refresh_from_db()
        return _with_offset(_error(error, status=status, code=error.code), found)
    complete = found.media_id is not None
    return _with_offset(
        JsonResponse(_upload_json(request, found), status=201 if complete else 200), found
    )


# --- the form without JavaScript ------------------------------------------------------------


def _back(request, report: FeedbackReport) -> HttpResponseRedirect:
    """Back to the page the form was on: `next`, else the referring page, else the report."""
    for target in (request.POST.get("next"), request.headers.get("Referer")):
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(target)
    return redirect("feedback:report_edit", report.campaign.year)


def _refuse_unless_may_change(request, report: FeedbackReport) -> None:
    if not request.user.has_perm("feedback.change_report", report):
        raise PermissionDenied


def _local_path(uploaded) -> str:
    """A path to the uploaded file for media_add, which consumes (moves or deletes) it. Large
    uploads are already on disk (Django's temporary file); small ones are written out."""
    if isinstance(uploaded, TemporaryUploadedFile):
        return uploaded.temporary_file_path()
    directory = uploads.upload_dir()
    fd, name = _mkstemp(directory)
    with os.fdopen(fd, "wb") as out:
        for piece in uploaded.chunks(READ_BLOCK):
            out.write(piece)
    return name


def _mkstemp(directory: Path) -> tuple[int, str]:
    import tempfile

    return tempfile.mkstemp(prefix="form-", suffix=".upload", dir=directory)


@login_required
@require_POST
@ratelimit(*UPLOAD_LIMITS)
def media_upload(request, report_id):
    """The panel's form: each chosen file is checked and kept, or refused with its reason."""
    report = _report_for_upload(request.user, report_id)
    _refuse_unless_may_change(request, report)
    case = _case_of(report, request.POST.get("case"))
    files = request.FILES.getlist("files")
    if not files:
        messages.error(request, _("Choose one or more files to upload."))
        return _back(request, report)
    for uploaded in files:
        try:
            services.media_refuse_early(original_name=uploaded.name, size=uploaded.size, case=case)
            media = services.media_add(
                report,
                actor=request.user,
                path=_local_path(uploaded),
                original_name=uploaded.name,
                case=case,
                caption=request.POST.get("caption", ""),
            )
        except media_checks.MediaRefused as error:
            messages.error(request, str(error))
            continue
        except DomainError as error:  # the report cannot be changed now: no file will do
            messages.error(request, str(error))
            break
        finally:
            uploaded.close()  # a temporary file media_add moved away is no error
        messages.success(request, _("“%(name)s” was added.") % {"name": media.original_name})
    return _back(request, report)


def _media_to_change(request, pk) -> FeedbackMedia:
    media = get_object_or_404(
        FeedbackMedia.objects.select_related("report__campaign", "report__department", "case"),
        pk=pk,
    )
    if not request.user.has_perm("feedback.view_report", media.report):
        raise Http404
    _refuse_unless_may_change(request, media.report)
    return media


@login_required
@require_POST
def media_delete(request, pk):
    media = _media_to_change(request, pk)
    try:
        services.media_delete(media, actor=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("“%(name)s” was deleted.") % {"name": media.original_name})
    return _back(request, media.report)


@login_required
@require_POST
def media_caption(request, pk):
    media = _media_to_change(request, pk)
    try:
        services.media_update_caption(
            media, actor=request.user, caption=request.POST.get("caption", "")
        )
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The caption of “%(name)s” was saved.") % {"name": media.original_name}
        )
    return _back(request, media.report)


# --- serving stored files -------------------------------------------------------------------


def _visible_media(request, pk) -> FeedbackMedia:
    media = FeedbackMedia.objects.select_related("report__department", "case").filter(pk=pk).first()
    if media is None or not request.user.has_perm("feedback.view_media", media):
        raise Http404
    return media


@require_safe
def media_status(request, pk):
    """The panel polls this while a file is being processed."""
    media = _visible_media(request, pk)
    may_edit = services.report_may_edit(media.report, request.user)
    response = JsonResponse(media_json(request, media, may_edit=may_edit))
    response["Cache-Control"] = "no-store"
    return response


def _is_public(media: FeedbackMedia) -> bool:
    return media.case_id is not None and media.case.published_at is not None


def _served_name(media: FeedbackMedia, field: str) -> str:
    if field in ("thumbnail", "poster"):
        stem = media.original_name.rsplit(".", 1)[0]
        return f"{stem}-{field}.jpg"
    return media.original_name


def _parse_range(header: str, size: int):
    """(start, end) inclusive for one satisfiable byte range; None to send the whole file
    (no header, several ranges, a syntax the server may ignore); False when unsatisfiable."""
    match = _RANGE.match((header or "").strip())
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0:
            return False
        return max(size - suffix, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end


def _read_range(handle, start: int, length: int):
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            block = handle.read(min(READ_BLOCK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block
    finally:
        handle.close()


def _file_headers(response, media: FeedbackMedia, field: str, public: bool) -> None:
    inline = media.kind != MediaKind.DOCUMENT
    response["Content-Disposition"] = content_disposition_header(
        not inline, _served_name(media, field)
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    )
    if public:
        patch_cache_control(response, public=True, max_age=PUBLIC_CACHE_SECONDS)
    else:
        patch_cache_control(response, private=True, max_age=PRIVATE_CACHE_SECONDS)
        patch_vary_headers(response, ["Cookie"])


@require_safe
def media_file(request, pk, variant="original"):
    """A stored file (`variant`: original, thumbnail, web, poster) to those who may see it."""
    if variant not in FeedbackMedia.VARIANT_FIELDS:
        raise Http404
    media = _visible_media(request, pk)
    stored = media.stored_file(variant)
    if stored is None:
        raise Http404
    field = FeedbackMedia.VARIANT_FIELDS[variant]
    public = _is_public(media)
    content_type = "image/jpeg" if field in ("thumbnail", "poster") else media.content_type
    etag = f'"{media.sha256[:32]}-{field}"'
    storage = stored.storage
    try:
        local = storage.path(stored.name)
    except NotImplementedError:
        local = None

    if local is None:  # object storage: a short-lived signed address
        response = HttpResponseRedirect(_signed_url(storage, stored.name, media, field))
        response["Cache-Control"] = "private, no-store"
        return response

    if settings.FEEDBACK_MEDIA_ACCEL_REDIRECT:  # nginx sends the bytes (and answers ranges)
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.FEEDBACK_MEDIA_ACCEL_REDIRECT + quote(stored.name)
        response["ETag"] = etag
        _file_headers(response, media, field, public)
        return response

    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        _file_headers(response, media, field, public)
        return response
    try:
        handle = storage.open(stored.name, "rb")
        size = storage.size(stored.name)
    except FileNotFoundError as error:
        raise Http404(_("The file is missing from storage.")) from error
    wanted = _parse_range(request.headers.get("Range", ""), size)
    if_range = request.headers.get("If-Range")
    if if_range and if_range != etag:
        wanted = None  # the file changed since the client's first part: send it whole
    if wanted is False:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif wanted is None:
        response = StreamingHttpResponse(_read_range(handle, 0, size), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        start, end = wanted
        response = StreamingHttpResponse(
            _read_range(handle, start, end - start + 1), content_type=content_type, status=206
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    _file_headers(response, media, field, public)
    return response


def _signed_url(storage, name: str, media: FeedbackMedia, field: str) -> str:
    inline = media.kind != MediaKind.DOCUMENT
    parameters = {
        "ResponseContentDisposition": content_disposition_header(
            not inline, _served_name(media, field)
        ),
        "ResponseContentType": (
            "image/jpeg" if field in ("thumbnail", "poster") else media.content_type
        ),
    }
    try:
        return storage.url(name, parameters=parameters, expire=SIGNED_URL_SECONDS)
    except TypeError:  # a storage without S3's signing options
        return storage.url(name)


urlpatterns = [
    path("workspace/feedback/uploads/", upload_start, name="upload_start"),
    path("workspace/feedback/uploads/<uuid:pk>/", upload, name="upload"),
    path("workspace/feedback/reports/<int:report_id>/media/", media_upload, name="media_upload"),
    path("workspace/feedback/media/<uuid:pk>/delete/", media_delete, name="media_delete"),
    path("workspace/feedback/media/<uuid:pk>/caption/", media_caption, name="media_caption"),
    path("workspace/feedback/media/<uuid:pk>/status/", media_status, name="media_status"),
    path("feedback/media/<uuid:pk>/", media_file, name="media_file"),
    path("feedback/media/<uuid:pk>/<str:variant>/", media_file, name="media_file"),
]
