"""Activities through the API: who sees what, and the filters."""

import datetime as dt

import pytest
from django.utils import timezone

from activities.enums import ActivityStatus
from tests import factories

from .world import client_as, ids, make_campaign, reviewer_for, staff_of

pytestmark = pytest.mark.django_db


# --- visibility per role -----------------------------------------------------------------------

def test_anonymous_see_only_published_activities(api, world):
    published = world.activity(world.gd_amr)
    draft = world.draft(world.gd_amr)
    submitted = world.activity(world.gd_amr, status=ActivityStatus.SUBMITTED)

    response = api.get("/api/v1/activities/")

    assert response.status_code == 200
    assert ids(response) == [published.pk]
    assert api.get(f"/api/v1/activities/{published.pk}/").status_code == 200
    assert api.get(f"/api/v1/activities/{draft.pk}/").status_code == 404
    assert api.get(f"/api/v1/activities/{submitted.pk}/").status_code == 404


def test_staff_see_their_own_drafts_but_another_departments_draft_is_404(world):
    ours = world.draft(world.gd_amr)
    theirs = world.draft(world.zj_amr)
    client = client_as(staff_of(world.gd_amr))

    assert ids(client.get("/api/v1/activities/")) == [ours.pk]
    assert client.get(f"/api/v1/activities/{ours.pk}/").json()["status"] == "draft"
    response = client.get(f"/api/v1/activities/{theirs.pk}/")
    assert response.status_code == 404  # never 403: existence does not leak


def test_co_organiser_staff_see_the_draft_they_co_organise(world):
    draft = world.draft(world.gd_amr)
    draft.co_organisers.add(world.gz_amr)

    response = client_as(staff_of(world.gz_amr)).get(f"/api/v1/activities/{draft.pk}/")

    assert response.status_code == 200
    assert [d["id"] for d in response.json()["co_organisers"]] == [world.gz_amr.pk]


def test_provincial_reviewer_sees_only_their_region(world):
    in_guangzhou = world.activity(world.gz_amr, status=ActivityStatus.SUBMITTED)
    in_zhejiang = world.activity(world.zj_amr, status=ActivityStatus.SUBMITTED)
    client = client_as(reviewer_for(world.guangdong))

    assert ids(client.get("/api/v1/activities/")) == [in_guangzhou.pk]
    assert client.get(f"/api/v1/activities/{in_guangzhou.pk}/").status_code == 200
    assert client.get(f"/api/v1/activities/{in_zhejiang.pk}/").status_code == 404


def test_national_reviewer_and_administrator_see_all(world):
    every = {
        world.activity(world.gz_amr, status=ActivityStatus.SUBMITTED).pk,
        world.draft(world.zj_amr).pk,
        world.activity(world.samr).pk,
    }

    for person in (reviewer_for(None), factories.AdminFactory()):
        assert set(ids(client_as(person).get("/api/v1/activities/"))) == every


def test_activity_detail_shows_headings_organiser_and_region(world):
    activity = world.activity(
        world.gz_amr, region=world.tianhe, key_arrangement=world.arrangement(8)
    )
    activity.content_areas.set(world.campaign.content_areas.filter(number__in=[5, 2]))

    body = client_as(None).get(
        f"/api/v1/activities/{activity.pk}/", HTTP_ACCEPT_LANGUAGE="en"
    ).json()

    assert body["campaign"] == 2024
    assert body["key_arrangement"]["number"] == 8
    assert body["key_arrangement"]["title"] == "Quality benefiting the people"
    assert [a["number"] for a in body["content_areas"]] == [2, 5]
    assert body["organiser"]["name"] == "Guangzhou Administration for Market Regulation"
    assert body["region"] == {"code": "440106", "name": "Tianhe District", "level": "county"}
    assert body["no_fee_declared"] is True
    assert body["status"] == "approved"
    assert "fee" not in body  # there is no fee to show, ever


# --- filters -----------------------------------------------------------------------------------

def test_filter_by_campaign_year(api, world):
    this_year = world.activity(world.gd_amr)
    last_year = world.activity(world.gd_amr, campaign=make_campaign(2023))

    assert ids(api.get("/api/v1/activities/", {"campaign": 2024})) == [this_year.pk]
    assert ids(api.get("/api/v1/activities/", {"campaign": 2023})) == [last_year.pk]


def test_filter_by_key_arrangement_number(api, world):
    forum = world.activity(world.samr, key_arrangement=world.arrangement(1))
    world.activity(world.gd_amr, key_arrangement=world.arrangement(9))

    response = api.get("/api/v1/activities/", {"campaign": 2024, "key_arrangement": 1})

    assert ids(response) == [forum.pk]


def test_filter_by_content_area_number(api, world):
    tagged = world.activity(world.gd_amr)
    tagged.content_areas.set(world.campaign.content_areas.filter(number__in=[4, 5]))
    world.activity(world.gd_amr)

    response = api.get("/api/v1/activities/", {"campaign": 2024, "content_area": 5})

    assert ids(response) == [tagged.pk]


def test_filter_by_status(world):
    submitted = world.activity(world.gd_amr, status=ActivityStatus.SUBMITTED)
    world.activity(world.gd_amr)
    client = client_as(reviewer_for(None))

    assert ids(client.get("/api/v1/activities/", {"status": "submitted"})) == [submitted.pk]
    assert client.get("/api/v1/activities/", {"status": "nonsense"}).status_code == 400


def test_filter_by_region_includes_cities_and_counties_of_a_province(api, world):
    in_province = world.activity(world.gd_amr)
    in_city = world.activity(world.gz_amr)
    in_county = world.activity(world.gz_amr, region=world.tianhe)
    world.activity(world.zj_amr)
    world.activity(world.samr)  # Beijing

    assert set(ids(api.get("/api/v1/activities/", {"region": "440000"}))) == {
        in_province.pk,
        in_city.pk,
        in_county.pk,
    }
    assert set(ids(api.get("/api/v1/activities/", {"region": "440100"}))) == {
        in_city.pk,
        in_county.pk,
    }
    assert ids(api.get("/api/v1/activities/", {"region": "440106"})) == [in_county.pk]
    assert api.get("/api/v1/activities/", {"region": "999999"}).status_code == 400


def test_filter_by_organiser(api, world):
    ours = world.activity(world.gd_amr)
    world.activity(world.zj_amr)

    assert ids(api.get("/api/v1/activities/", {"organiser": world.gd_amr.pk})) == [ours.pk]


def test_filter_by_dates_finds_activities_running_in_the_range(api, world):
    def on(day: int):
        starts = timezone.make_aware(dt.datetime(2024, 9, day, 9, 0))
        return world.activity(world.gd_amr, starts_at=starts, ends_at=starts + dt.timedelta(days=2))

    early, middle, late = on(2), on(15), on(27)

    in_range = api.get("/api/v1/activities/", {"date_from": "2024-09-03", "date_to": "2024-09-20"})

    assert ids(in_range) == [early.pk, middle.pk]  # the early one still runs on the 3rd
    assert ids(api.get("/api/v1/activities/", {"date_from": "2024-09-25"})) == [late.pk]


def test_filter_by_text(api, world):
    fair = world.activity(world.gd_amr, title="质量开放日暨净水器免费检测")
    world.activity(world.gd_amr)

    assert ids(api.get("/api/v1/activities/", {"q": "净水器"})) == [fair.pk]


def test_filters_respect_visibility(api, world):
    world.draft(world.gd_amr)

    assert ids(api.get("/api/v1/activities/", {"status": "draft"})) == []
