"""The upload checks for feedback reports: every accepted type, and a corpus of bad files."""

import io
import stat
import uuid

import pytest
from django.utils import translation
from PIL import ExifTags, Image

from feedback import media_checks
from feedback.media_checks import (
    MediaRefused,
    check_document,
    check_picture,
    check_video,
    detect_kind,
    make_thumbnail,
    poster_frame,
    random_storage_name,
    reencode_picture,
    sanitise_filename,
    sha256_of,
)
from qualitymonth.errors import DomainError
from tests.feedback import corpus


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def no_ffmpeg(monkeypatch):
    monkeypatch.setattr(media_checks, "find_executable", lambda name: None)


def fake_tool(folder, name, script):
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


# -- accepted types --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(corpus.GOOD))
def test_every_accepted_type_is_recognised_by_its_content(tmp_path, name):
    maker, kind, fmt = corpus.GOOD[name]
    detected = detect_kind(corpus.write(tmp_path, name, maker()), name)
    assert (detected.kind, detected.format) == (kind, fmt)


@pytest.mark.parametrize("name", sorted(corpus.GOOD))
def test_detection_works_on_an_open_file_and_leaves_its_position(name):
    maker, _kind, fmt = corpus.GOOD[name]
    upload = io.BytesIO(maker())
    upload.seek(3)
    assert detect_kind(upload, name).format == fmt
    assert upload.tell() == 3


@pytest.mark.parametrize(
    ("name", "fmt", "size"),
    [
        ("photo.jpg", "jpeg", (64, 48)),
        ("chart.png", "png", (32, 32)),
        ("banner.webp", "webp", (32, 32)),
        ("iphone.heic", "heic", (64, 64)),
    ],
)
def test_pictures_decode(tmp_path, name, fmt, size):
    path = corpus.write(tmp_path, name, corpus.GOOD[name][0]())
    info = check_picture(path, name)
    assert (info.format, info.width, info.height) == (fmt, *size)


@pytest.mark.parametrize("name", ["summary.pdf", "summary.docx", "figures.xlsx"])
def test_documents_are_accepted(tmp_path, name):
    content = corpus.GOOD[name][0]()
    info = check_document(corpus.write(tmp_path, name, content), name)
    assert info.format == corpus.GOOD[name][2]
    assert info.size == len(content)


@pytest.mark.parametrize("name", ["clip.mp4", "clip.mov", "clip.webm"])
def test_videos_without_ffprobe_are_checked_by_signature_only(tmp_path, no_ffmpeg, name):
    info = check_video(corpus.write(tmp_path, name, corpus.GOOD[name][0]()), name)
    assert info.format == corpus.GOOD[name][2]
    assert info.probed is False
    assert info.duration is None


# -- the refused corpus ----------------------------------------------------------------


def test_the_corpus_holds_at_least_twenty_bad_files():
    assert len(corpus.BAD) >= 20
    assert len({name for name, *_ in corpus.BAD}) == len(corpus.BAD)


@pytest.mark.parametrize(
    ("name", "maker", "code", "check"), corpus.BAD, ids=[b[0] for b in corpus.BAD]
)
def test_bad_files_are_refused_with_the_reason(tmp_path, name, maker, code, check):
    path = corpus.write(tmp_path, name, maker())
    run = {
        "detect": detect_kind,
        "picture": check_picture,
        "document": check_document,
        "video": check_video,
    }[check]
    with pytest.raises(MediaRefused) as refused:
        run(path, name)
    assert refused.value.code == code
    assert name in str(refused.value)
    assert isinstance(refused.value, DomainError)


def test_an_over_size_video_is_refused_by_the_setting(tmp_path, settings, no_ffmpeg):
    settings.FEEDBACK_VIDEO_MAX_BYTES = 1024 * 1024
    path = tmp_path / "big"
    with open(path, "wb") as f:
        f.write(corpus.mp4_bytes())
        f.truncate(1024 * 1024 + 1)
    with pytest.raises(MediaRefused) as refused:
        check_video(path, "meeting.mp4")
    assert refused.value.code == "too_large"
    assert str(refused.value) == "“meeting.mp4” is larger than the 1 MB allowed for a video."
    settings.FEEDBACK_VIDEO_MAX_BYTES = 2 * 1024 * 1024
    assert check_video(path, "meeting.mp4").size == 1024 * 1024 + 1


