"""Public pages of the campaign (no login): the list of activities and each activity's page.

The list reads page by page from a cursor on (starts_at, id) instead of an offset, so the
5,000th page costs what the first does; the number of queries does not depend on the number of
rows. Only published activities are shown, and cancelled ones, marked as such.
"""

import datetime as dt
import hashlib
import io
import json
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from qualitymonth.lazy import lazy_import

from .enums import ActivityStatus, DepartmentLevel, RegionLevel
from .models import Activity, Department, Region
from .search import activity_search
from .selectors import activities_public, campaign_current, organised_by_q, region_scope_q

# QR codes are drawn on first use: most requests never draw one.
segno = lazy_import("segno")

PER_PAGE = 20
PER_PAGE_MAX = 50
# Counting every match of a broad filter would cost a scan of the table; beyond this many the
# page says "more than".
COUNT_CAP = 1000
# Filter choices (headings, regions, departments) change rarely.
REFERENCE_CACHE_SECONDS = 300


# --- reads --------------------------------------------------------------------------------------


def signup_state(activity: Activity, now: dt.datetime | None = None) -> str:
    """Where sign-up stands: "none" (no sign-up), "cancelled", "not_yet", "open" or "closed"."""
    now = now or timezone.now()
    if activity.status == ActivityStatus.CANCELLED:
        return "cancelled"
    if not activity.signup_enabled or activity.signup_opens_at is None:
        return "none"
    if now < activity.signup_opens_at:
        return "not_yet"
    if activity.signup_closes_at is not None and now >= activity.signup_closes_at:
        return "closed"
    return "open"


def seats_left(activity: Activity) -> int | None:
    """Places left for enterprises; None when there is no limit."""
    if activity.capacity is None:
        return None
    return max(activity.capacity - activity.confirmed_count, 0)


ID_MAX = 2**63 - 1  # the largest id a database column holds
DATE_RANGE = [
    MinValueValidator(dt.date(1978, 1, 1)),
    MaxValueValidator(dt.date(2100, 12, 31)),
]


class ActivityFilterForm(forms.Form):
    """The list's query string. Values that do not parse are ignored (and said so), never a 500."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100, strip=True)
    key_arrangement = forms.IntegerField(
        label=_("Key arrangement"), required=False, min_value=1, max_value=ID_MAX
    )
    content_area = forms.IntegerField(
        label=_("Content area"), required=False, min_value=1, max_value=ID_MAX
    )
    province = forms.RegexField(label=_("Province"), regex=r"^[1-9]\d0000$", required=False)
    city = forms.RegexField(label=_("City"), regex=r"^[1-9]\d{5}$", required=False)
    organiser = forms.IntegerField(
        label=_("Organised by"), required=False, min_value=1, max_value=ID_MAX
    )
    # Outside the years a campaign can have, a date would overflow the arithmetic on it.
    date_from = forms.DateField(label=_("From"), required=False, validators=DATE_RANGE)
    date_to = forms.DateField(label=_("To"), required=False, validators=DATE_RANGE)
    open_now = forms.BooleanField(label=_("Sign-up open now"), required=False)
    per_page = forms.IntegerField(required=False, min_value=1, max_value=PER_PAGE_MAX)

    def cleaned(self) -> dict:
        """The valid values only (an invalid field counts as not given)."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}


LIST_PARAMETERS = {*ActivityFilterForm.base_fields, "after", "before"}


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def activities_filtered(campaign, filters: dict, *, now: dt.datetime) -> QuerySet[Activity]:
    """The campaign's public activities narrowed by the list's filters (see ActivityFilterForm)."""
    activities = activities_public().filter(campaign=campaign)
    if "key_arrangement" in filters:
        activities = activities.filter(key_arrangement__number=filters["key_arrangement"])
    if "content_area" in filters:
        # A subquery, not a join: an activity appears once however many areas it has.
        through = Activity.content_areas.through.objects.filter(
            contentarea__campaign=campaign, contentarea__number=filters["content_area"]
        )
        activities = activities.filter(pk__in=through.values("activity_id"))
    region_code = filters.get("city") or filters.get("province")
    if region_code:
        activities = activities.filter(region_scope_q(Region(code=region_code)))
    if "organiser" in filters:
        activities = activities.filter(organised_by_q(filters["organiser"]))
    if "date_from" in filters:
        activities = activities.filter(ends_at__gte=_day_start(filters["date_from"]))
    if "date_to" in filters:
        activities = activities.filter(
            starts_at__lt=_day_start(filters["date_to"] + dt.timedelta(days=1))
        )
    if filters.get("open_now"):
        activities = activities.filter(
            status=ActivityStatus.APPROVED,
            signup_enabled=True,
            signup_opens_at__lte=now,
            signup_closes_at__gt=now,
        )
    return activity_search(activities, filters.get("q", ""))


