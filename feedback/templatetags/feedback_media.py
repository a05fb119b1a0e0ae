"""What the media panel (templates/feedback/_media_panel.html) shows: the files of a report or of
one of its typical cases, the types a file chooser offers, and the limits."""

from dataclasses import dataclass

from django import template
from django.conf import settings
from django.urls import reverse

from feedback import media_checks
from feedback.enums import MediaKind

register = template.Library()


@dataclass(frozen=True)
class Panel:
    dom_id: str
    items: list
    accept: str
    documents: bool
    picture_max: int
    video_max: int
    document_max: int
    chunk_size: int
    start_url: str


def _accept(documents: bool) -> str:
    extensions = [
        f".{extension}"
        for extension, formats in media_checks.EXTENSIONS.items()
        if documents or media_checks.FORMATS[next(iter(formats))][0] != MediaKind.DOCUMENT
    ]
    return ",".join(extensions)


@register.simple_tag
def media_panel(report, case=None) -> Panel:
    """The panel of `case` (a typical case), or of the report's own files when `case` is None.

    Reads ``case.media.all()`` or ``report.media.all()``, so a page that prefetched them shows
    any number of files without further queries."""
    own = (m for m in report.media.all() if m.case_id is None) if not case else None
    items = list(case.media.all()) if case else list(own)
    documents = not case
    return Panel(
        dom_id=f"media-case-{case.pk}" if case else f"media-report-{report.pk}",
        items=items,
        accept=_accept(documents),
        documents=documents,
        picture_max=settings.FEEDBACK_PICTURE_MAX_BYTES,
        video_max=settings.FEEDBACK_VIDEO_MAX_BYTES,
        document_max=settings.FEEDBACK_DOCUMENT_MAX_BYTES,
        chunk_size=settings.FEEDBACK_UPLOAD_CHUNK_BYTES,
        start_url=reverse("feedback:upload_start"),
    )
