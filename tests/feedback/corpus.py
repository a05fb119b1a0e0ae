"""Builds the good and bad upload samples at test time (no binary files in the repository)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl
from PIL import ExifTags, Image


def jpeg_bytes(size=(64, 48), colour=(200, 30, 30), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", **save)
    return buffer.getvalue()


def jpeg_with_gps() -> bytes:
    """A 60 × 40 JPEG from a 'camera': maker, orientation 6 (turn 90°) and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 54.0, 27.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 23.0, 30.0)
    return jpeg_bytes((60, 40), exif=exif)


def picture_bytes(fmt: str, size=(32, 32), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    colour = (10, 120, 200, 128) if mode == "RGBA" else (10, 120, 200)
    Image.new(mode, size, colour).save(buffer, fmt)
    return buffer.getvalue()


def heic_bytes() -> bytes:
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 64), (0, 128, 0))).save(buffer, quality=80)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width=30_000, height=30_000) -> bytes:
    """A PNG of a few dozen bytes whose header claims 900 million pixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def png_bad_crc() -> bytes:
    data = bytearray(picture_bytes("PNG", (40, 40)))
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    crc_at = idat + 4 + length
    data[crc_at] ^= 0xFF
    return bytes(data)


def jpeg_with_comment(comment: bytes) -> bytes:
    data = jpeg_bytes()
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:2] + segment + data[2:]


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types '
    b'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="xml" ContentType="application/xml"/></Types>'
)


RELS = (
    b'<?xml version="1.0"?><Relationships '
    b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
)
DOCUMENT = (
    '<?xml version="1.0"?><w:document '
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>质量月</w:t></w:r></w:p></w:body></w:document>"
)


def docx_bytes() -> bytes:
    """A minimal Word document, zipped by hand."""
    return zip_bytes(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": RELS,
            "word/document.xml": DOCUMENT.encode(),
        }
    )


def xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "质量月"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bomb_docx() -> bytes:
    """An Office-looking ZIP whose 20 MB of zeros pack into a few KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        with archive.open("word/document.xml", "w") as member:
            for _ in range(20):
                member.write(b"\x00" * 1024 * 1024)
    return buffer.getvalue()


