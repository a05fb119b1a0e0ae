"""Checks for files uploaded with a feedback report: pure functions on a path or a file.

Nothing here trusts a file's name. The content decides what a file is (its signature,
then a full decode for pictures, ffprobe for videos where installed, the ZIP directory for
office documents); the claimed extension must agree with it. Files are read in blocks,
never whole. Every refusal is a `MediaRefused` with a translated message that names the
file and the reason, and a machine `code` for the API and the tests.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import unicodedata
import uuid
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from qualitymonth.errors import DomainError


@functools.cache
def heif_supported() -> bool:
    """Let Pillow read HEIC/HEIF pictures from phones. Registered on first use, not at import:
    libheif costs every web process several MB that only picture checks need."""
    try:
        import pillow_heif
    except ImportError:  # pragma: no cover - pillow-heif is a dependency
        return False
    pillow_heif.register_heif_opener()
    return True


def _open_image(path):
    heif_supported()
    return Image.open(path)


BLOCK_SIZE = 1024 * 1024
HEAD_SIZE = 4096
SCAN_SIZE = 1024  # the first (and last) KB is searched for markup and script
OFFICE_MAX_UNCOMPRESSED = 512 * 1024 * 1024
OFFICE_MAX_RATIO = 200  # real workbooks pack 5–50×; bombs 1000× and more
OFFICE_MAX_MEMBERS = 10_000
PROBE_TIMEOUT_SECONDS = 60
FILENAME_MAX_LENGTH = 100
JPEG_QUALITY = 85

PICTURE, VIDEO, DOCUMENT = "picture", "video", "document"

# format -> (kind, MIME type, canonical extension)
FORMATS = {
    "jpeg": (PICTURE, "image/jpeg", "jpg"),
    "png": (PICTURE, "image/png", "png"),
    "webp": (PICTURE, "image/webp", "webp"),
    "heic": (PICTURE, "image/heic", "heic"),
    "mp4": (VIDEO, "video/mp4", "mp4"),
    "mov": (VIDEO, "video/quicktime", "mov"),
    "webm": (VIDEO, "video/webm", "webm"),
    "pdf": (DOCUMENT, "application/pdf", "pdf"),
    "docx": (
        DOCUMENT,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    "xlsx": (DOCUMENT, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
# claimed extension -> the formats its content may have (MP4 and MOV share one container)
EXTENSIONS = {
    "jpg": {"jpeg"},
    "jpeg": {"jpeg"},
    "png": {"png"},
    "webp": {"webp"},
    "heic": {"heic"},
    "heif": {"heic"},
    "mp4": {"mp4", "mov"},
    "m4v": {"mp4", "mov"},
    "mov": {"mov", "mp4"},
    "webm": {"webm"},
    "pdf": {"pdf"},
    "docx": {"docx"},
    "xlsx": {"xlsx"},
}
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
MOV_BRANDS = {b"qt  "}
MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
    b"M4V ", b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"f4v ",
}  # fmt: skip
MARKUP = (b"<script", b"<html", b"<?php", b"<svg", b"<!doctype html", b"<iframe")
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)
}


class MediaRefused(DomainError):
    """An uploaded file was refused; `code` says why (see the module's tests for each)."""

    code = "media_refused"


@dataclass(frozen=True)
class Detected:
    kind: str  # picture, video or document
    format: str  # a key of FORMATS
    mime: str
    extension: str  # the canonical extension for storage


@dataclass(frozen=True)
class PictureInfo:
    format: str
    width: int
    height: int


@dataclass(frozen=True)
class VideoInfo:
    format: str
    size: int
    probed: bool  # False when ffprobe is not installed: only the signature was checked
    duration: float | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class DocumentInfo:
    format: str
    size: int


# -- names -----------------------------------------------------------------------------


def sanitise_filename(name: str) -> str:
    """A safe display name: no folders, control or reserved characters, at most 100 characters."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/")
    name = name.rsplit("/", 1)[-1]
    name = "".join(
        c for c in name if not unicodedata.category(c).startswith("C") and c not in '<>:"|?*'
    )
    name = name.strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,10}", extension):
        stem, extension = name, ""
    extension = extension.lower()
    stem = stem.strip(" .")
    if stem.split(".")[0].upper() in WINDOWS_RESERVED:
        stem = f"_{stem}"
    stem = stem or "file"
    room = FILENAME_MAX_LENGTH - (len(extension) + 1 if extension else 0)
    stem = stem[:room].rstrip(" .") or "file"
    return f"{stem}.{extension}" if extension else stem


def random_storage_name(kind: str, extension: str) -> str:
    """Where a file is stored: `<kind>/<year>/<month>/<random>.<ext>`, never the upload's name."""
    extension = extension.lower().lstrip(".")
    if not re.fullmatch(r"[a-z0-9]{1,10}", extension) or not re.fullmatch(r"[a-z0-9_-]+", kind):
        raise ValueError(f"unsafe storage name parts: {kind!r}, {extension!r}")
    today = timezone.localdate()
    return f"{kind}/{today:%Y}/{today:%m}/{uuid.uuid4().hex}.{extension}"


# -- reading ---------------------------------------------------------------------------


class _Source:
    """A path or an open binary file, read in pieces without moving a caller's file for good."""

    def __init__(self, path_or_file: str | os.PathLike | BinaryIO):
        self.target = path_or_file
        self.is_path = isinstance(path_or_file, (str, os.PathLike))

    def __enter__(self) -> BinaryIO:
        if self.is_path:
            self.file = open(self.target, "rb")
        else:
            self.file = self.target
            self.position = self.file.tell()
        return self.file

    def __exit__(self, *exc):
        if self.is_path:
            self.file.close()
        else:
            self.file.seek(self.position)


def sha256_of(path_or_file: str | os.PathLike | BinaryIO) -> str:
    """The file's SHA-256 (hex), read in 1 MB blocks."""
    digest = hashlib.sha256()
    with _Source(path_or_file) as f:
        f.seek(0)
        while block := f.read(BLOCK_SIZE):
            digest.update(block)
    return digest.hexdigest()


def _size(f: BinaryIO) -> int:
    f.seek(0, os.SEEK_END)
    return f.tell()


def _extension(name: str) -> str:
    _stem, dot, extension = sanitise_filename(name).rpartition(".")
    return extension if dot else ""


def _what_else(head: bytes) -> str | None:
    """A reader-friendly name for common formats we refuse, for the message."""
    lowered = head[:SCAN_SIZE].lstrip().lower()
    for signature, label in (
        (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"), (b"MZ", "EXE"), (b"\x7fELF", "program"),
        (b"ID3", "MP3"), (b"\xff\xfb", "MP3"), (b"\xff\xf3", "MP3"), (b"RIFF", "RIFF"),
        (b"PK\x03\x04", "ZIP"), (b"Rar!", "RAR"), (b"7z\xbc\xaf", "7-Zip"), (b"%PDF-", "PDF"),
    ):  # fmt: skip
        if head.startswith(signature):
            return label
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered:
        return "HTML"
    if lowered.startswith(b"<?xml") or lowered.startswith(b"<svg"):
        return "SVG" if b"<svg" in lowered else "XML"
    return None


def _signature(head: bytes) -> str | None:
    """The accepted format the first bytes announce, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP" and head[12:15] == b"VP8":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if re.search(rb"\x42\x82.webm", head[:128], re.DOTALL) else None
    if head[4:8] == b"ftyp":
        box = int.from_bytes(head[0:4], "big")
        if head[8:12] in (b"avif", b"avis"):  # AV1 pictures: not accepted (yet)
            return None
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(box, 64), 4)}
        if head[8:12] in HEIF_BRANDS or (
            brands & HEIF_BRANDS and not brands & (MP4_BRANDS | MOV_BRANDS)
        ):
            return "heic"
        if head[8:12] in MOV_BRANDS:
            return "mov"
        if brands & MP4_BRANDS or brands & MOV_BRANDS:
            return "mp4"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def _office_format(f: BinaryIO, display: str) -> str:
    """docx or xlsx from the ZIP's directory, without extracting anything."""
    try:
        with zipfile.ZipFile(f) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise MediaRefused(
            _("“%(name)s” is not a readable Word or Excel file.") % {"name": display},
            code="bad_office_file",
        ) from error
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if (
        len(members) > OFFICE_MAX_MEMBERS
        or total > OFFICE_MAX_UNCOMPRESSED
        or (total > BLOCK_SIZE and total > OFFICE_MAX_RATIO * max(packed, 1))
    ):
        raise MediaRefused(
            _("“%(name)s” was refused: it unpacks to far more data than it holds (a ZIP bomb).")
            % {"name": display},
            code="zip_bomb",
        )
    names = {m.filename for m in members}
    if "[Content_Types].xml" in names:
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
    raise MediaRefused(
        _("“%(name)s” is a ZIP archive, not a Word or Excel file.") % {"name": display},
        code="bad_office_file",
    )


def detect_kind(path_or_file: str | os.PathLike | BinaryIO, claimed_name: str) -> Detected:
    """What the file is, by its content; refused unless it is an accepted type matching its name."""
    display = sanitise_filename(claimed_name)
    extension = _extension(claimed_name)
    with _Source(path_or_file) as f:
        size = _size(f)
        f.seek(0)
        head = f.read(HEAD_SIZE)
        f.seek(max(size - SCAN_SIZE, 0))
        tail = f.read(SCAN_SIZE)
        if size == 0:
            raise MediaRefused(_("“%(name)s” is empty.") % {"name": display}, code="empty")
        other = _what_else(head)
        if extension == "svg" or other == "SVG" or b"<svg" in head[:SCAN_SIZE].lower():
            raise MediaRefused(
                _("“%(name)s” is an SVG drawing, refused because it can carry scripts.")
                % {"name": display},
                code="svg",
            )
        if not extension:
            raise MediaRefused(
                _("“%(name)s” has no file extension, so its type cannot be confirmed.")
                % {"name": display},
                code="no_extension",
            )
        if extension not in EXTENSIONS:
            raise MediaRefused(
                _(
                    "“%(name)s” is not an accepted type. Accepted: pictures "
                    "(JPEG, PNG, WebP, HEIC), videos (MP4, MOV, WebM) "
                    "and documents (PDF, DOCX, XLSX)."
                )
                % {"name": display},
                code="unsupported_type",
            )
        found = _signature(head)
        if found == "zip":
            f.seek(0)
            found = _office_format(f, display)
        if found not in EXTENSIONS[extension]:
            actual = FORMATS[found][2].upper() if found else other
            if actual:
                message = _(
                    "“%(name)s” is named .%(extension)s but its content is in %(actual)s format."
                ) % {
                    "name": display,
                    "extension": extension,
                    "actual": actual,
                }
            else:
                message = _(
                    "“%(name)s” is named .%(extension)s but its content is not in %(type)s format."
                ) % {
                    "name": display,
                    "extension": extension,
                    "type": extension.upper(),
                }
            raise MediaRefused(message, code="type_mismatch")
        scanned = (head[:SCAN_SIZE] + b"\n" + tail).lower()
        if any(marker in scanned for marker in MARKUP):
            raise MediaRefused(
                _("“%(name)s” was refused: it also contains web page or script code.")
                % {"name": display},
                code="polyglot",
            )
        if found not in ("docx", "xlsx"):
            f.seek(0)
            if zipfile.is_zipfile(f):
                raise MediaRefused(
                    _("“%(name)s” was refused: a ZIP archive is hidden inside it.")
                    % {"name": display},
                    code="polyglot",
                )
        if found == "pdf" and b"%%EOF" not in tail:
            raise MediaRefused(
                _("“%(name)s” is an incomplete PDF (its end is missing).") % {"name": display},
                code="truncated",
            )
    kind, mime, canonical = FORMATS[found]
    return Detected(kind=kind, format=found, mime=mime, extension=canonical)


def _expect(path: str | os.PathLike, claimed_name: str | None, kind: str) -> tuple[Detected, str]:
    name = claimed_name or Path(path).name
    detected = detect_kind(path, name)
    if detected.kind != kind:
        messages = {
            PICTURE: _("“%(name)s” is not a picture."),
            VIDEO: _("“%(name)s” is not a video."),
            DOCUMENT: _("“%(name)s” is not a document."),
        }
        raise MediaRefused(messages[kind] % {"name": sanitise_filename(name)}, code="wrong_kind")
    return detected, sanitise_filename(name)


# -- pictures --------------------------------------------------------------------------

PILLOW_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}


@contextmanager
def _bomb_guard():
    """Pillow's decompression-bomb warning raised as an error, not just printed."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _open_picture(path, display):
    """Open with the decompression-bomb guard as a hard error; check the pixel count first."""
    image = _open_image(path)
    width, height = image.size
    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > limit:
        image.close()
        raise MediaRefused(
            _("“%(name)s” is %(width)s × %(height)s pixels, too large to process safely.")
            % {"name": display, "width": width, "height": height},
            code="decompression_bomb",
        )
    return image


def check_picture(path: str | os.PathLike, claimed_name: str | None = None) -> PictureInfo:
    """Prove the file is a whole, decodable JPEG, PNG, WebP or HEIC picture of a sane size."""
    detected, display = _expect(path, claimed_name, PICTURE)
    try:
        with _bomb_guard():
            with _open_picture(path, display) as image:
                image.verify()
            with _open_picture(path, display) as image:
                image.load()
                info = PictureInfo(
                    format=PILLOW_FORMATS.get(image.format, ""),
                    width=image.width,
                    height=image.height,
                )
    except MediaRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise MediaRefused(
            _("“%(name)s” is too large to process safely.") % {"name": display},
            code="decompression_bomb",
        ) from error
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, EOFError…
        raise MediaRefused(
            _("“%(name)s” is damaged or incomplete and cannot be shown as a picture.")
            % {"name": display},
            code="corrupt",
        ) from error
    if info.format != detected.format:
        raise MediaRefused(
            _("“%(name)s” is damaged or incomplete and cannot be shown as a picture.")
            % {"name": display},
            code="corrupt",
        )
    return info


def _clean_copy(image: Image.Image, *, flatten: bool) -> Image.Image:
    """The pixels upright, with no metadata (EXIF, GPS, ICC, text) left to be written."""
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if flatten:
        if has_alpha:
            rgba = image.convert("RGBA")
            background = Image.new("RGB", rgba.size, "white")
            background.paste(rgba, mask=rgba.getchannel("A"))
            image = background
        elif image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if has_alpha else "RGB")
    clean = image.copy()
    clean.info = {}
    return clean


def reencoded_format(picture_format: str) -> str:
    """The format a picture is stored in after re-encoding: PNG and WebP stay, the rest is JPEG."""
    return picture_format if picture_format in ("png", "webp") else "jpeg"


def reencode_picture(
    src: str | os.PathLike, dst: str | os.PathLike, *, max_side: int | None = None
) -> PictureInfo:
    """Write a metadata-free copy (orientation applied), optionally scaled to fit `max_side`.

    For a file `check_picture` accepted; the bomb guard stays on here too.
    """
    with _bomb_guard(), _open_image(src) as image:
        target = reencoded_format(PILLOW_FORMATS.get(image.format, "jpeg"))
        clean = _clean_copy(image, flatten=target == "jpeg")
    if max_side:
        clean.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    _save(clean, dst, target)
    return PictureInfo(format=target, width=clean.width, height=clean.height)


def make_thumbnail(src: str | os.PathLike, dst: str | os.PathLike, size: int) -> PictureInfo:
    """A JPEG no larger than `size` × `size`, upright and without metadata."""
    with _bomb_guard(), _open_image(src) as image:
        image.draft("RGB", (size, size))  # JPEG decodes at a reduced scale: far less memory
        clean = _clean_copy(image, flatten=True)
    clean.thumbnail((size, size), Image.Resampling.LANCZOS)
    _save(clean, dst, "jpeg")
    return PictureInfo(format="jpeg", width=clean.width, height=clean.height)


def _save(image: Image.Image, dst, target: str) -> None:
    if target == "jpeg":
        image.save(dst, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=b"")
    elif target == "webp":
        image.save(dst, "WEBP", quality=JPEG_QUALITY, exif=b"")
    else:
        image.save(dst, "PNG", optimize=True)


# -- videos ----------------------------------------------------------------------------


def find_executable(name: str) -> str | None:
    """Where `ffprobe`/`ffmpeg` is installed, or None (a seam the tests replace)."""
    return shutil.which(name)


def check_video(path: str | os.PathLike, claimed_name: str | None = None) -> VideoInfo:
    """Size limit, signature and, where ffprobe is installed, a probe (duration, codec, size)."""
    name = sanitise_filename(claimed_name or Path(path).name)
    size = os.stat(path).st_size
    limit = settings.FEEDBACK_VIDEO_MAX_BYTES
    if size > limit:
        raise MediaRefused(
            _("“%(name)s” is larger than the %(limit)s MB allowed for a video.")
            % {"name": name, "limit": limit // (1024 * 1024)},
            code="too_large",
        )
    detected, display = _expect(path, claimed_name, VIDEO)
    ffprobe = find_executable("ffprobe")
    if not ffprobe:
        return VideoInfo(format=detected.format, size=size, probed=False)
    unreadable = MediaRefused(
        _("“%(name)s” cannot be read as a video.") % {"name": display}, code="unreadable_video"
    )
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell  # nosec B603
            [
                ffprobe,
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                os.fspath(path),
            ],
            capture_output=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
        probe = json.loads(result.stdout or b"{}")
    except (subprocess.TimeoutExpired, OSError, ValueError) as error:
        raise unreadable from error
    stream = next((s for s in probe.get("streams", []) if s.get("codec_type") == "video"), None)
    if result.returncode != 0 or stream is None:
        raise unreadable
    try:
        duration = float(probe.get("format", {}).get("duration") or stream.get("duration"))
    except (TypeError, ValueError):
        duration = None
    return VideoInfo(
        format=detected.format,
        size=size,
        probed=True,
        duration=duration,
        codec=stream.get("codec_name"),
        width=stream.get("width"),
        height=stream.get("height"),
    )


def poster_frame(
    path: str | os.PathLike, dst: str | os.PathLike, *, at_seconds: float = 1.0
) -> bool:
    """Write one frame as a JPEG poster with ffmpeg; False when ffmpeg is missing or fails."""
    ffmpeg = find_executable("ffmpeg")
    if not ffmpeg:
        return False
    for seek in (at_seconds, 0):  # a clip shorter than `at_seconds` has no frame there
        try:
            result = subprocess.run(  # noqa: S603 - fixed arguments, no shell  # nosec B603
                [ffmpeg, "-v", "error", "-y", "-ss", str(seek), "-i", os.fspath(path),
                 "-frames:v", "1", "-f", "image2", "-c:v", "mjpeg", os.fspath(dst)],
                capture_output=True,
                timeout=PROBE_TIMEOUT_SECONDS,
                check=False,
            )  # fmt: skip
        except (subprocess.TimeoutExpired, OSError):
            return False
        if result.returncode == 0 and os.path.exists(dst) and os.path.getsize(dst) > 0:
            return True
    return False


# -- documents -------------------------------------------------------------------------


def check_document(path: str | os.PathLike, claimed_name: str | None = None) -> DocumentInfo:
    """A PDF, DOCX or XLSX by its content (a whole PDF; an Office ZIP that is not a bomb)."""
    detected, _display = _expect(path, claimed_name, DOCUMENT)
    return DocumentInfo(format=detected.format, size=os.stat(path).st_size)
