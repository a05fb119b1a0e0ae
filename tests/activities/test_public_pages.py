"""The public pages (no login): the list of the current campaign's activities with its filters and
cursor pagination, and an activity's page with everything an enterprise needs to decide.

Pages are requested in English (the Chinese catalogue is filled in later).
"""

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
import segno
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from activities.enums import ActivityStatus, DepartmentLevel
from activities.public_views import activity_qr_svg
from tests import factories

pytestmark = pytest.mark.django_db

LIST = "public:activity_list"


def visitor() -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def page(response) -> str:
    return response.content.decode()


def titles(response) -> list[str]:
    """The activity titles of a list page, in the order shown."""
    return re.findall(r'<h2><a href="/activities/\d+/">([^<]+)</a></h2>', page(response))


def link(response, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page(response))
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def campaign():
    return factories.CampaignFactory(year=2031)


@pytest.fixture
def zhejiang():
    province = factories.ProvinceFactory(code="330000", name_zh="浙江省", name_en="Zhejiang")
    hangzhou = factories.CityFactory(
        code="330100", parent=province, name_zh="杭州市", name_en="Hangzhou"
    )
    ningbo = factories.CityFactory(
        code="330200", parent=province, name_zh="宁波市", name_en="Ningbo"
    )
    return province, hangzhou, ningbo


def activity(campaign, day: int = 10, **fields):
    start = timezone.make_aware(dt.datetime(campaign.year, 9, day, 9, 0))
    fields.setdefault("key_arrangement", _arrangement(campaign, 1))
    return factories.ActivityFactory(campaign=campaign, starts_at=start, **fields)


def _arrangement(campaign, number: int):
    return campaign.key_arrangements.filter(number=number).first() or (
        factories.KeyArrangementFactory(campaign=campaign, number=number)
    )


# --- the list -----------------------------------------------------------------------------------


def test_the_list_shows_published_and_cancelled_activities_of_the_current_campaign_by_date(
    campaign,
):
    later = activity(campaign, day=20, title="质量开放日")
    earlier = activity(campaign, day=5, title="标准化培训")
    cancelled = activity(campaign, day=12, title="计量宣传周", status=ActivityStatus.CANCELLED)
    for status in (ActivityStatus.DRAFT, ActivityStatus.SUBMITTED, ActivityStatus.REJECTED):
        activity(campaign, title=f"不公开{status}", status=status)
    older = factories.CampaignFactory(year=2030)
    activity(older, title="去年的活动")

    response = visitor().get(reverse(LIST))

    assert response.status_code == 200
    assert titles(response) == [earlier.title, cancelled.title, later.title]
    assert "Cancelled" in page(response)
    assert "3 activities" in page(response)


def test_the_list_needs_no_login_and_says_when_there_is_no_campaign():
    response = visitor().get(reverse(LIST))

    assert response.status_code == 200
    assert "No campaign has been prepared yet." in page(response)


def test_filter_by_key_arrangement_and_content_area(campaign):
    area = factories.ContentAreaFactory(campaign=campaign, number=2)
    in_area = activity(campaign, title="质量强链对接会", key_arrangement=_arrangement(campaign, 3))
    in_area.content_areas.add(area)
    activity(campaign, title="质量强企论坛", key_arrangement=_arrangement(campaign, 2))

    assert titles(visitor().get(reverse(LIST), {"key_arrangement": 3})) == [in_area.title]
    assert titles(visitor().get(reverse(LIST), {"content_area": 2})) == [in_area.title]


def test_filter_by_province_and_city(campaign, zhejiang):
    _province, hangzhou, ningbo = zhejiang
    in_hangzhou = activity(campaign, title="杭州活动", region=hangzhou)
    in_ningbo = activity(campaign, day=11, title="宁波活动", region=ningbo)
    activity(campaign, title="北京活动", region=factories.ProvinceFactory(code="110000"))

    by_province = visitor().get(reverse(LIST), {"province": "330000"})
    by_city = visitor().get(reverse(LIST), {"province": "330000", "city": "330100"})

    assert titles(by_province) == [in_hangzhou.title, in_ningbo.title]
    assert titles(by_city) == [in_hangzhou.title]
    assert '<option value="330100" selected>' in page(by_city)  # the province's cities offered