def test_the_video_limit_defaults_to_two_gigabytes():
    from qualitymonth import settings as project_settings

    assert project_settings.FEEDBACK_VIDEO_MAX_BYTES == 2 * 1024**3


def test_a_picture_is_not_a_video(tmp_path, no_ffmpeg):
    path = corpus.write(tmp_path, "x", corpus.jpeg_bytes())
    with pytest.raises(MediaRefused) as refused:
        check_video(path, "photo.jpg")
    assert refused.value.code == "wrong_kind"


def test_the_message_is_translated(tmp_path):
    path = corpus.write(tmp_path, "x", b"")
    with translation.override("zh-hans"), pytest.raises(MediaRefused) as refused:
        detect_kind(path, "空.jpg")
    assert "空.jpg" in str(refused.value)


def test_a_mismatch_names_what_the_content_really_is(tmp_path):
    path = corpus.write(tmp_path, "x", corpus.pdf_bytes())
    with pytest.raises(MediaRefused) as refused:
        detect_kind(path, "report.mp4")
    assert str(refused.value) == "“report.mp4” is named .mp4 but its content is in PDF format."


@pytest.mark.parametrize(
    ("name", "maker", "fmt"),
    [
        ("clip.mp4", corpus.mov_bytes, "mov"),
        ("clip.mov", corpus.mp4_bytes, "mp4"),
        ("clip.m4v", corpus.mp4_bytes, "mp4"),
        ("photo.jpeg", corpus.jpeg_bytes, "jpeg"),
        ("iphone.HEIF", corpus.heic_bytes, "heic"),
    ],
)
def test_extensions_sharing_a_format_are_accepted(tmp_path, name, maker, fmt):
    assert detect_kind(corpus.write(tmp_path, name, maker()), name).format == fmt


def test_an_avif_picture_is_not_taken_for_heic(tmp_path):
    path = corpus.write(tmp_path, "x", corpus.iso_bmff(b"avif", [b"avif", b"mif1", b"miaf"]))
    with pytest.raises(MediaRefused) as refused:
        detect_kind(path, "photo.heic")
    assert refused.value.code == "type_mismatch"


def test_reencoding_refuses_a_bomb_too(tmp_path):
    path = corpus.write(tmp_path, "x", corpus.png_bomb())
    with pytest.raises((Image.DecompressionBombError, Image.DecompressionBombWarning)):
        reencode_picture(path, tmp_path / "out.png")


