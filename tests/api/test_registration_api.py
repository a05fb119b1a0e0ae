"""Enterprises sign up, withdraw and list their registrations through the API, under the same
rules (the same services) as the web pages."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.enums import RepresentationStatus
from registrations.enums import RegistrationStatus
from registrations.models import Registration
from tests import factories

from .world import client_as, fresh, ids, representative_of, reviewer_for, staff_of

pytestmark = pytest.mark.django_db

SIGN_UP = "/api/v1/registrations/"


def open_activity(world, **kwargs):
    """A published activity of Guangzhou's bureau whose sign-up window is open now."""
    now = timezone.now()
    kwargs.setdefault("starts_at", now + dt.timedelta(days=10))
    kwargs.setdefault("ends_at", kwargs["starts_at"] + dt.timedelta(hours=3))
    kwargs.setdefault("signup_opens_at", now - dt.timedelta(days=1))
    kwargs.setdefault("signup_closes_at", kwargs["starts_at"] - dt.timedelta(days=1))
    return world.activity(world.gz_amr, **kwargs)


@pytest.fixture
def firm(world):
    return factories.EnterpriseFactory(
        name="广州质量科技有限公司",
        region=world.guangzhou,
        contact_name="陈经理",
        mobile="13711112222",
    )


def sign_up(client, activity, *attendees, **fields):
    body = {
        "activity": activity.pk,
        "attendees": [{"name": n, "mobile": m} for n, m in attendees or [("张三", "13800000001")]],
        **fields,
    }
    return client.post(SIGN_UP, body, format="json")


def withdraw(client, registration, reason=""):
    return client.post(
        f"/api/v1/registrations/{registration.pk}/withdraw/", {"reason": reason}, format="json"
    )


# --- signing up ----------------------------------------------------------------------------


def test_a_representative_signs_up_and_is_confirmed_with_a_check_in_code(world, firm):
    activity = open_activity(world, capacity=2)
    client = client_as(representative_of(firm))

    response = sign_up(client, activity, ("张三", "138 0000 0001"), note="两人参加")

    assert response.status_code == 201
    body = response.json()
    registration = Registration.objects.get(pk=body["id"])
    assert body["status"] == "confirmed"
    assert body["waiting_position"] is None
    assert body["check_in_code"] == registration.check_in_code
    assert body["activity"]["id"] == activity.pk
    assert body["enterprise"]["id"] == firm.pk
    assert body["attendees"] == [{"name": "张三", "mobile": "13800000001"}]
    # Left out, the contact is the enterprise's.
    assert (body["contact_name"], body["contact_mobile"]) == ("陈经理", "13711112222")
    assert body["note"] == "两人参加"


def test_a_full_activity_puts_the_enterprise_on_the_waiting_list_with_its_place(world, firm):
    activity = open_activity(world, capacity=1)
    sign_up(client_as(representative_of(factories.EnterpriseFactory())), activity)
    sign_up(client_as(representative_of(factories.EnterpriseFactory())), activity)

    response = sign_up(client_as(representative_of(firm)), activity, contact_name="王五")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "waiting"
    assert body["waiting_position"] == 2
    assert body["contact_name"] == "王五"


def test_anonymous_callers_must_authenticate(world, api):
    assert sign_up(api, open_activity(world)).status_code == 401
    assert not Registration.objects.exists()


@pytest.mark.parametrize("who", ["staff", "reviewer", "pending claim", "unverified"])
def test_only_verified_representatives_sign_up(world, firm, who):
    activity = open_activity(world)
    if who == "staff":
        user = staff_of(world.gz_amr)
    elif who == "reviewer":
        user = reviewer_for(None)
    elif who == "pending claim":
        user = factories.EnterpriseRepresentativeFactory(
            enterprise=firm, status=RepresentationStatus.PENDING
        ).user
    else:
        user = factories.UserFactory(email_verified_at=None)
        factories.EnterpriseRepresentativeFactory(user=user, enterprise=firm)

    response = sign_up(client_as(user), activity)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Registration.objects.exists()


def test_an_activity_the_caller_cannot_see_is_not_found(world, firm):
    draft = world.draft(world.gz_amr)

    client = client_as(representative_of(firm))
    response = sign_up(client, draft)

    assert response.status_code == 400
    assert response.json()["code"] == "activity_not_found"
    # The same answer as for an id that does not exist: nothing tells a draft is there.
    missing = sign_up(client, type(draft)(pk=draft.pk + 10_000))
    assert missing.status_code == 400
    assert missing.json() == response.json()
    assert not Registration.objects.exists()


@pytest.mark.parametrize(
    ("window", "code"),
    [("not yet", "signup_not_open_yet"), ("closed", "signup_closed")],
)
def test_sign_up_only_inside_the_window(world, firm, window, code):
    now = timezone.now()
    if window == "not yet":
        activity = open_activity(world, signup_opens_at=now + dt.timedelta(days=1))
    else:
        activity = open_activity(
            world,
            signup_opens_at=now - dt.timedelta(days=3),
            signup_closes_at=now - dt.timedelta(hours=1),
        )

    response = sign_up(client_as(representative_of(firm)), activity)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not Registration.objects.exists()