def test_filter_by_organiser_includes_co_organised_activities(campaign):
    samr = factories.NationalDepartmentFactory(name_zh="国家市场监督管理总局")
    organised = activity(
        campaign, title="总局主办", organiser=samr, region=factories.ProvinceFactory(code="110000")
    )
    co_organised = activity(campaign, day=11, title="总局协办")
    co_organised.co_organisers.add(samr)
    activity(campaign, day=12, title="别人的活动")

    response = visitor().get(reverse(LIST), {"organiser": samr.pk})

    assert titles(response) == [organised.title, co_organised.title]


def test_filter_by_date_range(campaign):
    activity(campaign, day=3, title="月初")
    middle = activity(campaign, day=15, title="月中")
    activity(campaign, day=28, title="月末")

    response = visitor().get(
        reverse(LIST), {"date_from": f"{campaign.year}-09-10", "date_to": f"{campaign.year}-09-20"}
    )

    assert titles(response) == [middle.title]


def test_filter_sign_up_open_now(campaign):
    now = timezone.now()
    is_open = activity(
        campaign,
        title="报名中",
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=now + dt.timedelta(days=1),
    )
    activity(campaign, title="尚未开放")  # the factory's window opens in the campaign's August
    activity(
        campaign,
        title="无需报名",
        signup_enabled=False,
        signup_opens_at=None,
        signup_closes_at=None,
    )
    activity(
        campaign,
        title="已取消",
        status=ActivityStatus.CANCELLED,
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=now + dt.timedelta(days=1),
    )

    response = visitor().get(reverse(LIST), {"open_now": "1"})

    assert titles(response) == [is_open.title]
    assert "Sign-up open" in page(response)


def test_filters_that_do_not_parse_are_left_out_and_said_so(campaign):
    shown = activity(campaign, title="质量开放日")

    response = visitor().get(reverse(LIST), {"date_from": "yesterday", "province": "abc"})

    assert response.status_code == 200
    assert titles(response) == [shown.title]
    assert "could not be read" in page(response)


def test_search_from_the_list(campaign):
    activity(campaign, title="医药质量提升培训")
    activity(campaign, title="电动自行车安全宣传")

    found = visitor().get(reverse(LIST), {"q": "医药"})
    assert titles(found) == ["医药质量提升培训"]
    assert "1 activity" in page(found)
    assert titles(visitor().get(reverse(LIST), {"q": "火箭"})) == []
    assert "No activity matches" in page(visitor().get(reverse(LIST), {"q": "火箭"}))