def test_detection_reads_a_django_upload(tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("活动.pdf", corpus.pdf_bytes(), content_type="image/jpeg")
    detected = detect_kind(upload, upload.name)
    assert (detected.kind, detected.mime) == ("document", "application/pdf")


def test_an_html_page_named_jpg_says_so(tmp_path):
    path = corpus.write(tmp_path, "x", b"<!DOCTYPE html><html><body>hi</body></html>")
    with pytest.raises(MediaRefused) as refused:
        detect_kind(path, "../../照片.jpg")
    assert str(refused.value) == "“照片.jpg” is named .jpg but its content is in HTML format."


def test_the_decompression_bomb_warning_is_an_error_too(tmp_path, monkeypatch):
    # Pillow only warns between its limit and twice its limit; that must refuse as well.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)
    path = corpus.write(tmp_path, "x", corpus.picture_bytes("PNG", (64, 64)))
    with pytest.raises(MediaRefused) as refused:
        check_picture(path, "wide.png")
    assert refused.value.code == "decompression_bomb"


# -- ffprobe / ffmpeg ------------------------------------------------------------------

PROBE_JSON = (
    '{"streams": [{"codec_type": "audio", "codec_name": "aac"},'
    ' {"codec_type": "video", "codec_name": "h264", "width": 1920, "height": 1080}],'
    ' "format": {"duration": "12.480000"}}'
)


def test_ffprobe_reports_duration_codec_and_resolution(tmp_path, monkeypatch):
    tool = fake_tool(tmp_path, "ffprobe", f"cat <<'JSON'\n{PROBE_JSON}\nJSON\n")
    monkeypatch.setattr(
        media_checks, "find_executable", lambda name: tool if name == "ffprobe" else None
    )
    path = corpus.write(tmp_path, "x", corpus.mp4_bytes())
    info = check_video(path, "clip.mp4")
    assert info.probed is True
    assert (info.duration, info.codec, info.width, info.height) == (12.48, "h264", 1920, 1080)


@pytest.mark.parametrize(
    "script",
    [
        "echo 'Invalid data found when processing input' >&2\nexit 1\n",
        'echo \'{"streams": [{"codec_type": "audio"}], "format": {}}\'\n',
        "echo 'not json'\n",
    ],
    ids=["unreadable", "audio-only", "garbage-output"],
)
def test_what_ffprobe_cannot_read_as_video_is_refused(tmp_path, monkeypatch, script):
    tool = fake_tool(tmp_path, "ffprobe", script)
    monkeypatch.setattr(media_checks, "find_executable", lambda name: tool)
    path = corpus.write(tmp_path, "x", corpus.webm_bytes())
    with pytest.raises(MediaRefused) as refused:
        check_video(path, "clip.webm")
    assert refused.value.code == "unreadable_video"


def test_poster_frame_uses_ffmpeg_when_installed(tmp_path, monkeypatch):
    tool = fake_tool(tmp_path, "ffmpeg", 'for last; do :; done\nprintf poster > "$last"\n')
    monkeypatch.setattr(media_checks, "find_executable", lambda name: tool)
    video = corpus.write(tmp_path, "x", corpus.mp4_bytes())
    assert poster_frame(video, tmp_path / "poster.jpg") is True
    assert (tmp_path / "poster.jpg").read_bytes() == b"poster"


def test_poster_frame_without_ffmpeg_or_on_failure(tmp_path, monkeypatch, no_ffmpeg):
    video = corpus.write(tmp_path, "x", corpus.mp4_bytes())
    assert poster_frame(video, tmp_path / "poster.jpg") is False
    tool = fake_tool(tmp_path, "ffmpeg", "exit 1\n")
    monkeypatch.setattr(media_checks, "find_executable", lambda name: tool)
    assert poster_frame(video, tmp_path / "poster.jpg") is False
    assert not (tmp_path / "poster.jpg").exists()


# -- re-encoding -----------------------------------------------------------------------


def test_reencoding_removes_exif_and_gps_and_applies_orientation(tmp_path):
    src = corpus.write(tmp_path, "x", corpus.jpeg_with_gps())
    with Image.open(src) as original:
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert original.size == (60, 40)
    dst = tmp_path / "clean.jpg"
    info = reencode_picture(src, dst)
    assert (info.format, info.width, info.height) == ("jpeg", 40, 60)
    with Image.open(dst) as clean:
        assert clean.format == "JPEG"
        assert clean.size == (40, 60)
        assert dict(clean.getexif()) == {}
        assert clean.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
        assert "exif" not in clean.info
        assert "icc_profile" not in clean.info
    assert b"Exif" not in dst.read_bytes()
    assert b"TestCam" not in dst.read_bytes()


def test_reencoding_drops_the_colour_profile(tmp_path):
    src = tmp_path / "icc.png"
    Image.new("RGB", (8, 8)).save(src, "PNG", icc_profile=b"\x00" * 128)
    with Image.open(src) as original:
        assert "icc_profile" in original.info
    reencode_picture(src, tmp_path / "out.png")
    with Image.open(tmp_path / "out.png") as clean:
        assert "icc_profile" not in clean.info


@pytest.mark.parametrize(
    ("name", "out_format"),
    [("chart.png", "PNG"), ("banner.webp", "WEBP"), ("iphone.heic", "JPEG"), ("photo.jpg", "JPEG")],
)
def test_reencoding_keeps_png_and_webp_and_turns_the_rest_into_jpeg(tmp_path, name, out_format):
    src = corpus.write(tmp_path, name, corpus.GOOD[name][0]())
    dst = tmp_path / "out"
    info = reencode_picture(src, dst)
    with Image.open(dst) as clean:
        assert clean.format == out_format
        assert info.format == out_format.lower()
        assert "exif" not in clean.info


def test_reencoding_can_scale_to_a_web_size(tmp_path):
    src = tmp_path / "big.jpg"
    src.write_bytes(corpus.jpeg_bytes((400, 200)))
    info = reencode_picture(src, tmp_path / "web.jpg", max_side=100)
    assert (info.width, info.height) == (100, 50)


def test_thumbnail_is_a_small_upright_jpeg(tmp_path):
    src = corpus.write(tmp_path, "x", corpus.jpeg_with_gps())
    info = make_thumbnail(src, tmp_path / "thumb.jpg", 20)
    with Image.open(tmp_path / "thumb.jpg") as thumb:
        assert thumb.format == "JPEG"
        assert thumb.size == (info.width, info.height)
        assert max(thumb.size) == 20
        assert thumb.height > thumb.width  # orientation 6 applied
        assert dict(thumb.getexif()) == {}


def test_thumbnail_of_a_transparent_png_is_flattened(tmp_path):
    src = corpus.write(tmp_path, "x", corpus.picture_bytes("PNG", (50, 50), mode="RGBA"))
    make_thumbnail(src, tmp_path / "thumb.jpg", 10)
    with Image.open(tmp_path / "thumb.jpg") as thumb:
        assert (thumb.mode, thumb.size) == ("RGB", (10, 10))


# -- names and checksums ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.EXE", "cmd.exe"),
        ("/var/www/shell.php.JPG", "shell.php.jpg"),
        ("CON.txt", "_CON.txt"),
        ("lpt1", "_lpt1"),
        ("nul.tar.gz", "_nul.tar.gz"),
        ("质量月 活动照片.JPG", "质量月 活动照片.jpg"),
        ("报告\x00\x1f\u202e.pdf", "报告.pdf"),
        ('a<b>c:"d|e?f*.png', "abcdef.png"),
        ("...", "file"),
        ("", "file"),
        (".htaccess", "htaccess"),
        ("photo.", "photo"),
    ],
)
def test_sanitise_filename(name, safe):
    assert sanitise_filename(name) == safe


