"""Every list endpoint answers with the same number of queries for 1 object as for 3.

Authenticated requests use `force_authenticate`, so only the endpoint's own queries count
(looking up the caller's roles is 3 queries, once per request).
"""

import pytest
from rest_framework.test import APIClient

from accounts.services import token_create
from tests import factories

from .world import fresh, make_campaign, representative_of, reviewer_for, staff_of

pytestmark = pytest.mark.django_db

ROLES = 3  # roles_of(): department membership, reviewer assignment, enterprise representation
PAGE = 2  # count + rows


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(fresh(user))
    return client


def _count(response, n):
    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert len(rows) == n


@pytest.mark.parametrize("n", [1, 3])
def test_campaigns(api, db, n, django_assert_num_queries):
    for year in range(2024, 2024 + n):
        make_campaign(year)

    with django_assert_num_queries(PAGE + 2):  # + content areas, key arrangements
        _count(api.get("/api/v1/campaigns/"), n)


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("path", ["/api/v1/key-arrangements/", "/api/v1/content-areas/"])
def test_headings(api, db, n, path, django_assert_num_queries):
    for year in range(2024, 2024 + n):
        campaign = factories.CampaignFactory(year=year)
        factories.KeyArrangementFactory(campaign=campaign)
        factories.ContentAreaFactory(campaign=campaign)

    with django_assert_num_queries(PAGE):
        _count(api.get(path), n)


@pytest.mark.parametrize("n", [1, 3])
def test_regions(api, db, n, django_assert_num_queries):
    factories.CityFactory.create_batch(n)  # each with its province

    with django_assert_num_queries(PAGE):
        _count(api.get("/api/v1/regions/", {"level": "city"}), n)


@pytest.mark.parametrize("n", [1, 3])
def test_departments(api, db, n, django_assert_num_queries):
    for _ in range(n):
        factories.DepartmentFactory(parent=factories.NationalDepartmentFactory())

    with django_assert_num_queries(PAGE):
        _count(api.get("/api/v1/departments/", {"level": "provincial"}), n)


def _activities(world, n, **kwargs):
    made = []
    for _ in range(n):
        activity = world.activity(world.gz_amr, region=world.tianhe, **kwargs)
        activity.content_areas.set(world.campaign.content_areas.all()[:2])
        activity.co_organisers.set([world.gd_amr, world.samr])
        made.append(activity)
    return made


@pytest.mark.parametrize("n", [1, 3])
def test_activities_anonymous(api, world, n, django_assert_num_queries):
    _activities(world, n)

    with django_assert_num_queries(PAGE + 2):  # + content areas, co-organisers
        _count(api.get("/api/v1/activities/"), n)


@pytest.mark.parametrize("n", [1, 3])
def test_activities_filtered_by_region(api, world, n, django_assert_num_queries):
    _activities(world, n)

    with django_assert_num_queries(1 + PAGE + 2):  # + the region named in the filter
        _count(api.get("/api/v1/activities/", {"region": "440000", "campaign": 2024}), n)


@pytest.mark.parametrize("n", [1, 3])
def test_activities_as_staff(world, n, django_assert_num_queries):
    _activities(world, n, status="draft")
    client = as_user(staff_of(world.gz_amr))

    with django_assert_num_queries(ROLES + PAGE + 2):
        _count(client.get("/api/v1/activities/"), n)


@pytest.mark.parametrize("n", [1, 3])
def test_activities_as_provincial_reviewer(world, n, django_assert_num_queries):
    _activities(world, n, status="submitted")
    client = as_user(reviewer_for(world.guangdong))

    with django_assert_num_queries(ROLES + PAGE + 2):
        _count(client.get("/api/v1/activities/"), n)


@pytest.mark.parametrize("n", [1, 3])
def test_enterprises(world, n, django_assert_num_queries):
    factories.EnterpriseFactory.create_batch(n, region=world.guangzhou)
    client = as_user(reviewer_for(world.guangdong))

    with django_assert_num_queries(ROLES + PAGE):
        _count(client.get("/api/v1/enterprises/"), n)


@pytest.mark.parametrize("n", [1, 3])
def test_registrations(world, n, django_assert_num_queries):
    enterprise = factories.EnterpriseFactory(region=world.guangzhou)
    for _ in range(n):
        factories.RegistrationFactory(enterprise=enterprise, activity=world.activity(world.gz_amr))
    client = as_user(representative_of(enterprise))

    with django_assert_num_queries(ROLES + PAGE + 1):  # + their attendees, in one query
        _count(client.get("/api/v1/registrations/"), n)


@pytest.mark.parametrize("n", [1, 3])
def test_tokens(db, n, django_assert_num_queries):
    person = factories.UserFactory()
    for number in range(n):
        token_create(user=person, name=f"脚本{number}")
    client = as_user(person)

    with django_assert_num_queries(1):  # a person's few tokens are not paginated
        _count(client.get("/api/v1/tokens/"), n)
