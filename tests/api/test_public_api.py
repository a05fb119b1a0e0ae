"""The public read API for anonymous callers: the public list's filters, the .ics of one
activity, and a constant number of queries."""

import datetime as dt

import pytest
from django.utils import timezone
from icalendar import Calendar

from activities.enums import ActivityStatus
from tests import factories

from .world import ids

pytestmark = pytest.mark.django_db

LIST = "/api/v1/activities/"


def open_window(**kwargs) -> dict:
    """Fields of an activity whose sign-up is open right now."""
    now = timezone.now()
    starts = now + dt.timedelta(days=5)
    return {
        "starts_at": starts,
        "ends_at": starts + dt.timedelta(hours=3),
        "signup_enabled": True,
        "signup_opens_at": now - dt.timedelta(days=1),
        "signup_closes_at": now + dt.timedelta(days=1),
        **kwargs,
    }


# --- the public list's filters -----------------------------------------------------------------


def test_drafts_and_submissions_never_reach_anonymous_callers(api, world):
    published = world.activity(world.gd_amr)
    world.draft(world.gd_amr)
    world.activity(world.gd_amr, status=ActivityStatus.SUBMITTED)
    world.activity(world.gd_amr, status=ActivityStatus.REJECTED)

    assert ids(api.get(LIST)) == [published.pk]


def test_filter_by_province_and_city_as_on_the_public_list(api, world):
    in_tianhe = world.activity(world.gz_amr, region=world.tianhe)
    in_guangdong = world.activity(world.gd_amr)
    in_hangzhou = world.activity(world.zj_amr, region=world.hangzhou)

    assert ids(api.get(LIST, {"province": "440000"})) == [in_tianhe.pk, in_guangdong.pk]
    assert ids(api.get(LIST, {"province": "440000", "city": "440100"})) == [in_tianhe.pk]
    assert ids(api.get(LIST, {"city": "330100"})) == [in_hangzhou.pk]
    assert api.get(LIST, {"province": "990000"}).status_code == 400  # unknown code


def test_filter_by_sign_up_open_now(api, world):
    now = timezone.now()
    open_ = world.activity(world.gd_amr, **open_window())
    world.activity(world.gd_amr, **open_window(signup_enabled=False))
    world.activity(
        world.gd_amr, **open_window(signup_opens_at=now + dt.timedelta(hours=1))
    )  # not yet
    world.activity(world.gd_amr)  # its window closed long ago

    assert ids(api.get(LIST, {"open_now": "true"})) == [open_.pk]
    assert len(ids(api.get(LIST, {"open_now": "false"}))) == 4


def test_cancelled_activity_is_not_open_for_sign_up(world):
    from .world import client_as

    admin = factories.AdminFactory()
    world.activity(world.gd_amr, **open_window(status=ActivityStatus.CANCELLED))

    assert ids(client_as(admin).get(LIST, {"open_now": "true"})) == []


def test_filter_by_date_range(api, world):
    def on(day):
        starts = timezone.make_aware(dt.datetime(2024, 9, day, 9))
        return world.activity(
            world.gd_amr, starts_at=starts, ends_at=starts + dt.timedelta(hours=2)
        )

    first, middle, last = on(2), on(15), on(28)

    assert ids(api.get(LIST, {"date_from": "2024-09-10", "date_to": "2024-09-20"})) == [middle.pk]
    assert ids(api.get(LIST, {"date_from": "2024-09-15"})) == [middle.pk, last.pk]
    assert ids(api.get(LIST, {"date_to": "2024-09-02"})) == [first.pk]


def test_search_finds_chinese_of_any_length_in_title_and_description(api, world):
    water = world.activity(
        world.gd_amr, title="净水器免费检测进社区", description="为居民检测家用净水器"
    )
    medicine = world.activity(
        world.gd_amr, title="基层医疗服务质量提升", description="医药器械质量讲座"
    )

    assert ids(api.get(LIST, {"q": "净"})) == [water.pk]
    assert ids(api.get(LIST, {"q": "医药"})) == [medicine.pk]  # only in the description
    assert ids(api.get(LIST, {"q": "质量提升"})) == [medicine.pk]
    assert set(ids(api.get(LIST, {"q": "器"}))) == {water.pk, medicine.pk}
    assert ids(api.get(LIST, {"q": "净水器 社区"})) == [water.pk]  # every word must appear
    assert ids(api.get(LIST, {"q": "航天"})) == []


def test_filters_combine(api, world):
    match = world.activity(
        world.gz_amr, region=world.tianhe, key_arrangement=world.arrangement(8), **open_window()
    )
    match.content_areas.set(world.campaign.content_areas.filter(number=5))
    world.activity(world.gz_amr, region=world.tianhe, key_arrangement=world.arrangement(8))
    world.activity(
        world.zj_amr, region=world.hangzhou, key_arrangement=world.arrangement(8), **open_window()
    )

    response = api.get(
        LIST,
        {
            "campaign": 2024,
            "key_arrangement": 8,
            "content_area": 5,
            "province": "440000",
            "organiser": world.gz_amr.pk,
            "open_now": "true",
            "q": "质量",
        },
    )

    assert ids(response) == [match.pk]


# --- one activity as .ics ----------------------------------------------------------------------