def test_a_very_long_name_is_cut_but_keeps_its_extension():
    safe = sanitise_filename("长" * 300 + ".PDF")
    assert len(safe) == 100
    assert safe == "长" * 96 + ".pdf"


def test_random_storage_names_are_random_and_dated():
    first = random_storage_name("feedback", ".JPG")
    second = random_storage_name("feedback", "jpg")
    assert first != second
    folder, year, month, filename = first.split("/")
    assert folder == "feedback"
    assert len(year) == 4 and len(month) == 2
    stem, extension = filename.split(".")
    assert extension == "jpg"
    assert uuid.UUID(hex=stem).version == 4


@pytest.mark.parametrize(("kind", "extension"), [("../x", "jpg"), ("feedback", "jp/g"), ("a", "")])
def test_random_storage_name_refuses_unsafe_parts(kind, extension):
    with pytest.raises(ValueError):
        random_storage_name(kind, extension)


def test_sha256_reads_in_blocks_and_matches_hashlib(tmp_path):
    import hashlib

    content = b"quality" * 400_000  # 2.8 MB: several 1 MB blocks
    path = tmp_path / "f"
    path.write_bytes(content)
    expected = hashlib.sha256(content).hexdigest()
    assert sha256_of(path) == expected
    upload = io.BytesIO(content)
    assert sha256_of(upload) == expected
    assert upload.tell() == 0