def test_an_enterprise_signs_up_once(world, firm):
    activity = open_activity(world)
    client = client_as(representative_of(firm))
    sign_up(client, activity)

    response = sign_up(client_as(representative_of(firm)), activity)

    assert response.status_code == 400
    assert response.json()["code"] == "already_registered"
    assert Registration.objects.filter(enterprise=firm).count() == 1


def test_attendee_mistakes_are_reported_on_the_attendees_field(world, firm):
    activity = open_activity(world, attendees_per_enterprise=1)
    client = client_as(representative_of(firm))

    too_many = sign_up(client, activity, ("张三", "13800000001"), ("李四", "13800000002"))
    bad_mobile = sign_up(client, activity, ("张三", "12345"))
    nobody = client.post(SIGN_UP, {"activity": activity.pk, "attendees": []}, format="json")

    assert too_many.status_code == bad_mobile.status_code == nobody.status_code == 400
    assert too_many.json()["code"] == "too_many_attendees"
    assert "最多可派1人" in too_many.json()["attendees"][0]  # Chinese by default
    assert bad_mobile.json()["field"] == "attendees"
    assert nobody.json()["code"] == "attendees_required"
    assert not Registration.objects.exists()


def test_messages_come_in_the_callers_language(world, firm):
    activity = open_activity(world)
    client = client_as(representative_of(firm), HTTP_ACCEPT_LANGUAGE="zh-hans")
    sign_up(client, activity)

    response = sign_up(client, activity)

    assert response.status_code == 400
    assert response.json()["code"] == "already_registered"
    assert response.headers["Content-Language"] == "zh-hans"


# --- withdrawing ---------------------------------------------------------------------------


def test_withdrawing_frees_the_seat_for_the_first_waiting_enterprise(world, firm):
    activity = open_activity(world, capacity=1)
    ours = client_as(representative_of(firm))
    mine = Registration.objects.get(pk=sign_up(ours, activity).json()["id"])
    other = factories.EnterpriseFactory()
    theirs = client_as(representative_of(other))
    queued = sign_up(theirs, activity).json()
    assert queued["status"] == "waiting"

    response = withdraw(ours, mine)

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert response.json()["withdrawn_at"] is not None
    promoted = theirs.get(f"/api/v1/registrations/{queued['id']}/").json()
    assert promoted["status"] == "confirmed"
    assert promoted["waiting_position"] is None
    assert promoted["check_in_code"]


def test_withdrawing_twice_is_a_conflict(world, firm):
    activity = open_activity(world)
    client = client_as(representative_of(firm))
    registration = Registration.objects.get(pk=sign_up(client, activity).json()["id"])
    withdraw(client, registration)

    response = withdraw(client, registration)

    assert response.status_code == 409
    assert response.json()["code"] == "not_active"


def test_another_enterprises_registration_is_not_found(world, firm):
    registration = factories.RegistrationFactory(activity=open_activity(world))

    response = withdraw(client_as(representative_of(firm)), registration)

    assert response.status_code == 404
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED


def test_a_reviewer_who_sees_a_registration_may_not_withdraw_it(world, firm):
    registration = factories.RegistrationFactory(activity=open_activity(world), enterprise=firm)

    response = withdraw(client_as(reviewer_for(world.guangdong)), registration, "测试")

    assert response.status_code == 403
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED


def test_the_organiser_withdraws_only_with_a_reason(world, firm):
    registration = factories.RegistrationFactory(activity=open_activity(world), enterprise=firm)
    client = client_as(staff_of(world.gz_amr))

    without = withdraw(client, registration)
    assert without.status_code == 400
    assert without.json()["code"] == "reason_required"
    assert "reason" in without.json()

    assert withdraw(client, registration, "企业电话告知无法参加").status_code == 200


# --- "my registrations" --------------------------------------------------------------------


def test_mine_lists_only_the_callers_enterprise_with_status_place_and_code(world, firm):
    full = open_activity(world, capacity=1)
    factories.RegistrationFactory(activity=full)
    full.confirmed_count = 1
    full.save(update_fields=["confirmed_count"])
    client = client_as(representative_of(firm))
    waiting = sign_up(client, full).json()
    confirmed = sign_up(client, open_activity(world)).json()
    factories.RegistrationFactory(activity=open_activity(world))  # someone else's

    body = client.get(SIGN_UP, {"mine": "true"}).json()["results"]

    rows = {row["id"]: row for row in body}
    assert set(rows) == {waiting["id"], confirmed["id"]}
    assert rows[waiting["id"]]["status"] == "waiting"
    assert rows[waiting["id"]]["waiting_position"] == 1
    assert rows[waiting["id"]]["check_in_code"] == waiting["check_in_code"]
    assert rows[confirmed["id"]]["status"] == "confirmed"
    assert rows[confirmed["id"]]["check_in_code"]


def test_mine_is_empty_for_someone_without_an_enterprise(world, firm):
    factories.RegistrationFactory(activity=open_activity(world), enterprise=firm)
    staff = client_as(staff_of(world.gz_amr))

    assert ids(staff.get(SIGN_UP, {"mine": "true"})) == []
    assert len(ids(staff.get(SIGN_UP))) == 1  # their activity's registration, without mine


