"""iCalendar (RFC 5545) feeds of public activities, written with the `icalendar` package.

A feed may hold every activity of a campaign (100,000 in the large demo data), so it is never
built as one object in memory: the calendar's head, each VEVENT and the tail are rendered one
after another from a server-side cursor (`QuerySet.iterator`) and streamed.

Times are written in UTC (``...Z``), which every client converts to the reader's zone; the
feed names Asia/Shanghai as its zone for clients that show one (X-WR-TIMEZONE).
"""

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.http import StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from qualitymonth.lazy import lazy_import

from .enums import ActivityStatus
from .models import Activity, Campaign, KeyArrangement, Region
from .selectors import activities_public, region_scope_q

CONTENT_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//National Quality Month//Activities//EN"
# Loaded on first use: most web requests never write a calendar.
icalendar = lazy_import("icalendar")

# Calendar clients poll subscriptions; tell them (and caches) how often is enough.
REFRESH_MINUTES = 60
ITERATOR_CHUNK = 2000


def activities_for_feed(
    campaign: Campaign,
    *,
    key_arrangement: KeyArrangement | None = None,
    region: Region | None = None,
) -> QuerySet[Activity]:
    """The campaign's public activities for a feed, by start time, with what a VEVENT shows."""
    activities = activities_public().filter(campaign=campaign)
    if key_arrangement is not None:
        activities = activities.filter(key_arrangement=key_arrangement)
    if region is not None:
        activities = activities.filter(region_scope_q(region))
    return activities.select_related("organiser", "region__parent__parent").order_by(
        "starts_at", "pk"
    )


def feed_fingerprint(activities: QuerySet[Activity]) -> tuple[int, dt.datetime | None]:
    """How many activities a feed holds and when the latest of them changed (one query): enough
    to answer a calendar client's conditional request without writing the feed."""
    row = activities.order_by().aggregate(n=Count("pk"), changed=Max("updated_at"))
    return row["n"], row["changed"]


def etag_for(*parts) -> str:
    return '"' + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32] + '"'


# --- one event --------------------------------------------------------------------------------


def uid_host() -> str:
    """The host in every UID: the portal's own (SITE_URL), whichever name a request used, so that
    an event keeps its UID and subscribers never see it twice."""
    return urlsplit(settings.SITE_URL).hostname or "qualitymonth.invalid"


_SENTINEL_PK = 2_147_483_647


def page_path_builder():
    """A function giving an activity's public page path: `reverse` is resolved once per feed
    (not once per event), and the calendar's day list stands in until the page exists."""
    try:
        template = reverse("public:activity_detail", args=[_SENTINEL_PK])
    except NoReverseMatch:

        def day_list(activity: Activity) -> str:
            day = timezone.localtime(activity.starts_at).date()
            return reverse("calendar:day", args=[day.isoformat()]) + f"#activity-{activity.pk}"

        return day_list
    head, _sentinel, tail = template.partition(str(_SENTINEL_PK))
    return lambda activity: f"{head}{activity.pk}{tail}"


def activity_page_path(activity: Activity) -> str:
    """The activity's public page; the calendar's day list until that page exists."""
    return page_path_builder()(activity)


def region_path(region: Region) -> str:
    """The region with the regions above it, as an address reads: 广东省 广州市 天河区."""
    names = []
    current = region
    while current is not None:
        names.append(current.name)
        current = current.parent
    return " ".join(reversed(names))