def test_pagination_forward_and_back_is_stable(campaign):
    # Several activities at the same time: the id breaks the tie, so none is skipped or repeated.
    made = [activity(campaign, day=1 + i // 3, title=f"活动{i:02d}") for i in range(11)]
    expected = [a.title for a in sorted(made, key=lambda a: (a.starts_at, a.pk))]
    client = visitor()

    first = client.get(reverse(LIST), {"per_page": 4})
    second = client.get(reverse(LIST) + link(first, "next"))
    third = client.get(reverse(LIST) + link(second, "next"))
    back = client.get(reverse(LIST) + link(third, "prev"))
    back_again = client.get(reverse(LIST) + link(back, "prev"))

    assert titles(first) == expected[0:4]
    assert titles(second) == expected[4:8]
    assert titles(third) == expected[8:11]
    assert link(third, "next") is None
    assert titles(back) == titles(second)
    assert titles(back_again) == titles(first)
    assert link(back_again, "prev") is None
    assert "per_page=4" in link(second, "next")


def test_pagination_keeps_the_filters(campaign):
    for i in range(3):
        activity(campaign, day=1 + i, title=f"医药{i}")
    activity(campaign, day=2, title="其他")

    first = visitor().get(reverse(LIST), {"q": "医药", "per_page": 2})
    second = visitor().get(reverse(LIST) + link(first, "next"))

    assert titles(first) == ["医药0", "医药1"]
    assert titles(second) == ["医药2"]


def test_a_garbled_cursor_shows_the_first_page(campaign):
    shown = activity(campaign, title="质量开放日")

    response = visitor().get(reverse(LIST), {"after": "not-a-cursor"})

    assert titles(response) == [shown.title]


def _list_queries(per_page: int, **params) -> int:
    client = visitor()
    client.get(reverse(LIST))  # warm up what is cached per process (content types, ...)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(LIST), {"per_page": per_page, **params})
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "质量", "province": "330000", "key_arrangement": 1, "organiser": 1}],
    ids=["plain", "filtered"],
)
def test_the_list_makes_as_many_queries_for_1_as_for_3_activities(campaign, zhejiang, params):
    hangzhou = zhejiang[1]
    activity(campaign, title="质量开放日", region=hangzhou)
    one = _list_queries(20, **params)
    for _ in range(2):
        activity(campaign, title="质量开放日", region=hangzhou)
    three = _list_queries(20, **params)

    assert one == three


def test_the_list_makes_as_many_queries_for_1_as_for_50_per_page(campaign):
    county = factories.CountyFactory()
    for i in range(60):
        activity(campaign, day=1 + i % 28, title=f"质量活动{i}", region=county)

    assert _list_queries(1) == _list_queries(50)


# --- an activity's page -------------------------------------------------------------------------


def detail(activity_):
    return visitor().get(reverse("public:activity_detail", args=[activity_.pk]))


def test_an_activity_page_has_what_an_enterprise_needs(campaign, zhejiang):
    _, hangzhou, _ = zhejiang
    county = factories.CountyFactory(code="330106", parent=hangzhou, name_en="Xihu District")
    organiser = factories.DepartmentFactory(
        name_en="Zhejiang Administration for Market Regulation", region=zhejiang[0]
    )
    partner = factories.NationalDepartmentFactory(name_en="Ministry of Industry and IT")
    now = timezone.now()
    shown = activity(
        campaign,
        title="质量管理体系培训",
        organiser=organiser,
        region=county,
        venue="西湖区市民中心",
        online_url="https://live.example.cn/1",
        capacity=30,
        attendees_per_enterprise=3,
        signup_opens_at=now - dt.timedelta(days=2),
        signup_closes_at=now + dt.timedelta(days=2),
        contact_name="王老师",
        contact_phone="0571-12345678",
        contact_email="contact@example.cn",
    )
    shown.co_organisers.add(partner)
    shown.confirmed_count = 12
    shown.save(update_fields=["confirmed_count"])

    text = page(detail(shown))

    for expected in (
        "质量管理体系培训",
        "Zhejiang Administration for Market Regulation",
        "Ministry of Industry and IT",
        "Zhejiang",
        "Hangzhou",
        "Xihu District",
        "西湖区市民中心",
        "https://live.example.cn/1",
        "18 of 30 places left",
        "up to 3 people",
        "Sign-up open now",
        "voluntary and free of charge",
        "王老师",
        "0571-12345678",
        "contact@example.cn",
    ):
        assert expected in text, expected


def test_seats_left_no_limit_and_full(campaign):
    unlimited = activity(campaign, capacity=None)
    full = activity(campaign, capacity=5, title="已满")
    full.confirmed_count = 5
    full.save(update_fields=["confirmed_count"])

    assert "No limit" in page(detail(unlimited))
    assert "Full (5 enterprises)" in page(detail(full))