def test_others_who_see_a_registration_never_see_its_check_in_code(world, firm):
    registration = factories.RegistrationFactory(activity=open_activity(world), enterprise=firm)
    registration.attendees.create(name="张三", mobile="13800000001")

    organiser = client_as(staff_of(world.gz_amr)).get(f"{SIGN_UP}{registration.pk}/").json()
    reviewer = client_as(reviewer_for(world.guangdong)).get(f"{SIGN_UP}{registration.pk}/").json()

    assert organiser["check_in_code"] is None
    assert organiser["attendees"] == [{"name": "张三", "mobile": "13800000001"}]
    assert reviewer["check_in_code"] is None
    assert reviewer["attendees"] is None  # personal data: not for reviewers
    assert reviewer["contact_mobile"] is None


@pytest.mark.parametrize("n", [1, 3])
def test_mine_needs_the_same_queries_for_1_and_3(world, firm, n, django_assert_num_queries):
    for _ in range(n):
        full = open_activity(world, capacity=1)
        factories.RegistrationFactory(activity=full)
        factories.RegistrationFactory(
            activity=full, enterprise=firm, status=RegistrationStatus.WAITING
        ).attendees.create(name="张三", mobile="13800000001")
        factories.RegistrationFactory(activity=open_activity(world), enterprise=firm)
    client = APIClient()
    client.force_authenticate(fresh(representative_of(firm)))

    # roles (3), count, rows with their waiting places, attendees
    with django_assert_num_queries(6):
        response = client.get(SIGN_UP, {"mine": "true"})

    assert len(response.json()["results"]) == 2 * n


# --- the people on a registration: the same rule as the registrants pages --------------------

PEOPLE = {
    "attendees": [{"name": "张三", "mobile": "13800000001"}],
    "contact_name": "陈经理",
    "contact_mobile": "13711112222",
    "note": "需要无障碍通道",
}
HIDDEN = dict.fromkeys(PEOPLE)


def _viewer(world, firm, role):
    if role == "lead_staff":
        return staff_of(world.gz_amr)
    if role == "co_organiser_staff":
        return staff_of(world.zj_amr)
    if role == "regional_reviewer":
        return reviewer_for(world.guangdong)
    if role == "national_reviewer":
        return reviewer_for(None)
    if role == "admin":
        return factories.AdminFactory()
    return representative_of(firm)


@pytest.mark.parametrize(
    ("role", "people"),
    [
        ("lead_staff", PEOPLE),
        ("co_organiser_staff", PEOPLE),  # they run the door with the organiser
        ("regional_reviewer", HIDDEN),  # the list, not the people
        ("national_reviewer", HIDDEN),
        ("admin", PEOPLE),
        ("representative", PEOPLE),
    ],
)
def test_attendees_and_contacts_are_shown_to_those_who_run_the_activity(world, firm, role, people):
    activity = open_activity(world)
    activity.co_organisers.add(world.zj_amr)
    registration = factories.RegistrationFactory(
        activity=activity,
        enterprise=firm,
        attendee_count=1,
        contact_name="陈经理",
        contact_mobile="13711112222",
        note="需要无障碍通道",
    )
    registration.attendees.create(name="张三", mobile="13800000001")
    client = client_as(_viewer(world, firm, role))

    detail = client.get(f"{SIGN_UP}{registration.pk}/")
    listed = client.get(SIGN_UP)

    assert detail.status_code == 200
    body = detail.json()
    assert {key: body[key] for key in PEOPLE} == people
    assert (body["enterprise"]["name"], body["attendee_count"]) == ("广州质量科技有限公司", 1)
    assert [{key: row[key] for key in PEOPLE} for row in listed.json()["results"]] == [people]


def test_co_organiser_staff_may_not_withdraw_a_registration(world, firm):
    activity = open_activity(world)
    activity.co_organisers.add(world.zj_amr)
    registration = factories.RegistrationFactory(activity=activity, enterprise=firm)

    response = withdraw(client_as(staff_of(world.zj_amr)), registration, reason="现场已满")

    assert response.status_code == 403
    assert Registration.objects.get(pk=registration.pk).status == registration.status


@pytest.mark.parametrize("n", [1, 3])
def test_co_organiser_staff_list_with_the_same_queries_for_1_and_3(
    world, n, django_assert_num_queries
):
    for _ in range(n):
        activity = open_activity(world)
        activity.co_organisers.add(world.zj_amr)
        factories.RegistrationFactory(activity=activity).attendees.create(
            name="张三", mobile="13800000001"
        )
    client = APIClient()
    client.force_authenticate(fresh(staff_of(world.zj_amr)))

    # roles (3), count, rows with their waiting places, attendees, the co-organised activities
    with django_assert_num_queries(7):
        response = client.get(SIGN_UP)

    rows = response.json()["results"]
    assert [row["attendees"] for row in rows] == [[{"name": "张三", "mobile": "13800000001"}]] * n
