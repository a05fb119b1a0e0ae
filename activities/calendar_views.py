"""The public campaign calendar: a month view of the campaign month, a list per day, and the
iCalendar feeds (all activities, per key arrangement, per region, one per activity).

No login. Each page makes the same number of queries however many activities there are: the
month grid is one aggregate query plus one for the first titles of each day.
"""

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncDate
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from . import ical
from .enums import ActivityStatus, RegionLevel
from .models import Activity, Campaign, KeyArrangement, Region
from .selectors import campaign_current, region_scope_q

TITLES_PER_DAY = 3
DAY_PAGE_SIZE = 50


# --- filters ------------------------------------------------------------------------------------


class CalendarFilterForm(forms.Form):
    """The calendar's filters, named as on the public list of activities: a key arrangement by
    its number, a province and optionally a city by their GB/T 2260 codes (a region includes
    everything below it)."""

    key_arrangement = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    province = forms.RegexField(regex=r"^[1-9]\d0000$", required=False)
    city = forms.RegexField(regex=r"^[1-9]\d{5}$", required=False)

    def __init__(self, *args, arrangements: list[KeyArrangement], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key_arrangement"].choices = [("", "")] + [
            (a.number, str(a)) for a in arrangements
        ]


@dataclass
class CalendarFilters:
    campaign: Campaign
    arrangements: list[KeyArrangement]
    provinces: list[Region]
    key_arrangement: KeyArrangement | None = None
    province: Region | None = None
    city: Region | None = None

    @property
    def region(self) -> Region | None:
        return self.city or self.province

    def apply(self, activities: QuerySet[Activity]) -> QuerySet[Activity]:
        if self.key_arrangement is not None:
            activities = activities.filter(key_arrangement=self.key_arrangement)
        if self.region is not None:
            activities = activities.filter(region_scope_q(self.region))
        return activities

    @property
    def params(self) -> dict[str, str]:
        params = {}
        if self.key_arrangement is not None:
            params["key_arrangement"] = str(self.key_arrangement.number)
        if self.province is not None:
            params["province"] = self.province.code
        if self.city is not None:
            params["city"] = self.city.code
        return params

    @property
    def query(self) -> str:
        """The filters as a query string, "?..." or "", for links that carry them on."""
        return "?" + urlencode(self.params) if self.params else ""

    @property
    def active(self) -> bool:
        return bool(self.params)