def test_the_sign_up_window_is_explained(campaign):
    now = timezone.now()
    not_yet = activity(campaign)  # opens in August of a future year
    closed = activity(
        campaign,
        signup_opens_at=now - dt.timedelta(days=5),
        signup_closes_at=now - dt.timedelta(days=1),
    )
    no_signup = activity(
        campaign, signup_enabled=False, signup_opens_at=None, signup_closes_at=None
    )

    assert "Not open yet" in page(detail(not_yet))
    assert "Sign-up closed" in page(detail(closed))
    assert "No sign-up is needed" in page(detail(no_signup))


def test_a_cancelled_activity_is_shown_as_cancelled_without_sign_up(campaign):
    cancelled = activity(
        campaign, status=ActivityStatus.CANCELLED, cancellation_reason="场地临时检修"
    )

    text = page(detail(cancelled))

    assert "This activity has been cancelled." in text
    assert "场地临时检修" in text
    assert "Sign up your enterprise" not in text


@pytest.mark.parametrize(
    "status",
    [
        ActivityStatus.DRAFT,
        ActivityStatus.SUBMITTED,
        ActivityStatus.RETURNED,
        ActivityStatus.REJECTED,
    ],
)
def test_unpublished_activities_answer_404(campaign, status):
    hidden = activity(campaign, status=status)

    assert detail(hidden).status_code == 404
    qr = visitor().get(reverse("public:activity_qr", args=[hidden.pk]))
    assert qr.status_code == 404


def test_open_graph_twitter_and_canonical_tags(campaign):
    shown = activity(campaign, title="质量开放日", summary="面向企业的开放日")
    url = settings.SITE_URL + f"/activities/{shown.pk}/"

    text = page(detail(shown))

    assert f'<link rel="canonical" href="{url}">' in text
    assert '<meta property="og:title" content="质量开放日">' in text
    assert '<meta property="og:description" content="面向企业的开放日">' in text
    assert f'<meta property="og:url" content="{url}">' in text
    assert '<meta name="twitter:card" content="summary">' in text


