"""Enterprises and registrations through the API: signed-in callers only, each sees their own."""

import pytest

from registrations.enums import Industry, RegistrationStatus
from tests import factories

from .world import client_as, ids, make_campaign, representative_of, reviewer_for, staff_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def firms(world):
    """An enterprise in Guangzhou and one in Hangzhou, each registered for a local activity."""
    gz = factories.EnterpriseFactory(name="广州质量科技有限公司", region=world.guangzhou)
    hz = factories.EnterpriseFactory(
        name="杭州精工制造有限公司", region=world.hangzhou, industry=Industry.I
    )
    gz_activity = world.activity(world.gz_amr)
    hz_activity = world.activity(world.zj_amr)
    return {
        "gz": gz,
        "hz": hz,
        "gz_registration": factories.RegistrationFactory(enterprise=gz, activity=gz_activity),
        "hz_registration": factories.RegistrationFactory(enterprise=hz, activity=hz_activity),
    }


@pytest.mark.parametrize("path", ["/api/v1/enterprises/", "/api/v1/registrations/"])
def test_anonymous_callers_are_asked_to_authenticate(api, firms, path):
    response = api.get(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_anonymous_callers_get_401_on_details_too(api, firms):
    assert api.get(f"/api/v1/enterprises/{firms['gz'].pk}/").status_code == 401
    assert api.get(f"/api/v1/registrations/{firms['gz_registration'].pk}/").status_code == 401


def test_representative_sees_only_their_enterprise(firms):
    client = client_as(representative_of(firms["gz"]))

    assert ids(client.get("/api/v1/enterprises/")) == [firms["gz"].pk]
    body = client.get(f"/api/v1/enterprises/{firms['gz'].pk}/").json()
    assert body["uscc"] == firms["gz"].uscc
    assert body["region"]["code"] == "440100"
    assert client.get(f"/api/v1/enterprises/{firms['hz'].pk}/").status_code == 404


def test_representative_sees_only_their_registrations(firms):
    client = client_as(representative_of(firms["gz"]))
    ours, theirs = firms["gz_registration"], firms["hz_registration"]

    assert ids(client.get("/api/v1/registrations/")) == [ours.pk]
    body = client.get(f"/api/v1/registrations/{ours.pk}/").json()
    assert body["enterprise"] == {
        "id": firms["gz"].pk,
        "name": "广州质量科技有限公司",
        "uscc": firms["gz"].uscc,
    }
    assert body["activity"]["id"] == ours.activity_id
    assert body["activity"]["campaign"] == 2024
    assert body["status"] == "confirmed"
    assert body["is_active"] is True
    assert client.get(f"/api/v1/registrations/{theirs.pk}/").status_code == 404


def test_organiser_staff_see_who_signed_up_for_their_activities(world, firms):
    client = client_as(staff_of(world.gz_amr))

    assert ids(client.get("/api/v1/registrations/")) == [firms["gz_registration"].pk]
    # ... but not the enterprises' own records
    assert client.get(f"/api/v1/enterprises/{firms['gz'].pk}/").status_code == 404


def test_provincial_reviewer_sees_their_region(world, firms):
    client = client_as(reviewer_for(world.guangdong))

    assert ids(client.get("/api/v1/enterprises/")) == [firms["gz"].pk]
    assert ids(client.get("/api/v1/registrations/")) == [firms["gz_registration"].pk]
    assert client.get(f"/api/v1/enterprises/{firms['hz'].pk}/").status_code == 404
    assert client.get(f"/api/v1/registrations/{firms['hz_registration'].pk}/").status_code == 404


def test_national_reviewer_sees_all(firms):
    client = client_as(reviewer_for(None))

    assert set(ids(client.get("/api/v1/enterprises/"))) == {firms["gz"].pk, firms["hz"].pk}
    assert len(ids(client.get("/api/v1/registrations/"))) == 2


def test_a_person_without_a_role_sees_nothing(firms):
    client = client_as(factories.UserFactory())

    assert ids(client.get("/api/v1/enterprises/")) == []
    assert ids(client.get("/api/v1/registrations/")) == []
    assert client.get(f"/api/v1/enterprises/{firms['gz'].pk}/").status_code == 404


def test_enterprise_filters(world, firms):
    client = client_as(reviewer_for(None))

    assert ids(client.get("/api/v1/enterprises/", {"region": "330000"})) == [firms["hz"].pk]
    assert ids(client.get("/api/v1/enterprises/", {"industry": "I"})) == [firms["hz"].pk]
    assert ids(client.get("/api/v1/enterprises/", {"q": "精工"})) == [firms["hz"].pk]
    prefix = firms["gz"].uscc[:12].lower()
    assert ids(client.get("/api/v1/enterprises/", {"q": prefix})) == [firms["gz"].pk]


def test_registration_filters(world, firms):
    client = client_as(reviewer_for(None))
    gz = firms["gz_registration"]
    withdrawn = factories.RegistrationFactory(
        enterprise=firms["gz"],
        activity=world.activity(world.gd_amr, campaign=make_campaign(2023)),
        status=RegistrationStatus.WITHDRAWN,
    )

    assert ids(client.get("/api/v1/registrations/", {"activity": gz.activity_id})) == [gz.pk]
    assert set(ids(client.get("/api/v1/registrations/", {"enterprise": firms["gz"].pk}))) == {
        gz.pk,
        withdrawn.pk,
    }
    assert ids(client.get("/api/v1/registrations/", {"status": "withdrawn"})) == [withdrawn.pk]
    assert ids(client.get("/api/v1/registrations/", {"campaign": 2023})) == [withdrawn.pk]


def test_registrations_are_never_edited_or_deleted_through_the_api(firms):
    # Signing up and withdrawing are their own endpoints (tests/api/test_registration_api.py).
    client = client_as(representative_of(firms["gz"]))
    path = f"/api/v1/registrations/{firms['gz_registration'].pk}/"

    assert client.put(path, {}, format="json").status_code == 405
    assert client.patch(path, {}, format="json").status_code == 405
    assert client.delete(path).status_code == 405


def test_reviewers_see_an_enterprises_contact_masked_its_representatives_in_full(world, firms):
    gz = firms["gz"]
    gz.mobile, gz.email = "13800138000", "wang@gzqt.com.cn"
    gz.save(update_fields=["mobile", "email"])
    own = client_as(representative_of(gz)).get(f"/api/v1/enterprises/{gz.pk}/").json()
    assert (own["mobile"], own["email"]) == ("13800138000", "wang@gzqt.com.cn")
    reviewer = client_as(reviewer_for(world.guangdong))
    seen = reviewer.get(f"/api/v1/enterprises/{gz.pk}/").json()
    assert (seen["mobile"], seen["email"]) == ("138****8000", "w***@gzqt.com.cn")
    assert seen["contact_name"] == gz.contact_name  # who to ask for, through the organiser
    listed = {row["id"]: row for row in reviewer.get("/api/v1/enterprises/").json()["results"]}
    assert listed[gz.pk]["mobile"] == "138****8000"