def calendar_filters(request, campaign: Campaign) -> CalendarFilters:
    """Read the filters from the query string; a value that names nothing is ignored, and so is
    a city outside the province chosen (the province was changed)."""
    arrangements = list(campaign.key_arrangements.order_by("number"))
    provinces = list(Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code"))
    filters = CalendarFilters(campaign=campaign, arrangements=arrangements, provinces=provinces)
    form = CalendarFilterForm(request.GET, arrangements=arrangements)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    number = data.get("key_arrangement")
    if number is not None:
        filters.key_arrangement = next((a for a in arrangements if a.number == number), None)
    if data.get("province"):
        filters.province = next((p for p in provinces if p.code == data["province"]), None)
    city = data.get("city")
    if (
        city
        and not city.endswith("0000")
        and (filters.province is None or city.startswith(filters.province.scope_prefix))
    ):
        filters.city = Region.objects.filter(code=city).select_related("parent").first()
        if filters.city is not None and filters.province is None:
            filters.province = next(
                (p for p in provinces if filters.city.code[:2] == p.code[:2]), None
            )
    return filters


# --- the month ----------------------------------------------------------------------------------


def _day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """From the start of `first` to the end of `last`, in the portal's time zone."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def _happening(activities: QuerySet[Activity], first: dt.date, last: dt.date):
    """Those of `activities` that run on any day from `first` to `last`."""
    start, end = _day_bounds(first, last)
    return activities.filter(starts_at__lt=end, ends_at__gt=start)


def month_days(
    activities: QuerySet[Activity], first: dt.date, last: dt.date, *, total_within=None
) -> tuple[dict, int]:
    """Per day from `first` to `last`: how many of `activities` run that day (an activity of
    several days counts on each), how many of those are cancelled, and the first few titles of
    those starting that day; and how many activities run within `total_within` (a pair of
    dates; all days by default), each once. Two queries, whatever the number of activities."""
    happening = _happening(activities, first, last).order_by()
    days = {
        first + dt.timedelta(days=i): {"count": 0, "cancelled": 0, "titles": []}
        for i in range((last - first).days + 1)
    }
    # One aggregate: a row per (first day, last day) pair, a few hundred at most.
    spans = happening.values(start_day=TruncDate("starts_at"), end_day=TruncDate("ends_at"))
    spans = spans.annotate(
        n=Count("pk"), cancelled=Count("pk", filter=Q(status=ActivityStatus.CANCELLED))
    )
    total_first, total_last = total_within or (first, last)
    total = 0
    for span in spans:
        if span["start_day"] <= total_last and span["end_day"] >= total_first:
            total += span["n"]
        day = max(span["start_day"], first)
        while day <= min(span["end_day"], last):
            days[day]["count"] += span["n"]
            days[day]["cancelled"] += span["cancelled"]
            day += dt.timedelta(days=1)
    starting_day = TruncDate("starts_at")
    firsts = (
        happening.filter(starts_at__gte=_day_bounds(first, last)[0])
        .annotate(
            start_day=starting_day,
            rank=Window(
                RowNumber(), partition_by=[starting_day], order_by=[F("starts_at"), F("pk")]
            ),
        )
        .filter(rank__lte=TITLES_PER_DAY)
        .values("pk", "title", "status", "starts_at", "start_day")
        .order_by("starts_at", "pk")
    )
    for row in firsts:
        if row["start_day"] in days:
            row["cancelled"] = row["status"] == ActivityStatus.CANCELLED
            days[row["start_day"]]["titles"].append(row)
    return days, total


def month_weeks(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The grid around `first`..`last`: from the Monday on or before to the Sunday on or after."""
    return first - dt.timedelta(days=first.weekday()), last + dt.timedelta(days=6 - last.weekday())


@require_safe
def month(request):
    """The campaign month as a grid of weeks (Monday first); a list of days on phones."""
    campaign = campaign_current()
    if campaign is None:
        return render(request, "calendar/month.html", {"campaign": None})
    filters = calendar_filters(request, campaign)
    grid_first, grid_last = month_weeks(campaign.month_start, campaign.month_end)
    activities = filters.apply(ical.activities_public().filter(campaign=campaign))
    days, total = month_days(
        activities,
        grid_first,
        grid_last,
        total_within=(campaign.month_start, campaign.month_end),
    )
    today = timezone.localdate()
    cells = []
    for day, info in days.items():
        info.update(
            date=day,
            in_month=campaign.month_start <= day <= campaign.month_end,
            is_today=day == today,
            more=info["count"] - len(info["titles"]),
            url=reverse("calendar:day", args=[day]) + filters.query,
        )
        cells.append(info)
    weeks = [cells[i : i + 7] for i in range(0, len(cells), 7)]
    context = {
        "campaign": campaign,
        "filters": filters,
        "weeks": weeks,
        "agenda": [c for c in cells if c["in_month"] and c["count"]],
        "weekdays": [(WEEKDAYS_ABBR[i], WEEKDAYS[i]) for i in range(7)],
        "total": total,
        "today_in_range": grid_first <= today <= grid_last,
        "feeds": _feed_links(request, campaign, filters),
    }
    return render(request, "calendar/month.html", context)


def _feed_links(request, campaign: Campaign, filters: CalendarFilters) -> list[dict]:
    """Subscribe (webcal://) and download links for the feeds that match the page's filters."""

    def link(label, path):
        https = request.build_absolute_uri(path)
        return {"label": label, "url": https, "webcal": "webcal://" + https.split("://", 1)[1]}

    links = [link(_("All activities of the campaign"), reverse("calendar:feed"))]
    arrangement, region = filters.key_arrangement, filters.region
    if arrangement is not None:
        links.append(
            link(str(arrangement), reverse("calendar:feed_arrangement", args=[arrangement.number]))
        )
    if region is not None:
        links.append(link(region.name, reverse("calendar:feed_region", args=[region.code])))
    if arrangement is not None and region is not None:
        label = _("%(arrangement)s, in %(region)s only") % {
            "arrangement": arrangement,
            "region": region.name,
        }
        links.append(link(label, reverse("calendar:feed") + filters.query))
    return links


# --- one day ------------------------------------------------------------------------------------


@require_safe
def day(request, day: dt.date):
    """The public activities running on `day`, by start time, paginated."""
    campaign = Campaign.objects.filter(year=day.year).first() or campaign_current()
    if campaign is None:
        raise Http404(_("There is no campaign yet."))
    filters = calendar_filters(request, campaign)
    activities = (
        _happening(filters.apply(ical.activities_public()), day, day)
        .select_related("organiser", "key_arrangement", "region__parent__parent")
        .order_by("starts_at", "pk")
    )
    page = Paginator(activities, DAY_PAGE_SIZE).get_page(request.GET.get("page"))
    for activity in page.object_list:
        activity.region_label = ical.region_path(activity.region)
        activity.multi_day = timezone.localtime(activity.starts_at).date() != day or (
            timezone.localtime(activity.ends_at).date() != day
        )
    in_month = campaign.month_start <= day <= campaign.month_end
    context = {
        "campaign": campaign,
        "filters": filters,
        "day": day,
        "page": page,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        "in_month": in_month,
        "is_today": day == timezone.localdate(),
        "month_url": reverse("calendar:month") + filters.query,
    }
    return render(request, "calendar/day.html", context)


# --- the iCalendar feeds ------------------------------------------------------------------------


def _campaign_or_404() -> Campaign:
    campaign = campaign_current()
    if campaign is None:
        raise Http404(_("There is no campaign yet."))
    return campaign


def feed_name(campaign: Campaign, arrangement: KeyArrangement | None, region: Region | None) -> str:
    """The feed's name in calendar apps (X-WR-CALNAME), in the request's language."""
    names = {"campaign": campaign.name}
    if arrangement is not None and region is not None:
        names.update(arrangement=arrangement.title, region=region.name)
        return _("%(campaign)s: %(arrangement)s in %(region)s") % names
    if arrangement is not None:
        names.update(arrangement=arrangement.title)
        return _("%(campaign)s: %(arrangement)s") % names
    if region is not None:
        names.update(region=region.name)
        return _("%(campaign)s: activities in %(region)s") % names
    return _("%(campaign)s: activities") % names


def _feed(request, activities, *, name: str, filename: str, key: str):
    """The feed of `activities`, or 304 when the client's copy is still current."""
    count, changed = ical.feed_fingerprint(activities)
    etag = ical.etag_for(key, count, changed, request.LANGUAGE_CODE)
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    response = ical.ics_response(activities, request=request, name=name, filename=filename)
    response["ETag"] = etag
    return response


@require_safe
def feed(request):
    """Every public activity of the current campaign; narrowed by the calendar's filters when the
    query string carries them."""
    campaign = _campaign_or_404()
    filters = calendar_filters(request, campaign)
    name = feed_name(campaign, filters.key_arrangement, filters.region)
    filename = "-".join(
        [f"quality-month-{campaign.year}", *(f"{k}-{v}" for k, v in filters.params.items())]
    )
    activities = ical.activities_for_feed(
        campaign, key_arrangement=filters.key_arrangement, region=filters.region
    )
    return _feed(request, activities, name=name, filename=f"{filename}.ics", key=filters.query)


@require_safe
def feed_arrangement(request, number: int):
    """The current campaign's public activities under one key arrangement."""
    campaign = _campaign_or_404()
    arrangement = get_object_or_404(KeyArrangement, campaign=campaign, number=number)
    return _feed(
        request,
        ical.activities_for_feed(campaign, key_arrangement=arrangement),
        name=feed_name(campaign, arrangement, None),
        filename=f"quality-month-{campaign.year}-arrangement-{number}.ics",
        key=f"arrangement-{number}",
    )


@require_safe
def feed_region(request, code: str):
    """The current campaign's public activities in a region and everywhere below it."""
    campaign = _campaign_or_404()
    region = get_object_or_404(Region, code=code)
    return _feed(
        request,
        ical.activities_for_feed(campaign, region=region),
        name=feed_name(campaign, None, region),
        filename=f"quality-month-{campaign.year}-region-{code}.ics",
        key=f"region-{code}",
    )


@require_safe
def activity_ics(request, pk: int):
    """One public activity as an .ics file, to add to a calendar; 404 for any other."""
    activity = get_object_or_404(
        ical.activities_public().select_related("organiser", "region__parent__parent"), pk=pk
    )
    return ical.ics_response(
        [activity], request=request, name=activity.title, filename=f"activity-{activity.pk}.ics"
    )
