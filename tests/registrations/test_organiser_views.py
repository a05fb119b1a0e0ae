"""The organisers' registration pages, per role: registrants, waiting list and attendance, the
capacity (growing confirms the waiting, shrinking below the confirmed is refused), check-in by
code (good, another activity's, twice) and the scan link, query counts.

Pages are requested in English; assertions are on what a person sees or on the saved data.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from registrations.enums import RegistrationStatus
from registrations.models import Registration
from registrations.services import registration_sign_up, registration_withdraw
from tests.factories import (
    ActivityFactory,
    AdminFactory,
    DepartmentFactory,
    DepartmentMembershipFactory,
    EnterpriseFactory,
    EnterpriseRepresentativeFactory,
    ReviewerAssignmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CONFIRMED, WAITING = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING


def open_activity(**kwargs):
    """A published activity open for sign-up now; two seats unless told."""
    now = timezone.now()
    starts = now + dt.timedelta(days=10)
    return ActivityFactory(
        **{
            "title": "杭州质量开放日",
            "starts_at": starts,
            "ends_at": starts + dt.timedelta(hours=3),
            "signup_opens_at": now - dt.timedelta(days=1),
            "signup_closes_at": now + dt.timedelta(days=5),
            "capacity": 2,
            **kwargs,
        }
    )


def signed_up(activity, name: str, *, attendee="张三", mobile="13800138000") -> Registration:
    """`name` signs up through the service (so the activity's counts stay true)."""
    enterprise = EnterpriseFactory(name=name)
    user = EnterpriseRepresentativeFactory(enterprise=enterprise).user
    return registration_sign_up(
        activity,
        actor=user,
        enterprise=enterprise,
        attendees=[{"name": attendee, "mobile": mobile}],
        contact_name="李经理",
        contact_mobile="13912345678",
        note="需要无障碍通道",
    )


def browser(user=None) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def page(response) -> str:
    return response.content.decode()


def registrants_url(activity):
    return reverse("organiser:registrants", args=[activity.pk])


def capacity_url(activity):
    return reverse("organiser:capacity", args=[activity.pk])


def check_in_url(activity):
    return reverse("organiser:check_in", args=[activity.pk])


@pytest.fixture
def activity():
    return open_activity()


@pytest.fixture
def staff(activity):
    return DepartmentMembershipFactory(department=activity.organiser).user


@pytest.fixture
def full(activity):
    """Two confirmed (the first checked in by nobody yet) and two waiting, in that order."""
    return [
        signed_up(activity, "杭州恒信精密机械有限公司"),
        signed_up(activity, "宁波海天塑机有限公司"),
        signed_up(activity, "温州正泰电器有限公司", attendee="王五", mobile="13700137000"),
        signed_up(activity, "嘉兴光伏材料有限公司"),
    ]


# --- who sees the registrants ----------------------------------------------------------------


def test_organiser_staff_see_registrants_waiting_list_and_attendance(activity, staff, full):
    full[0].checked_in_at = timezone.now()
    full[0].save(update_fields=["checked_in_at"])
    registration_withdraw(full[3], actor=staff, reason="重复报名")

    response = browser(staff).get(registrants_url(activity))

    assert response.status_code == 200
    text = page(response)
    assert response.context["confirmed"] == full[:2]
    assert [(r.enterprise.name, r.waiting_position) for r in response.context["waiting"]] == [
        ("温州正泰电器有限公司", 1)
    ]
    assert [r.enterprise.name for r in response.context["ended"]] == ["嘉兴光伏材料有限公司"]
    assert "1 of 2" in text  # checked in
    assert "13800138000" in text and "13912345678" in text  # the organiser sees the mobiles
    assert "需要无障碍通道" in text
    assert "Change the capacity" in text and "Check in at the door" in text


def test_co_organiser_staff_read_the_attendees_and_contacts_but_do_not_manage(activity, full):
    """They run the door with the organiser: the same people as the API shows them."""
    co = DepartmentFactory(region=activity.region)
    activity.co_organisers.add(co)
    user = DepartmentMembershipFactory(department=co).user

    response = browser(user).get(registrants_url(activity))

    assert response.status_code == 200
    text = page(response)
    assert "张三" in text and "13800138000" in text  # an attendee
    assert "李经理" in text and "13912345678" in text  # the contact
    assert "需要无障碍通道" in text  # the note
    assert "You see this list read-only." in text
    assert "Change the capacity" not in text and "Check in at the door" not in text
    assert browser(user).post(capacity_url(activity), {"capacity": 5}).status_code == 403
    assert browser(user).get(check_in_url(activity)).status_code == 403


@pytest.mark.parametrize("role", ["reviewer", "national_reviewer"])
def test_reviewers_read_the_list_without_the_people(activity, full, role):
    region = activity.region if role == "reviewer" else None
    user = ReviewerAssignmentFactory(region=region).user

    response = browser(user).get(registrants_url(activity))

    assert response.status_code == 200
    text = page(response)
    assert "宁波海天塑机有限公司" in text and "温州正泰电器有限公司" in text
    assert "1 person" in text  # how many attend, not who
    mobiles = ("13800138000", "138****", "13700137000", "137****", "13912345678", "139****")
    for personal in ("张三", "王五", "李经理", "需要无障碍通道", *mobiles):
        assert personal not in text, personal
    assert "without the attendees and contacts" in text
    assert "Change the capacity" not in text and "Check in at the door" not in text
    assert browser(user).post(capacity_url(activity), {"capacity": 5}).status_code == 403
    assert browser(user).get(check_in_url(activity)).status_code == 403


def test_an_administrator_sees_and_manages_everything(activity, full):
    response = browser(AdminFactory()).get(registrants_url(activity))
    assert response.status_code == 200
    assert "13800138000" in page(response) and "Change the capacity" in page(response)


@pytest.mark.parametrize("who", ["other_staff", "other_reviewer", "enterprise", "nobody"])
def test_another_departments_activity_is_not_found(activity, full, who):
    if who == "other_staff":
        user = DepartmentMembershipFactory().user
    elif who == "other_reviewer":
        user = ReviewerAssignmentFactory(region=DepartmentFactory().region).user
    elif who == "enterprise":
        user = EnterpriseRepresentativeFactory(enterprise=full[0].enterprise).user
    else:
        user = UserFactory()
    client = browser(user)
    for url in (
        registrants_url(activity),
        capacity_url(activity),
        check_in_url(activity),
        reverse("organiser:activity_export", args=[activity.pk, "csv"]),
    ):
        method = client.post if url == capacity_url(activity) else client.get
        assert method(url).status_code == 404, url


def test_anonymous_people_are_sent_to_log_in(activity):
    response = Client().get(registrants_url(activity))
    assert response.status_code == 302 and "login" in response["Location"]


# --- capacity ------------------------------------------------------------------------------------


def test_growing_the_capacity_confirms_the_waiting_in_order_and_says_who(
    activity, staff, full, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(staff).post(capacity_url(activity), {"capacity": 3}, follow=True)

    assert response.status_code == 200
    text = page(response)
    assert "The capacity is now 3 enterprises." in text
    assert "Confirmed from the waiting list and told by email: 温州正泰电器有限公司." in text
    statuses = dict(Registration.objects.values_list("enterprise__name", "status"))
    assert statuses["温州正泰电器有限公司"] == CONFIRMED
    assert statuses["嘉兴光伏材料有限公司"] == WAITING
    activity.refresh_from_db()
    assert (activity.capacity, activity.confirmed_count) == (3, 3)
    assert [r.waiting_position for r in response.context["waiting"]] == [1]


def test_no_limit_confirms_everyone_waiting(activity, staff, full):
    response = browser(staff).post(capacity_url(activity), {"capacity": ""}, follow=True)
    assert "The activity now takes any number of enterprises." in page(response)
    assert not Registration.objects.filter(status=WAITING).exists()


def test_shrinking_below_the_confirmed_is_refused_with_the_reason(activity, staff, full):
    response = browser(staff).post(capacity_url(activity), {"capacity": 1})

    assert response.status_code == 400
    assert "2 enterprises are already confirmed: the capacity cannot be lower." in page(response)
    activity.refresh_from_db()
    assert activity.capacity == 2


def test_a_capacity_below_one_is_refused_by_the_form(activity, staff):
    response = browser(staff).post(capacity_url(activity), {"capacity": 0})
    assert response.status_code == 400
    assert "greater than or equal to 1" in page(response)


# --- check-in ------------------------------------------------------------------------------------


def test_check_in_by_code_shows_the_enterprise_and_attendees(activity, staff, full):
    code = full[0].check_in_code

    response = browser(staff).post(
        check_in_url(activity), {"code": f" {code[:4].lower()} {code[4:]}"}
    )

    assert response.status_code == 200
    text = page(response)
    assert "Checked in at" in text
    assert "杭州恒信精密机械有限公司" in text and "张三" in text
    full[0].refresh_from_db()
    assert full[0].checked_in_at is not None and full[0].checked_in_by == staff
    assert "1 of 2 confirmed enterprises have arrived." in text


def test_check_in_twice_says_when_the_first_was(activity, staff, full):
    client = browser(staff)
    client.post(check_in_url(activity), {"code": full[0].check_in_code})

    response = client.post(check_in_url(activity), {"code": full[0].check_in_code})

    assert response.status_code == 409
    assert "杭州恒信精密机械有限公司 was already checked in at" in page(response)


def test_a_code_of_another_activity_is_refused(activity, staff, full):
    other = open_activity(organiser=activity.organiser, title="宁波标准化培训班")
    stranger = signed_up(other, "舟山船舶修造有限公司")

    response = browser(staff).post(check_in_url(activity), {"code": stranger.check_in_code})

    assert response.status_code == 409
    assert "is for another activity." in page(response)
    stranger.refresh_from_db()
    assert stranger.checked_in_at is None


def test_an_unknown_code_and_a_waiting_one_are_refused(activity, staff, full):
    client = browser(staff)
    unknown = client.post(check_in_url(activity), {"code": "ZZZZ2222"})
    waiting = client.post(check_in_url(activity), {"code": full[2].check_in_code})

    assert "No registration has the check-in code ZZZZ2222" in page(unknown)
    assert "its registration is “On the waiting list”" in page(waiting)
    assert not Registration.objects.filter(checked_in_at__isnull=False).exists()


def test_the_scan_link_shows_the_enterprise_and_checks_in_only_on_post(activity, staff, full):
    url = reverse("organiser:check_in_scan", args=[full[1].check_in_code.lower()])
    client = browser(staff)

    response = client.get(url)

    assert response.status_code == 200
    assert "宁波海天塑机有限公司" in page(response)
    full[1].refresh_from_db()
    assert full[1].checked_in_at is None  # opening the link changes nothing
    client.post(check_in_url(activity), {"code": full[1].check_in_code})
    full[1].refresh_from_db()
    assert full[1].checked_in_at is not None
    assert "Already checked in:" in page(client.get(url))


def test_the_scan_link_finds_nothing_for_others(activity, full):
    url = reverse("organiser:check_in_scan", args=[full[0].check_in_code])
    reviewer = ReviewerAssignmentFactory(region=activity.region).user  # sees, but does not manage
    for user in (DepartmentMembershipFactory().user, reviewer):
        response = browser(user).get(url)
        assert response.status_code == 404
        assert "No registration with the code" in page(response)
        assert "杭州恒信精密机械有限公司" not in page(response)


# --- the workspace links here ---------------------------------------------------------------


def test_the_activitys_workspace_page_links_to_its_registrants(activity, staff, full):
    response = browser(staff).get(reverse("activities:activity_manage", args=[activity.pk]))
    assert registrants_url(activity) in page(response)


# --- query counts --------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_registrants_page_makes_the_same_queries_for_1_and_3_registrations(staff):
    one, three = open_activity(organiser=staff.department_membership.department), None
    signed_up(one, "甲公司")
    three = open_activity(organiser=one.organiser, capacity=2)
    for name in ("乙公司", "丙公司", "丁公司"):  # two confirmed, one waiting
        signed_up(three, name)
    client = browser(staff)
    _queries(client, registrants_url(one))  # warm the session

    assert _queries(client, registrants_url(one)) == _queries(client, registrants_url(three))


@pytest.mark.parametrize("role", ["reviewer", "co_organiser"])
def test_the_read_only_registrants_page_makes_the_same_queries_for_1_and_3(staff, role):
    """Those who read the list (with the people or without) see it in a fixed number of
    queries too."""
    one = open_activity(organiser=staff.department_membership.department)
    signed_up(one, "甲公司")
    three = open_activity(organiser=one.organiser, region=one.region, capacity=2)
    for name in ("乙公司", "丙公司", "丁公司"):
        signed_up(three, name)
    if role == "reviewer":
        user = ReviewerAssignmentFactory(region=one.region).user
    else:
        co_organiser = DepartmentFactory()
        for activity in (one, three):
            activity.co_organisers.add(co_organiser)
        user = DepartmentMembershipFactory(department=co_organiser).user
    client = browser(user)
    _queries(client, registrants_url(one))  # warm the session

    assert _queries(client, registrants_url(one)) == _queries(client, registrants_url(three))


def test_the_check_in_page_makes_the_same_queries_for_1_and_3_registrations(staff):
    one = open_activity(organiser=staff.department_membership.department, capacity=5)
    signed_up(one, "甲公司")
    three = open_activity(organiser=one.organiser, capacity=5)
    for name in ("乙公司", "丙公司", "丁公司"):
        signed_up(three, name)
    client = browser(staff)
    _queries(client, check_in_url(one))

    assert _queries(client, check_in_url(one)) == _queries(client, check_in_url(three))