def activity_event(
    activity: Activity, *, base_url: str, stamp: dt.datetime, page_path=None, host: str = ""
) -> "icalendar.Event":
    """One VEVENT for `activity`. `base_url` makes its page's URL absolute; a feed passes the
    `page_path` builder and UID `host` it worked out once."""
    event = icalendar.Event()
    event.add("uid", f"activity-{activity.pk}@{host or uid_host()}")
    event.add("dtstamp", stamp)
    event.add("dtstart", activity.starts_at.astimezone(dt.UTC))
    event.add("dtend", activity.ends_at.astimezone(dt.UTC))
    event.add("last-modified", activity.updated_at.astimezone(dt.UTC))
    event.add("sequence", activity.version)
    summary = activity.title
    if activity.status == ActivityStatus.CANCELLED:
        summary = _("Cancelled: %(title)s") % {"title": activity.title}
    event.add("summary", summary)
    event.add("description", _description(activity))
    location = ", ".join(part for part in (activity.venue, region_path(activity.region)) if part)
    event.add("location", location)
    url = base_url + (page_path or activity_page_path)(activity)
    event.add("url", url)
    if activity.contact_email:
        organiser = icalendar.vCalAddress(f"mailto:{activity.contact_email}")
        organiser.params["CN"] = icalendar.vText(activity.organiser.name)
        event.add("organizer", organiser)
    event.add("status", "CANCELLED" if activity.status == ActivityStatus.CANCELLED else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def _description(activity: Activity) -> str:
    lines = []
    if activity.status == ActivityStatus.CANCELLED:
        lines.append(_("This activity has been cancelled."))
        if activity.cancellation_reason:
            lines.append(activity.cancellation_reason)
        lines.append("")
    if activity.summary:
        lines.append(activity.summary)
    lines.append(_("Organiser: %(name)s") % {"name": activity.organiser.name})
    if activity.online_url:
        lines.append(_("Online: %(url)s") % {"url": activity.online_url})
    if activity.contact_name or activity.contact_phone:
        contact = " ".join(p for p in (activity.contact_name, activity.contact_phone) if p)
        lines.append(_("Contact: %(contact)s") % {"contact": contact})
    lines.append("")
    lines.append(
        _(
            "Taking part is voluntary and free of charge: nobody may charge enterprises any fee "
            "in the name of Quality Month."
        )
    )
    return "\n".join(lines)


# --- a whole calendar -------------------------------------------------------------------------


def calendar_head(name: str, *, description: str = "") -> bytes:
    """VCALENDAR's opening lines with its properties, without the closing line."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    if description:
        calendar.add("x-wr-caldesc", description)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    calendar.add(
        "refresh-interval", dt.timedelta(minutes=REFRESH_MINUTES), parameters={"VALUE": "DURATION"}
    )
    calendar.add("x-published-ttl", icalendar.vDuration(dt.timedelta(minutes=REFRESH_MINUTES)))
    text = calendar.to_ical()
    tail = b"END:VCALENDAR\r\n"
    if not text.endswith(tail):  # a check that must also hold under `python -O`
        raise ValueError("The calendar does not end with END:VCALENDAR.")
    return text[: -len(tail)]


def calendar_chunks(
    activities: Iterable[Activity],
    *,
    name: str,
    base_url: str,
    language: str,
    description: str = "",
) -> Iterator[bytes]:
    """The calendar as a stream of bytes: its head, one VEVENT per activity, its tail. Runs in
    `language` even when consumed after the view returned (a streaming response)."""
    with translation.override(language):
        yield calendar_head(name, description=description)
        stamp = timezone.now().astimezone(dt.UTC).replace(microsecond=0)
        page_path, host = page_path_builder(), uid_host()
        for activity in activities:
            event = activity_event(
                activity, base_url=base_url, stamp=stamp, page_path=page_path, host=host
            )
            yield event.to_ical()
        yield b"END:VCALENDAR\r\n"


def ics_response(
    activities: QuerySet[Activity] | list[Activity],
    *,
    request,
    name: str,
    filename: str,
    description: str = "",
) -> StreamingHttpResponse:
    """A streamed .ics of `activities` (a queryset is read through a server-side cursor)."""
    rows = (
        activities.iterator(chunk_size=ITERATOR_CHUNK)
        if isinstance(activities, QuerySet)
        else activities
    )
    response = StreamingHttpResponse(
        calendar_chunks(
            rows,
            name=name,
            description=description,
            base_url=request.build_absolute_uri("/").rstrip("/"),
            language=translation.get_language() or settings.LANGUAGE_CODE,
        ),
        content_type=CONTENT_TYPE,
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = f"public, max-age={REFRESH_MINUTES * 60 // 4}"
    return response