def ics(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return Calendar.from_ical(body)


def test_ical_of_a_published_activity(api, world):
    forum = world.activity(world.gz_amr, region=world.tianhe, title="质量强企论坛")

    response = api.get(f"{LIST}{forum.pk}/ical/")

    assert response["Content-Disposition"] == f'attachment; filename="activity-{forum.pk}.ics"'
    (event,) = ics(response).walk("VEVENT")
    assert str(event["SUMMARY"]) == "质量强企论坛"
    assert str(event["UID"]) == f"activity-{forum.pk}@127.0.0.1"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "广东省 广州市 天河区" in str(event["LOCATION"])


def test_ical_accepts_any_accept_header_clients_send(api, world):
    forum = world.activity(world.gd_amr)

    response = api.get(f"{LIST}{forum.pk}/ical/", HTTP_ACCEPT="text/calendar")

    assert len(ics(response).walk("VEVENT")) == 1


def test_ical_of_a_cancelled_activity_says_so(api, world):
    cancelled = world.activity(world.gd_amr, status=ActivityStatus.CANCELLED)

    (event,) = ics(api.get(f"{LIST}{cancelled.pk}/ical/")).walk("VEVENT")

    assert str(event["STATUS"]) == "CANCELLED"


@pytest.mark.parametrize(
    "status", [ActivityStatus.DRAFT, ActivityStatus.SUBMITTED, ActivityStatus.REJECTED]
)
def test_ical_of_an_unpublished_activity_is_404_even_for_its_organiser(world, status):
    from .world import client_as, staff_of

    hidden = world.activity(world.gd_amr, status=status)

    for client in (client_as(None), client_as(staff_of(world.gd_amr))):
        response = client.get(f"{LIST}{hidden.pk}/ical/")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
    assert client_as(None).get(f"{LIST}999999/ical/").status_code == 404


def test_schema_documents_the_ical_endpoint_and_the_feeds(api, db):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/activities/{id}/ical/"]["get"]
    assert "text/calendar" in operation["responses"]["200"]["content"]
    assert "/calendar/activities.ics" in operation["description"]
    parameters = {p["name"] for p in schema["paths"]["/api/v1/activities/"]["get"]["parameters"]}
    assert {
        "key_arrangement",
        "content_area",
        "province",
        "city",
        "region",
        "organiser",
        "date_from",
        "date_to",
        "open_now",
        "q",
        "cursor",
    } <= parameters


# --- queries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3])
def test_filtered_public_list_query_count_is_constant(api, world, n, django_assert_num_queries):
    for _ in range(n):
        activity = world.activity(
            world.gz_amr, region=world.tianhe, key_arrangement=world.arrangement(2), **open_window()
        )
        activity.content_areas.set(world.campaign.content_areas.filter(number__in=[1, 2]))
        activity.co_organisers.set([world.samr])
    params = {
        "campaign": 2024,
        "key_arrangement": 2,
        "content_area": 2,
        "province": "440000",
        "open_now": "true",
        "q": "质量",
    }

    # the province named in the filter + count + rows + content areas + co-organisers
    with django_assert_num_queries(5):
        assert len(ids(api.get(LIST, params))) == n


@pytest.mark.parametrize("n", [1, 3])
def test_ical_query_count(api, world, n, django_assert_num_queries):
    activities = [world.activity(world.gz_amr, region=world.tianhe) for _ in range(n)]

    with django_assert_num_queries(1):
        ics(api.get(f"{LIST}{activities[-1].pk}/ical/"))


# --- reading by cursor -------------------------------------------------------------------------


def test_cursor_pages_walk_every_published_activity_in_start_order(api, world):
    start = timezone.make_aware(dt.datetime(2024, 9, 1, 9))
    made = [
        world.activity(
            world.gd_amr,
            starts_at=start + dt.timedelta(hours=hour // 2),  # two at each time
            ends_at=start + dt.timedelta(hours=hour // 2 + 1),
        )
        for hour in range(5)
    ]
    world.draft(world.gd_amr, starts_at=start, ends_at=start + dt.timedelta(hours=1))

    seen, pages = [], 0
    body = api.get(LIST, {"cursor": "", "page_size": 2}).json()
    while True:
        pages += 1
        assert body["count"] is None
        seen += [row["id"] for row in body["results"]]
        if not body["next"]:
            break
        body = api.get(body["next"]).json()

    assert seen == [a.pk for a in sorted(made, key=lambda a: (a.starts_at, a.pk))]
    assert pages == 3
    back = api.get(api.get(LIST, {"cursor": "", "page_size": 2}).json()["next"]).json()
    assert [row["id"] for row in api.get(back["previous"]).json()["results"]] == seen[:2]


def test_without_cursor_pages_are_numbered_with_a_count(api, world):
    world.activity(world.gd_amr)

    body = api.get(LIST).json()

    assert body["count"] == 1


def test_a_forged_cursor_is_404(api, world):
    assert api.get(LIST, {"cursor": "not-a-cursor!"}).status_code == 404


@pytest.mark.parametrize("n", [1, 3])
def test_cursor_pages_query_count_is_constant(api, world, n, django_assert_num_queries):
    for _ in range(n):
        world.activity(world.gd_amr, region=world.guangzhou)

    with django_assert_num_queries(1 + 1 + 2):  # the province, rows, content areas, co-organisers
        assert len(ids(api.get(LIST, {"cursor": "", "province": "440000"}))) == n


def test_filter_by_organiser_includes_what_it_co_organises(api, world):
    ours = world.activity(world.gd_amr)
    helped = world.activity(world.zj_amr)
    helped.co_organisers.add(world.gd_amr, world.samr)
    world.activity(world.zj_amr)

    assert ids(api.get(LIST, {"organiser": world.gd_amr.pk})) == [ours.pk, helped.pk]