def pdf_bytes(*, end=True, extra=b"") -> bytes:
    """A one-page PDF written by hand, with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n" + extra)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n" % (len(objects) + 1, xref)
    if end:
        out += b"%%EOF\n"
    return bytes(out)


def iso_bmff(major: bytes, compatible: list[bytes]) -> bytes:
    """An ftyp box and a small mdat: enough for the signature check, not for a player."""
    ftyp_body = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    ftyp = struct.pack(">I", 8 + len(ftyp_body)) + b"ftyp" + ftyp_body
    mdat = struct.pack(">I", 8 + 32) + b"mdat" + b"\x00" * 32
    return ftyp + mdat


def ebml(doctype: bytes) -> bytes:
    body = (
        b"\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
        + b"\x42\x82"
        + bytes([0x80 | len(doctype)])
        + doctype
        + b"\x42\x87\x81\x04\x42\x85\x81\x02"
    )
    return (
        b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body + b"\x18\x53\x80\x67" + b"\x00" * 32
    )


def mp4_bytes() -> bytes:
    return iso_bmff(b"isom", [b"isom", b"iso2", b"avc1", b"mp41"])


def mov_bytes() -> bytes:
    return iso_bmff(b"qt  ", [b"qt  "])


def webm_bytes() -> bytes:
    return ebml(b"webm")


GOOD = {
    # name: (maker, expected kind, expected format)
    "photo.jpg": (jpeg_bytes, "picture", "jpeg"),
    "gps.JPEG": (jpeg_with_gps, "picture", "jpeg"),
    "chart.png": (lambda: picture_bytes("PNG", mode="RGBA"), "picture", "png"),
    "banner.webp": (lambda: picture_bytes("WEBP"), "picture", "webp"),
    "iphone.heic": (heic_bytes, "picture", "heic"),
    "clip.mp4": (mp4_bytes, "video", "mp4"),
    "clip.mov": (mov_bytes, "video", "mov"),
    "clip.webm": (webm_bytes, "video", "webm"),
    "summary.pdf": (pdf_bytes, "document", "pdf"),
    "summary.docx": (docx_bytes, "document", "docx"),
    "figures.xlsx": (xlsx_bytes, "document", "xlsx"),
}


BAD = [
    # (claimed name, maker, refusal code, check: detect | picture | document)
    ("empty.jpg", lambda: b"", "empty", "detect"),
    (
        "page.jpg",
        lambda: b"<!DOCTYPE html><html><body>hello</body></html>",
        "type_mismatch",
        "detect",
    ),
    (
        "logo.svg",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "svg",
        "detect",
    ),
    (
        "logo.png",
        lambda: b'<?xml version="1.0"?><svg><script>alert(1)</script></svg>',
        "svg",
        "detect",
    ),
    ("php.jpg", lambda: jpeg_with_comment(b"<?php system($_GET['c']); ?>"), "polyglot", "detect"),
    ("script.jpg", lambda: jpeg_with_comment(b"<script>alert(1)</script>"), "polyglot", "detect"),
    ("zipped.jpg", lambda: jpeg_bytes() + zip_bytes({"x.php": b"<?php ?>"}), "polyglot", "detect"),
    (
        "script.pdf",
        lambda: pdf_bytes(extra=b"<html><script>alert(1)</script>\n"),
        "polyglot",
        "detect",
    ),
    ("report.mp4", pdf_bytes, "type_mismatch", "detect"),
    ("truncated.jpg", lambda: jpeg_bytes((256, 256))[:-400], "corrupt", "picture"),
    ("bad-crc.png", png_bad_crc, "corrupt", "picture"),
    ("truncated.png", lambda: picture_bytes("PNG", (64, 64))[:60], "corrupt", "picture"),
    ("bomb.png", png_bomb, "decompression_bomb", "picture"),
    ("notes.png", lambda: b"just some text, not a picture\n" * 10, "type_mismatch", "detect"),
    ("setup.pdf", lambda: b"MZ\x90\x00\x03" + b"\x00" * 200, "type_mismatch", "detect"),
    ("bomb.docx", zip_bomb_docx, "zip_bomb", "detect"),
    (
        "plain.xlsx",
        lambda: zip_bytes({"xl/workbook.xml": b"<workbook/>"}),
        "bad_office_file",
        "detect",
    ),
    ("broken.webp", lambda: b"RIFF\x40\x00\x00\x00WEBPVP8 " + b"\x13" * 60, "corrupt", "picture"),
    (
        "headless.webp",
        lambda: b"RIFF\x40\x00\x00\x00WEBX" + b"\x00" * 60,
        "type_mismatch",
        "detect",
    ),
    ("animation.gif", lambda: picture_bytes("GIF"), "unsupported_type", "detect"),
    ("animation.jpg", lambda: picture_bytes("GIF"), "type_mismatch", "detect"),
    ("scan.bmp", lambda: picture_bytes("BMP"), "unsupported_type", "detect"),
    ("scan.tiff", lambda: picture_bytes("TIFF"), "unsupported_type", "detect"),
    (
        "song.mp4",
        lambda: b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\xff\xfb\x90\x00" * 64,
        "type_mismatch",
        "detect",
    ),
    ("photo", jpeg_bytes, "no_extension", "detect"),
    ("cut.pdf", lambda: pdf_bytes(end=False), "truncated", "detect"),
    ("movie.webm", lambda: ebml(b"matroska"), "type_mismatch", "detect"),
    ("figures.docx", xlsx_bytes, "type_mismatch", "detect"),
    ("drawing.jpg", lambda: picture_bytes("PNG"), "type_mismatch", "detect"),
    ("summary.pdf", jpeg_bytes, "type_mismatch", "document"),
    ("photo.pdf", pdf_bytes, "wrong_kind", "picture"),
    ("archive.zip", lambda: zip_bytes({"a.txt": b"a"}), "unsupported_type", "detect"),
]


def write(folder: Path, name: str, content: bytes) -> Path:
    """The sample on disk under a neutral name (the claimed name is passed separately)."""
    path = folder / "upload"
    path.write_bytes(content)
    return path