def activity_count(
    activities: QuerySet[Activity], *, searching: bool, shown: int, complete: bool
) -> tuple[int, str]:
    """How many activities the list holds, as (number, kind), in one query whatever the answer.

    Kind "exact"; "more" (more than the number: counting stopped at COUNT_CAP); or "about" (the
    planner's estimate). A search on PostgreSQL is estimated rather than counted: counting every
    match of a common character would test each row's search text, while the page itself stops
    after its 20 rows. When the page shows every match, its rows are the exact count."""
    if searching and connection.vendor == "postgresql":
        sql, params = activities.order_by().values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        estimate = int(plan[0]["Plan"]["Plan Rows"])
        if complete:
            return shown, "exact"
        if estimate <= shown:
            return shown, "more"
        digits = max(len(str(estimate)) - 2, 0)  # two significant digits
        return round(estimate, -digits), "about"
    count = activities.order_by().values("pk")[: COUNT_CAP + 1].count()
    return (COUNT_CAP, "more") if count > COUNT_CAP else (count, "exact")


# --- the cursor ---------------------------------------------------------------------------------


def cursor_of(activity: Activity) -> str:
    """A row's place in the list: its start (microseconds since the epoch) and its id."""
    micros = int(activity.starts_at.timestamp()) * 1_000_000 + activity.starts_at.microsecond
    return f"{micros}.{activity.pk}"


def parse_cursor(value: str | None) -> tuple[dt.datetime, int] | None:
    try:
        micros, pk = (int(part) for part in (value or "").split("."))
        when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)
    except (TypeError, ValueError, OverflowError):
        return None
    return when, pk