def test_the_qr_code_is_an_svg_of_the_pages_address(campaign):
    shown = activity(campaign)

    response = visitor().get(reverse("public:activity_qr", args=[shown.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # The same symbol segno makes for the absolute address of the page.
    expected = segno.make(settings.SITE_URL + f"/activities/{shown.pk}/", error="m")
    assert response.content == activity_qr_svg(shown.pk)
    assert int(root.get("width")) == expected.symbol_size(scale=6, border=2)[0]
    assert f'src="/activities/{shown.pk}/qr.svg"' in page(detail(shown))


def test_the_call_to_action_links_to_sign_up_when_that_page_exists(campaign):
    now = timezone.now()
    shown = activity(
        campaign,
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=now + dt.timedelta(days=1),
    )
    text = page(detail(shown))

    try:
        sign_up = reverse("registrations:sign_up", args=[shown.pk])
    except NoReverseMatch:  # the sign-up page may not be wired yet
        assert "Online sign-up opens here shortly" in text
    else:
        assert f'href="{sign_up}"' in text


def test_an_activity_page_makes_a_fixed_number_of_queries(campaign):
    few = activity(campaign)
    many = activity(campaign)
    for _ in range(3):
        many.co_organisers.add(factories.DepartmentFactory(level=DepartmentLevel.PROVINCIAL))
        many.content_areas.add(factories.ContentAreaFactory(campaign=campaign))
    client = visitor()
    client.get(reverse("public:activity_detail", args=[few.pk]))

    counts = []
    for shown in (few, many):
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("public:activity_detail", args=[shown.pk]))
        counts.append(len(queries))

    assert counts[0] == counts[1]


def test_the_list_is_cached_briefly_for_everyone_asking_the_same(campaign, settings):
    from django.core.cache import cache

    settings.PUBLIC_LIST_CACHE_SECONDS = 30
    cache.clear()
    shown = activity(campaign, title="质量开放日")
    client = visitor()
    client.get(reverse(LIST), {"q": "质量"})

    with CaptureQueriesContext(connection) as cached:
        again = visitor().get(reverse(LIST), {"q": "质量"})
    with CaptureQueriesContext(connection) as other:
        different = visitor().get(reverse(LIST), {"q": "开放"})

    assert titles(again) == titles(different) == [shown.title]
    assert len(cached) < len(other)
    assert not any("activities_activity" in q["sql"] for q in cached.captured_queries)
    cache.clear()


def test_a_long_search_result_says_how_many_roughly(campaign):
    for i in range(5):
        activity(campaign, day=1 + i, title=f"医药活动{i}")

    response = visitor().get(reverse(LIST), {"q": "医药", "per_page": 2})

    # Counted on SQLite, the planner's estimate on PostgreSQL: never a wrong exact number.
    text = page(response)
    assert "5 activities" in text or "About" in text or "More than 2 activities" in text
    assert titles(response) == ["医药活动0", "医药活动1"]


def test_visitors_get_the_whole_list_page_from_the_cache(
    client, settings, django_assert_num_queries
):
    from django.core.cache import cache

    settings.PUBLIC_LIST_CACHE_SECONDS = 30
    cache.clear()
    factories.ActivityFactory()
    first = client.get("/activities/")
    assert first.status_code == 200
    assert "csrfmiddlewaretoken" not in first.content.decode()  # nothing personal to cache
    with django_assert_num_queries(0):
        again = client.get("/activities/")
    assert again.content == first.content
    assert "Cookie" in again["Vary"]
    client.cookies["django_language"] = "en"
    assert client.get("/activities/").content != first.content  # one page per language
    cache.clear()


def test_visitors_get_an_activitys_page_from_the_cache_until_it_changes(
    client, settings, django_assert_num_queries
):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from activities import services

    settings.PUBLIC_DETAIL_CACHE_SECONDS = 10
    cache.clear()
    activity = factories.ActivityFactory(title="质量开放日")
    url = f"/activities/{activity.pk}/"
    first = client.get(url)
    assert "质量开放日" in first.content.decode()
    assert "csrfmiddlewaretoken" not in first.content.decode()  # nothing personal to cache
    with django_assert_num_queries(0):
        assert client.get(url).content == first.content
    # Cancelling it shows at once (the enterprises must learn of it).
    organiser = factories.DepartmentMembershipFactory(department=activity.organiser).user
    services.activity_cancel(activity, actor=organiser, reason="场地原因")
    assert "场地原因" in client.get(url).content.decode()
    # Signed-in people always get the page live.
    client.force_login(organiser)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    assert len(captured.captured_queries) > 0
    cache.clear()


@pytest.mark.parametrize(
    "url",
    ["/calendar/9999-12-31/", "/calendar/0001-01-01/", "/api/v1/activities/abc/ical/"],
)
def test_odd_addresses_are_not_found_rather_than_errors(client, url):
    assert client.get(url).status_code == 404


def test_junk_parameters_do_not_fill_the_page_cache(client, settings):
    from django.core.cache import cache

    settings.PUBLIC_LIST_CACHE_SECONDS = 30
    cache.clear()
    factories.ActivityFactory()
    before = len(cache._cache)  # locmem's store
    for n in range(20):
        assert client.get(f"/activities/?junk={n}").status_code == 200
    assert len(cache._cache) - before <= 3  # reference choices and the results part, not 20 pages
    cache.clear()


@pytest.mark.parametrize(
    "query",
    ["?date_to=9999-12-31", "?date_from=0001-01-01", "?organiser=99999999999999999999999"],
)
def test_odd_filter_values_are_ignored_rather_than_errors(client, query):
    factories.ActivityFactory()
    assert client.get("/activities/" + query).status_code == 200


def test_the_api_refuses_an_id_too_large_for_the_database(client):
    assert client.get("/api/v1/activities/?organiser=99999999999999999999999").status_code == 400
