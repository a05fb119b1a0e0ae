"""The public campaign calendar (month grid, day list) and its iCalendar feeds."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from activities.enums import ActivityStatus, RegionLevel
from tests import factories

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(day: int, hour: int = 9, month: int = 9, year: int = 2024) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def client(client):
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def campaign():
    campaign = factories.CampaignFactory(year=2024)
    for number in range(1, 4):
        factories.KeyArrangementFactory(
            campaign=campaign, number=number, title_en=f"Arrangement {number}"
        )
    return campaign


@pytest.fixture
def guangdong():
    return factories.ProvinceFactory(code="440000", name_zh="广东省", name_en="Guangdong")


@pytest.fixture
def guangzhou(guangdong):
    return factories.CityFactory(
        code="440100", name_zh="广州市", name_en="Guangzhou", parent=guangdong
    )


@pytest.fixture
def zhejiang():
    return factories.ProvinceFactory(code="330000", name_zh="浙江省", name_en="Zhejiang")


def activity(campaign, *, day=10, hour=9, hours=3, number=1, region=None, **kwargs):
    starts = at(day, hour)
    organiser = factories.DepartmentFactory(region=region) if region else None
    extra = {"organiser": organiser, "region": region} if region else {}
    return factories.ActivityFactory(
        campaign=campaign,
        key_arrangement=campaign.key_arrangements.get(number=number),
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=hours),
        **extra,
        **kwargs,
    )


def cell(response, day: int, month: int = 9):
    wanted = dt.date(2024, month, day)
    return next(c for week in response.context["weeks"] for c in week if c["date"] == wanted)


def day_url(day: int, **params) -> str:
    url = reverse("calendar:day", args=[dt.date(2024, 9, day)])
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


# --- the month ---------------------------------------------------------------------------------


def test_month_grid_starts_on_monday_and_covers_september(client, campaign):
    response = client.get(reverse("calendar:month"))

    assert response.status_code == 200
    weeks = response.context["weeks"]
    # 1 September 2024 is a Sunday: the grid opens on Monday 26 August, closes on Sunday 6 October.
    assert weeks[0][0]["date"] == dt.date(2024, 8, 26)
    assert weeks[-1][-1]["date"] == dt.date(2024, 10, 6)
    assert all(len(week) == 7 for week in weeks)
    assert all(week[0]["date"].weekday() == 0 for week in weeks)
    assert cell(response, 31, month=8)["in_month"] is False
    assert cell(response, 1)["in_month"] is True
    assert cell(response, 30)["in_month"] is True
    assert response.context["weekdays"][0][0] == "Mon"


def test_month_counts_published_activities_per_day_and_never_drafts(client, campaign):
    forum = activity(campaign, day=10, title="Quality forum")
    activity(campaign, day=10, hour=14, title="Afternoon training")
    activity(campaign, day=10, title="Secret draft", status=ActivityStatus.DRAFT)
    activity(campaign, day=10, title="Waiting review", status=ActivityStatus.SUBMITTED)
    activity(campaign, day=12, title="Rejected one", status=ActivityStatus.REJECTED)

    response = client.get(reverse("calendar:month"))

    tenth = cell(response, 10)
    assert tenth["count"] == 2
    assert [t["title"] for t in tenth["titles"]] == ["Quality forum", "Afternoon training"]
    assert cell(response, 11)["count"] == 0
    assert cell(response, 12)["count"] == 0
    assert response.context["total"] == 2
    page = response.content.decode()
    assert "Quality forum" in page
    assert "Secret draft" not in page
    assert "Waiting review" not in page
    assert "Rejected one" not in page
    assert day_url(10) in page
    assert forum.pk  # the published one made it


def test_month_marks_cancelled_activities(client, campaign):
    activity(campaign, day=11, title="Called off", status=ActivityStatus.CANCELLED)
    activity(campaign, day=11, title="Still on")

    response = client.get(reverse("calendar:month"))

    eleventh = cell(response, 11)
    assert eleventh["count"] == 2
    assert eleventh["cancelled"] == 1
    assert {t["title"]: t["cancelled"] for t in eleventh["titles"]} == {
        "Called off": True,
        "Still on": False,
    }
    assert '<li class="cancelled"><span class="badge status-cancelled">Cancelled</span>' in (
        response.content.decode()
    )


def test_an_activity_of_several_days_counts_on_each(client, campaign):
    activity(campaign, day=20, hours=24 * 2 + 8, title="Publicity week")

    response = client.get(reverse("calendar:month"))

    assert [cell(response, d)["count"] for d in (19, 20, 21, 22, 23)] == [0, 1, 1, 1, 0]
    assert [t["title"] for t in cell(response, 20)["titles"]] == ["Publicity week"]
    assert cell(response, 21)["more"] == 1  # continuing: counted, listed on the day page
    assert response.context["total"] == 1  # the month holds one activity, whatever its length
    assert "continuing from earlier days" in response.content.decode()


def test_month_shows_first_titles_and_how_many_more(client, campaign):
    for hour in range(8, 14):
        activity(campaign, day=15, hour=hour, title=f"Session at {hour}")

    response = client.get(reverse("calendar:month"))

    fifteenth = cell(response, 15)
    assert fifteenth["count"] == 6
    assert [t["title"] for t in fifteenth["titles"]] == [
        "Session at 8",
        "Session at 9",
        "Session at 10",
    ]
    assert fifteenth["more"] == 3
    assert "and 3 more" in response.content.decode()


def test_month_filters_by_key_arrangement_and_province_and_carries_them(
    client, campaign, guangdong, guangzhou, zhejiang
):
    activity(campaign, day=10, number=2, region=guangzhou, title="Canton chain")
    activity(campaign, day=10, number=1, region=guangzhou, title="Canton forum")
    activity(campaign, day=10, number=2, region=zhejiang, title="Zhejiang chain")

    response = client.get(reverse("calendar:month"), {"key_arrangement": 2, "province": "440000"})

    tenth = cell(response, 10)
    assert tenth["count"] == 1
    assert [t["title"] for t in tenth["titles"]] == ["Canton chain"]
    assert tenth["url"] == day_url(10, key_arrangement=2, province="440000")
    page = response.content.decode()
    assert '<option value="2" selected>' in page
    assert '<option value="440000" selected>' in page
    # The feeds offered follow the filters.
    assert "webcal://testserver/calendar/arrangements/2.ics" in page
    assert "webcal://testserver/calendar/regions/440000.ics" in page
    assert "webcal://testserver/calendar/activities.ics?key_arrangement=2&amp;province=440000" in (
        page
    )


def test_month_accepts_a_city_and_ignores_filters_that_name_nothing(
    client, campaign, guangzhou, zhejiang
):
    activity(campaign, day=10, region=guangzhou)
    activity(campaign, day=10, region=zhejiang)

    by_city = client.get(reverse("calendar:month"), {"city": "440100"})
    moved = client.get(reverse("calendar:month"), {"city": "440100", "province": "330000"})
    nonsense = client.get(reverse("calendar:month"), {"province": "99", "key_arrangement": "x"})

    assert cell(by_city, 10)["count"] == 1
    page = by_city.content.decode()
    assert '<input type="hidden" name="city" value="440100">' in page
    assert '<option value="440000" selected>Guangdong</option>' in page
    assert cell(by_city, 10)["url"] == day_url(10, province="440000", city="440100")
    assert cell(moved, 10)["count"] == 1  # the city outside Zhejiang is dropped
    assert moved.context["filters"].city is None
    assert nonsense.status_code == 200
    assert cell(nonsense, 10)["count"] == 2


def test_phone_agenda_lists_only_the_days_with_activities(client, campaign):
    activity(campaign, day=3)
    activity(campaign, day=25)

    response = client.get(reverse("calendar:month"))

    assert [c["date"].day for c in response.context["agenda"]] == [3, 25]


def test_today_is_marked_when_it_lies_in_the_grid(client):
    today = timezone.localdate()
    factories.CampaignFactory(
        year=today.year,
        month_start=today - dt.timedelta(days=3),
        month_end=today + dt.timedelta(days=3),
        feedback_deadline=today + dt.timedelta(days=30),
    )

    response = client.get(reverse("calendar:month"))

    marked = [c["date"] for week in response.context["weeks"] for c in week if c["is_today"]]
    assert marked == [today]
    assert 'aria-current="date"' in response.content.decode()


def test_without_a_campaign_the_calendar_says_so(client, db):
    response = client.get(reverse("calendar:month"))

    assert response.status_code == 200
    assert "appears as soon as the next campaign is published" in response.content.decode()
    assert client.get(reverse("calendar:feed")).status_code == 404


def count_queries(client, url) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), [q["sql"] for q in queries]


def test_month_query_count_is_constant(client, campaign):
    activity(campaign, day=5, hours=30)
    client.get(reverse("calendar:month"))  # warm up
    one, sql = count_queries(client, reverse("calendar:month"))
    activity(campaign, day=6, number=2)
    activity(campaign, day=7, number=3, status=ActivityStatus.CANCELLED)
    three, _sql = count_queries(client, reverse("calendar:month"))

    assert one == three
    assert len([q for q in sql if "COUNT(" in q.upper()]) == 1  # one aggregate for the month


# --- one day -----------------------------------------------------------------------------------


def test_day_lists_that_days_activities_in_order(client, campaign, guangzhou):
    late = activity(campaign, day=10, hour=15, title="Afternoon clinic", region=guangzhou)
    early = activity(campaign, day=10, hour=8, title="Morning forum", venue="Canton Hall")
    week = factories.ActivityFactory(
        campaign=campaign,
        key_arrangement=campaign.key_arrangements.get(number=1),
        title="Publicity week",
        starts_at=at(8),
        ends_at=at(14, 17),
    )
    activity(campaign, day=11, title="On the eleventh")
    activity(campaign, day=10, title="A draft", status=ActivityStatus.DRAFT)

    response = client.get(day_url(10))

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [week, early, late]
    page = response.content.decode()
    assert "On the eleventh" not in page
    assert "A draft" not in page
    assert ">08:00</time> – <time" in page
    assert early.organiser.name in page
    assert "Guangdong Guangzhou" in page  # the region as an address reads
    assert "Canton Hall" in page
    assert reverse("calendar:activity_ics", args=[late.pk]) in page
    assert f'id="activity-{late.pk}"' in page


def test_day_marks_cancelled_activities(client, campaign):
    activity(campaign, day=10, title="Called off", status=ActivityStatus.CANCELLED)

    page = client.get(day_url(10)).content.decode()

    assert "Called off" in page
    assert 'class="card cancelled"' in page
    assert '<span class="badge status-cancelled">Cancelled</span>' in page


def test_day_filters_carry_through(client, campaign, guangzhou, zhejiang):
    activity(campaign, day=10, number=3, region=guangzhou, title="Canton")
    activity(campaign, day=10, number=3, region=zhejiang, title="Hangzhou")
    activity(campaign, day=10, number=1, region=guangzhou, title="Other arrangement")

    response = client.get(day_url(10, key_arrangement=3, province="440000"))

    assert [a.title for a in response.context["page"].object_list] == ["Canton"]
    page = response.content.decode()
    assert day_url(11, key_arrangement=3, province="440000").replace("&", "&amp;") in page
    assert reverse("calendar:month") + "?key_arrangement=3&amp;province=440000" in page


def test_day_with_an_impossible_date_is_404(client, campaign):
    assert client.get("/calendar/2024-02-30/").status_code == 404
    assert client.get("/calendar/2024-9-1/").status_code == 404


def test_day_is_paginated(client, campaign, settings):
    from activities import calendar_views

    for hour in range(3):
        activity(campaign, day=10, hour=8 + hour)
    calendar_views_page_size = calendar_views.DAY_PAGE_SIZE
    calendar_views.DAY_PAGE_SIZE = 2
    try:
        first = client.get(day_url(10))
        second = client.get(day_url(10, page=2))
    finally:
        calendar_views.DAY_PAGE_SIZE = calendar_views_page_size

    assert len(first.context["page"].object_list) == 2
    assert len(second.context["page"].object_list) == 1
    assert "Page 1 of 2" in first.content.decode()


def test_day_query_count_is_constant(client, campaign, guangzhou):
    url = day_url(10, province="440000", key_arrangement=1)
    activity(campaign, day=10, hour=8, region=guangzhou)
    client.get(url)
    one, _sql = count_queries(client, url)
    activity(campaign, day=10, hour=9, region=guangzhou)
    activity(campaign, day=10, hour=10, region=guangzhou)
    three, _sql = count_queries(client, url)

    assert one == three


# --- the iCalendar feeds -----------------------------------------------------------------------


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return Calendar.from_ical(body)


def events(calendar: Calendar) -> dict[str, object]:
    return {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}


def test_feed_of_all_activities_parses_and_holds_the_published_ones(client, campaign, guangzhou):
    forum = activity(campaign, day=10, title="Quality forum", region=guangzhou, venue="Canton Hall")
    activity(campaign, day=11, title="Called off", status=ActivityStatus.CANCELLED)
    activity(campaign, day=12, title="A draft", status=ActivityStatus.DRAFT)
    activity(campaign, day=12, title="Submitted", status=ActivityStatus.SUBMITTED)
    other_year = factories.CampaignFactory(year=2023)
    factories.ActivityFactory(campaign=other_year, title="Last year")

    response = client.get(reverse("calendar:feed"))

    assert response.streaming  # never built whole in memory
    assert response["Content-Disposition"] == 'attachment; filename="quality-month-2024.ics"'
    calendar = parse(response)
    assert str(calendar["X-WR-CALNAME"]) == "2024 National Quality Month: activities"
    assert str(calendar["VERSION"]) == "2.0"
    found = events(calendar)
    assert set(found) == {"Quality forum", "Cancelled: Called off"}
    event = found["Quality forum"]
    assert str(event["UID"]) == f"activity-{forum.pk}@127.0.0.1"
    assert event.decoded("DTSTART") == at(10, 9)
    assert event.decoded("DTSTART").utcoffset() == dt.timedelta(0)  # written in UTC
    assert event.decoded("DTEND") == at(10, 12)
    assert str(event["LOCATION"]) == "Canton Hall, Guangdong Guangzhou"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "voluntary and free of charge" in str(event["DESCRIPTION"])
    assert forum.summary in str(event["DESCRIPTION"])
    assert str(event["URL"]).startswith("http://testserver/")
    assert "DTSTAMP" in event
    assert event.decoded("LAST-MODIFIED") == forum.updated_at.replace(microsecond=0)
    assert str(found["Cancelled: Called off"]["STATUS"]) == "CANCELLED"


def test_feed_links_to_the_public_page_or_the_day_list(client, campaign):
    forum = activity(campaign, day=10, title="Quality forum")

    event = events(parse(client.get(reverse("calendar:feed"))))["Quality forum"]

    try:
        expected = reverse("public:activity_detail", args=[forum.pk])
    except Exception:  # the public activity page is not there yet
        expected = day_url(10) + f"#activity-{forum.pk}"
    assert str(event["URL"]) == "http://testserver" + expected


def test_feed_name_follows_the_language(campaign):
    from django.test import Client

    activity(campaign, day=10)
    chinese = Client()
    chinese.cookies["django_language"] = "zh-hans"

    calendar = parse(chinese.get(reverse("calendar:feed")))

    assert str(calendar["X-WR-CALNAME"]).startswith("2024年全国“质量月”活动")


def test_feed_per_key_arrangement(client, campaign):
    activity(campaign, day=10, number=2, title="Chain")
    activity(campaign, day=10, number=1, title="Forum")

    response = client.get(reverse("calendar:feed_arrangement", args=[2]))

    assert response["Content-Disposition"] == (
        'attachment; filename="quality-month-2024-arrangement-2.ics"'
    )
    calendar = parse(response)
    assert set(events(calendar)) == {"Chain"}
    assert str(calendar["X-WR-CALNAME"]) == "2024 National Quality Month: Arrangement 2"
    assert client.get(reverse("calendar:feed_arrangement", args=[9])).status_code == 404


def test_feed_per_region_includes_everything_below_it(
    client, campaign, guangdong, guangzhou, zhejiang
):
    county = factories.CountyFactory(code="440106", parent=guangzhou)
    activity(campaign, day=10, region=guangdong, title="Province")
    activity(campaign, day=10, region=county, title="County")
    activity(campaign, day=10, region=zhejiang, title="Elsewhere")

    province = parse(client.get(reverse("calendar:feed_region", args=["440000"])))
    city = parse(client.get(reverse("calendar:feed_region", args=["440100"])))

    assert set(events(province)) == {"Province", "County"}
    assert set(events(city)) == {"County"}
    assert str(province["X-WR-CALNAME"]) == "2024 National Quality Month: activities in Guangdong"
    assert client.get(reverse("calendar:feed_region", args=["999999"])).status_code == 404
    assert county.level == RegionLevel.COUNTY


def test_feed_with_both_filters_in_the_query_string(client, campaign, guangzhou, zhejiang):
    activity(campaign, day=10, number=2, region=guangzhou, title="Match")
    activity(campaign, day=10, number=2, region=zhejiang, title="Wrong region")
    activity(campaign, day=10, number=1, region=guangzhou, title="Wrong arrangement")

    response = client.get(
        reverse("calendar:feed"), {"key_arrangement": 2, "province": "440000", "city": "440100"}
    )

    assert set(events(parse(response))) == {"Match"}


def test_one_activity_ics(client, campaign):
    forum = activity(campaign, day=10, title="Quality forum")
    cancelled = activity(campaign, day=11, title="Off", status=ActivityStatus.CANCELLED)

    response = client.get(reverse("calendar:activity_ics", args=[forum.pk]))

    assert response["Content-Disposition"] == f'attachment; filename="activity-{forum.pk}.ics"'
    calendar = parse(response)
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [f"activity-{forum.pk}@127.0.0.1"]
    assert str(calendar["X-WR-CALNAME"]) == "Quality forum"
    off = parse(client.get(reverse("calendar:activity_ics", args=[cancelled.pk])))
    assert [str(e["STATUS"]) for e in off.walk("VEVENT")] == ["CANCELLED"]


@pytest.mark.parametrize(
    "status",
    [
        ActivityStatus.DRAFT,
        ActivityStatus.SUBMITTED,
        ActivityStatus.RETURNED,
        ActivityStatus.REJECTED,
    ],
)
def test_one_activity_ics_is_404_unless_published(client, campaign, status):
    hidden = activity(campaign, day=10, status=status)

    assert client.get(reverse("calendar:activity_ics", args=[hidden.pk])).status_code == 404


def test_feed_answers_304_while_nothing_changed(client, campaign):
    forum = activity(campaign, day=10)
    first = client.get(reverse("calendar:feed"))
    etag = first["ETag"]

    again = client.get(reverse("calendar:feed"), HTTP_IF_NONE_MATCH=etag)
    forum.title = "Renamed"
    forum.save()
    changed = client.get(reverse("calendar:feed"), HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert changed.status_code == 200
    assert set(events(parse(changed))) == {"Renamed"}


def test_feed_reads_through_an_iterator(client, campaign, monkeypatch):
    """The feed never loads the whole queryset: rows come from QuerySet.iterator in chunks."""
    from django.db.models import QuerySet

    for day in range(1, 6):
        activity(campaign, day=day)
    chunk_sizes = []
    original = QuerySet.iterator

    def iterator(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", iterator)

    assert len(parse(client.get(reverse("calendar:feed"))).walk("VEVENT")) == 5
    assert chunk_sizes == [2000]