def keyset_page(
    activities: QuerySet[Activity], *, after: str | None, before: str | None, size: int
) -> tuple[list[Activity], bool, bool]:
    """One page of `activities` in (starts_at, id) order after or before a cursor, in one query.

    Returns the rows and whether there are rows before and after them."""
    position = parse_cursor(before) if before else parse_cursor(after)
    backwards = bool(before) and position is not None
    if position is not None:
        when, pk = position
        if backwards:
            activities = activities.filter(
                Q(starts_at__lt=when) | Q(starts_at=when, pk__lt=pk), starts_at__lte=when
            )
        else:
            activities = activities.filter(
                Q(starts_at__gt=when) | Q(starts_at=when, pk__gt=pk), starts_at__gte=when
            )
    order = ("-starts_at", "-pk") if backwards else ("starts_at", "pk")
    rows = list(activities.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
        return rows, more, True
    return rows, position is not None, more


# --- views --------------------------------------------------------------------------------------


def _choices(campaign, province: str | None) -> dict:
    """What the filter form offers, as (value, label) pairs in the reader's language; cached a
    while, as reference data rarely changes. Organisers: national and provincial departments
    (any other, reached from an activity's page, is added by the view when chosen)."""
    seconds = settings.PUBLIC_LIST_CACHE_SECONDS and REFERENCE_CACHE_SECONDS
    key = f"public:choices:{campaign.pk}:{get_language()}:{province or ''}"
    choices = cache.get(key) if seconds else None
    if choices is None:
        regions = Region.objects.filter(
            Q(level=RegionLevel.PROVINCE) | Q(level=RegionLevel.CITY, parent__code=province or "-")
        ).only("code", "name_zh", "name_en", "level")
        regions = list(regions)
        choices = {
            "key_arrangements": [
                (ka.pk, ka.number, f"{ka.number}. {ka.title}")
                for ka in campaign.key_arrangements.order_by("number")
            ],
            "content_areas": [
                (area.number, f"{area.number}. {area.title}")
                for area in campaign.content_areas.order_by("number")
            ],
            "provinces": [(r.code, r.name) for r in regions if r.level == RegionLevel.PROVINCE],
            "cities": [(r.code, r.name) for r in regions if r.level == RegionLevel.CITY],
            "organisers": [
                (d.pk, d.name)
                for d in Department.objects.filter(
                    level__in=(DepartmentLevel.NATIONAL, DepartmentLevel.PROVINCIAL),
                    is_active=True,
                )
                .only("pk", "name_zh", "name_en", "level")
                .order_by("level", "name_zh")
            ],
        }
        if seconds:
            cache.set(key, choices, seconds)
    return choices


def _current_campaign():
    """The campaign the list shows; the list's cache also remembers which one that is."""
    if not settings.PUBLIC_LIST_CACHE_SECONDS:
        return campaign_current()
    campaign = cache.get("public:campaign")
    if campaign is None:
        campaign = campaign_current()
        if campaign is not None:
            cache.set("public:campaign", campaign, settings.PUBLIC_LIST_CACHE_SECONDS)
    return campaign


def _results(request, campaign, form: ActivityFilterForm) -> str:
    """The list's filter form, count, cards and page links, rendered (no request-specific data:
    the fragment can be cached for everyone who asks the same)."""
    filters = form.cleaned()
    now = timezone.now()
    size = filters.pop("per_page", PER_PAGE)
    choices = _choices(campaign, filters.get("province"))
    activities = activities_filtered(campaign, filters, now=now)
    rows, has_previous, has_next = keyset_page(
        activities.select_related("organiser", "region", "region__parent").defer(
            "description", "search_text", "summary", "cancellation_reason"
        ),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=size,
    )
    count, count_kind = activity_count(
        activities,
        searching=bool(filters.get("q")),
        shown=len(rows),
        complete=not (has_previous or has_next),
    )
    arrangements = {pk: label for pk, _number, label in choices["key_arrangements"]}
    provinces = dict(choices["provinces"])
    for activity in rows:
        activity.signup = signup_state(activity, now)
        activity.seats_left = seats_left(activity)
        activity.arrangement = arrangements.get(activity.key_arrangement_id, "")
        region, place = activity.region, []
        if region.parent is not None and region.parent.parent_id is not None:
            place.append(provinces.get(region.code[:2] + "0000", ""))
        if region.parent is not None:
            place.append(region.parent.name)
        place.append(region.name)
        activity.place = " · ".join(p for p in place if p)
    organisers = choices["organisers"]
    if "organiser" in filters and all(pk != filters["organiser"] for pk, _ in organisers):
        chosen = Department.objects.filter(pk=filters["organiser"]).first()
        organisers = [*organisers, (chosen.pk, chosen.name)] if chosen else organisers
    query = {k: v for k, v in request.GET.items() if k in form.fields and k in filters}
    if size != PER_PAGE:
        query["per_page"] = size
    base = urlencode(query)
    sep = "&" if base else ""
    context = {
        "filters": filters,
        "rows": rows,
        "count": count,
        "count_kind": count_kind,
        "first_url": f"?{base}" if (has_previous or request.GET.get("after")) else "",
        "previous_url": f"?{base}{sep}before={cursor_of(rows[0])}" if rows and has_previous else "",
        "next_url": f"?{base}{sep}after={cursor_of(rows[-1])}" if rows and has_next else "",
        "invalid": [form.fields[name].label for name in form.errors if name != "per_page"],
        **choices,
        "organisers": organisers,
    }
    return render_to_string("public/_activity_results.html", context)


@require_safe
def activity_list(request):
    """The current campaign's activities, filtered, searched and in date order.

    The part below the heading is the same for everyone asking the same question in the same
    language, so it is cached for PUBLIC_LIST_CACHE_SECONDS (places left may lag that long;
    each activity's own page is live). Anonymous visitors, who are most of the traffic, get the
    whole page from the cache: it holds nothing personal (no CSRF token: the language switch is a
    link), and the key includes the language and the full query."""
    page_key = None
    if (
        settings.PUBLIC_LIST_CACHE_SECONDS
        and not request.user.is_authenticated
        and not len(get_messages(request))
        # Only questions the list understands: junk parameters must not fill the cache.
        and set(request.GET) <= LIST_PARAMETERS
        and len(request.GET.urlencode()) <= 300
    ):
        page_key = (
            "public:page:"
            + hashlib.sha256(repr((get_language(), request.get_full_path())).encode()).hexdigest()
        )
        cached = cache.get(page_key)
        if cached is not None:
            response = HttpResponse(cached)
            patch_vary_headers(response, ("Cookie",))
            return response
    response = _activity_list_page(request)
    if page_key and response.status_code == 200:
        cache.set(page_key, response.content, settings.PUBLIC_LIST_CACHE_SECONDS)
    patch_vary_headers(response, ("Cookie",))
    return response


def _activity_list_page(request):
    campaign = _current_campaign()
    context = {
        "campaign": campaign,
        "canonical_url": settings.SITE_URL + reverse("public:activity_list"),
    }
    if campaign is not None:
        form = ActivityFilterForm(request.GET)
        seconds = settings.PUBLIC_LIST_CACHE_SECONDS
        asked = sorted(
            (k, v) for k, v in request.GET.items() if k in form.fields or k in ("after", "before")
        )
        key = (
            "public:list:"
            + hashlib.sha256(repr((campaign.pk, get_language(), asked)).encode()).hexdigest()
        )
        results = cache.get(key) if seconds else None
        if results is None:
            results = _results(request, campaign, form)
            if seconds:
                cache.set(key, results, seconds)
        context["results"] = mark_safe(results)  # noqa: S308 - rendered by our own template  # nosec B308 B703
    return render(request, "public/activity_list.html", context)


def _public_activity(pk: int) -> Activity:
    return get_object_or_404(
        activities_public()
        .select_related(
            "campaign",
            "key_arrangement",
            "organiser",
            "region",
            "region__parent",
            "region__parent__parent",
        )
        .prefetch_related("co_organisers", "content_areas"),
        pk=pk,
    )


def activity_absolute_url(activity_pk: int) -> str:
    """The page's canonical address, the one shared and encoded in the QR code."""
    return settings.SITE_URL + reverse("public:activity_detail", args=[activity_pk])


def region_path(region: Region) -> list[Region]:
    """The region and those above it, province first."""
    path = []
    while region is not None:
        path.append(region)
        region = region.parent
    return path[::-1]


@require_safe
def activity_detail(request, pk: int):
    """Everything an enterprise needs to decide whether to take part.

    Anonymous visitors (most of the traffic when a page is shared) get the page from the cache
    for PUBLIC_DETAIL_CACHE_SECONDS: it holds nothing personal, and places left may lag that
    long; saving or cancelling the activity drops it at once. Signed-in people, who sign up from
    here, always get it live."""
    key = None
    if (
        settings.PUBLIC_DETAIL_CACHE_SECONDS
        and not request.user.is_authenticated
        and not request.GET
        and not len(get_messages(request))
    ):
        key = detail_cache_key(pk, get_language())
        cached = cache.get(key)
        if cached is not None:
            response = HttpResponse(cached)
            patch_vary_headers(response, ("Cookie",))
            return response
    response = _activity_detail_page(request, pk)
    if key and response.status_code == 200:
        cache.set(key, response.content, settings.PUBLIC_DETAIL_CACHE_SECONDS)
    patch_vary_headers(response, ("Cookie",))
    return response


def detail_cache_key(pk: int, language: str) -> str:
    return f"public:detail:{language}:{pk}"


def _activity_detail_page(request, pk: int):
    activity = _public_activity(pk)
    now = timezone.now()
    url = activity_absolute_url(activity.pk)
    return render(
        request,
        "public/activity_detail.html",
        {
            "activity": activity,
            "signup": signup_state(activity, now),
            "seats_left": seats_left(activity),
            "region_path": region_path(activity.region),
            "co_organisers": list(activity.co_organisers.all()),
            "content_areas": sorted(activity.content_areas.all(), key=lambda a: a.number),
            "canonical_url": url,
            "share_description": activity.summary or activity.description[:150],
            "now": now,
        },
    )


def activity_qr_svg(activity_pk: int) -> bytes:
    """A QR code (SVG) of the activity page's address, made here (no outside service)."""
    qr = segno.make(activity_absolute_url(activity_pk), error="m")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=6, border=2, xmldecl=False, svgclass="qr", lineclass=None)
    return out.getvalue()


@require_safe
def activity_qr(request, pk: int):
    """The QR code of an activity's page, for posters and for sharing in WeChat."""
    if not activities_public().filter(pk=pk).exists():
        raise Http404
    response = HttpResponse(activity_qr_svg(pk), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    if "download" in request.GET:
        response["Content-Disposition"] = f'attachment; filename="activity-{pk}-qr.svg"'
    return response
