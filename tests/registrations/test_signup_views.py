"""The enterprise's sign-up pages: sign up, a registration, "My registrations", withdraw."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.enums import RepresentationStatus
from accounts.models import EnterpriseSignup
from activities.enums import ActivityStatus
from registrations.enums import RegistrationStatus
from registrations.models import Registration
from tests import factories

pytestmark = pytest.mark.django_db


# --- the world -----------------------------------------------------------------------------


def open_activity(**kwargs):
    """A published activity whose sign-up window is open now, starting in ten days."""
    now = timezone.now()
    kwargs.setdefault("starts_at", now + dt.timedelta(days=10))
    kwargs.setdefault("ends_at", kwargs["starts_at"] + dt.timedelta(hours=3))
    kwargs.setdefault("signup_opens_at", now - dt.timedelta(days=1))
    kwargs.setdefault("signup_closes_at", kwargs["starts_at"] - dt.timedelta(days=1))
    return factories.ActivityFactory(**kwargs)


def representative(enterprise=None, **user_fields):
    user = factories.UserFactory(**user_fields)
    factories.EnterpriseRepresentativeFactory(
        user=user, enterprise=enterprise or factories.EnterpriseFactory()
    )
    return user


def page(user=None):
    """A browser in English, signed in as `user` (None: anonymous)."""
    from django.test import Client

    client = Client()
    client.cookies["django_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def sign_up_url(activity):
    return reverse("registrations:sign_up", args=[activity.pk])


def form_data(*attendees, contact_name="李经理", contact_mobile="13912345678", note="", limit=2):
    data = {
        "attendees-TOTAL_FORMS": str(limit),
        "attendees-INITIAL_FORMS": "0",
        "attendees-MIN_NUM_FORMS": "0",
        "attendees-MAX_NUM_FORMS": str(limit),
        "contact_name": contact_name,
        "contact_mobile": contact_mobile,
        "note": note,
    }
    for index in range(limit):
        name, mobile = attendees[index] if index < len(attendees) else ("", "")
        data[f"attendees-{index}-name"] = name
        data[f"attendees-{index}-mobile"] = mobile
    return data


def text(response) -> str:
    return response.content.decode()


# --- who may sign up -------------------------------------------------------------------------


def test_a_verified_representative_gets_the_form_prefilled_with_the_enterprise_contact():
    activity = open_activity(capacity=5, attendees_per_enterprise=3)
    enterprise = factories.EnterpriseFactory(contact_name="赵经理", mobile="13700001111")
    response = page(representative(enterprise)).get(sign_up_url(activity))

    assert response.status_code == 200
    assert response.context["form"]["contact_name"].value() == "赵经理"
    assert response.context["form"]["contact_mobile"].value() == "13700001111"
    assert len(response.context["formset"].forms) == 3  # as many rows as the limit
    body = text(response)
    assert activity.title in body
    assert "5 of 5" in body  # seats left
    assert reverse("public:activity_detail", args=[activity.pk]) in body
    assert "voluntary and free of charge" in body


def test_anonymous_visitors_are_told_to_log_in_or_sign_up_their_enterprise():
    activity = open_activity()
    response = page().get(sign_up_url(activity))

    assert response.status_code == 200
    assert "form" not in response.context
    body = text(response)
    assert reverse("accounts:login") + "?next=" + sign_up_url(activity) in body
    assert reverse("accounts:signup") in body


def test_a_representative_with_an_unverified_email_is_asked_to_verify_it():
    activity = open_activity()
    user = representative(email_verified_at=None)
    response = page(user).get(sign_up_url(activity))

    assert "form" not in response.context
    assert "Verify your email address first" in text(response)
    assert reverse("accounts:verification_resend") in text(response)


def test_someone_who_signed_up_but_did_not_verify_is_asked_to_verify():
    activity = open_activity()
    user = factories.UserFactory(email_verified_at=None)
    EnterpriseSignup.objects.create(user=user, uscc=factories.valid_uscc(), details={"name": "X"})
    response = page(user).get(sign_up_url(activity))

    assert "Verify your email address first" in text(response)


def test_a_pending_claim_is_told_to_wait_for_approval():
    activity = open_activity()
    claim = factories.EnterpriseRepresentativeFactory(status=RepresentationStatus.PENDING)
    response = page(claim.user).get(sign_up_url(activity))

    assert "form" not in response.context
    assert "waits for approval" in text(response)
    assert claim.enterprise.name in text(response)


def test_department_staff_are_told_that_only_enterprise_representatives_sign_up():
    activity = open_activity()
    staff = factories.DepartmentMembershipFactory(department=activity.organiser).user
    response = page(staff).get(sign_up_url(activity))

    assert "form" not in response.context
    assert "Only a representative of an enterprise can sign it up" in text(response)
    assert reverse("accounts:enterprise_claim") in text(response)


def test_posting_without_representing_an_enterprise_is_refused_and_signs_nothing_up():
    activity = open_activity()
    staff = factories.DepartmentMembershipFactory(department=activity.organiser).user
    response = page(staff).post(sign_up_url(activity), form_data(("张三", "13800000001")))

    assert response.status_code == 403
    assert not Registration.objects.exists()


def test_a_draft_is_not_found_by_enterprises():
    activity = open_activity(status=ActivityStatus.DRAFT, no_fee_declared=False)
    response = page(representative()).get(sign_up_url(activity))

    assert response.status_code == 404


def test_a_cancelled_activity_says_so_and_offers_no_form():
    activity = open_activity(status=ActivityStatus.CANCELLED, cancellation_reason="场地维修")
    response = page(representative()).get(sign_up_url(activity))

    assert response.status_code == 200
    assert "form" not in response.context
    assert "This activity is cancelled." in text(response)
    assert "场地维修" in text(response)


def test_before_the_window_opens_the_page_says_when_it_opens():
    now = timezone.now()
    activity = open_activity(signup_opens_at=now + dt.timedelta(days=2))
    response = page(representative()).get(sign_up_url(activity))

    assert "form" not in response.context
    assert "Sign-up opens on" in text(response)


def test_after_the_window_closes_the_page_says_so():
    now = timezone.now()
    activity = open_activity(
        signup_opens_at=now - dt.timedelta(days=5), signup_closes_at=now - dt.timedelta(days=1)
    )
    response = page(representative()).get(sign_up_url(activity))

    assert "form" not in response.context
    assert "Sign-up closed on" in text(response)


# --- signing up ----------------------------------------------------------------------------


def test_signing_up_with_a_free_seat_confirms_and_shows_the_check_in_code_as_a_qr_code():
    activity = open_activity(capacity=3)
    enterprise = factories.EnterpriseFactory()
    user = representative(enterprise)
    client = page(user)

    response = client.post(
        sign_up_url(activity),
        form_data(("张三", "138 0000 0001"), ("", ""), note="需要无障碍通道"),
        follow=True,
    )

    registration = Registration.objects.get(enterprise=enterprise, activity=activity)
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.note == "需要无障碍通道"
    assert [(a.name, a.mobile) for a in registration.attendees.all()] == [("张三", "13800000001")]
    assert response.redirect_chain[-1][0] == reverse(
        "registrations:registration_detail", args=[registration.pk]
    )
    body = text(response)
    assert "Your enterprise is registered" in body
    assert registration.check_in_code in body
    assert "<svg" in body and "</svg>" in body
    activity.refresh_from_db()
    assert activity.confirmed_count == 1


def test_signing_up_for_a_full_activity_puts_the_enterprise_on_the_waiting_list_with_its_place():
    activity = open_activity(capacity=1)
    factories.RegistrationFactory(activity=activity)
    activity.confirmed_count = 1
    activity.save(update_fields=["confirmed_count"])
    first_waiting = factories.RegistrationFactory(
        activity=activity, status=RegistrationStatus.WAITING
    )
    enterprise = factories.EnterpriseFactory()
    client = page(representative(enterprise))

    assert "Join the waiting list" in text(client.get(sign_up_url(activity)))
    response = client.post(sign_up_url(activity), form_data(("李四", "13900000002")), follow=True)

    registration = Registration.objects.get(enterprise=enterprise)
    assert registration.status == RegistrationStatus.WAITING
    assert first_waiting.pk != registration.pk
    body = text(response)
    assert "waiting list" in body
    assert "in place 2" in body
    assert registration.check_in_code not in body  # no code until confirmed
    assert "<svg" not in body


def test_invalid_input_is_shown_next_to_the_fields_and_nothing_typed_is_lost():
    activity = open_activity(attendees_per_enterprise=2)
    client = page(representative())

    response = client.post(
        sign_up_url(activity),
        form_data(("张三", "12345"), ("", "13800000009"), contact_name="", note="带两台电脑"),
    )

    assert response.status_code == 200
    assert not Registration.objects.exists()
    formset = response.context["formset"]
    assert formset.forms[0].errors["mobile"]
    assert formset.forms[1].errors["name"] == ["Give this attendee's name."]
    assert response.context["form"].errors["contact_name"]
    body = text(response)
    assert 'value="张三"' in body and 'value="12345"' in body and 'value="13800000009"' in body
    assert "带两台电脑" in body


def test_a_form_without_attendees_asks_for_one():
    activity = open_activity()
    response = page(representative()).post(sign_up_url(activity), form_data())

    assert "Name at least one attendee" in text(response)
    assert not Registration.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("closed", "Sign-up closed on"),
        ("cancelled", "This activity is cancelled."),
        ("limit", "at most 1 person"),
    ],
)
def test_the_services_refusals_are_shown_on_the_form_and_keep_the_input(change, message):
    activity = open_activity(attendees_per_enterprise=2)
    client = page(representative())
    client.get(sign_up_url(activity))
    # Meanwhile, the organiser changes the activity.
    now = timezone.now()
    if change == "closed":
        activity.signup_opens_at = now - dt.timedelta(days=3)
        activity.signup_closes_at = now - dt.timedelta(minutes=1)
    elif change == "cancelled":
        activity.status = ActivityStatus.CANCELLED
    else:
        activity.attendees_per_enterprise = 1
    activity.save()

    data = form_data(("张三", "13800000001"), ("李四", "13800000002"), note="我们准时到")
    response = page_post = client.post(sign_up_url(activity), data)

    assert page_post.status_code == 200
    assert not Registration.objects.exists()
    assert message in text(response)
    if change != "cancelled":  # a cancelled activity shows no form any more, only why
        shown = [
            *response.context["form"].non_field_errors(),
            *response.context["formset"].non_form_errors(),
        ]
        assert any(message in str(error) for error in shown)
        assert "我们准时到" in text(response)


def test_a_refusal_about_the_attendees_is_shown_above_them():
    activity = open_activity(attendees_per_enterprise=2)
    client = page(representative())

    response = client.post(
        sign_up_url(activity), form_data(("张三", "13800000001"), ("李四", "13800000001"))
    )

    assert response.context["formset"].non_form_errors() == [
        "Each attendee needs their own mobile number."
    ]
    assert not Registration.objects.exists()


def test_the_same_enterprise_cannot_sign_up_twice_and_is_shown_its_registration():
    activity = open_activity()
    enterprise = factories.EnterpriseFactory()
    registration = factories.RegistrationFactory(activity=activity, enterprise=enterprise)
    client = page(representative(enterprise))

    response = client.get(sign_up_url(activity))
    assert "form" not in response.context
    assert "is registered for this activity" in text(response)
    assert reverse("registrations:registration_detail", args=[registration.pk]) in text(response)


def test_a_second_representative_racing_the_first_sees_the_services_refusal():
    activity = open_activity()
    enterprise = factories.EnterpriseFactory()
    first, second = representative(enterprise), representative(enterprise)
    form = page(second)
    form.get(sign_up_url(activity))
    page(first).post(sign_up_url(activity), form_data(("张三", "13800000001")))

    # The second had the form open before the first signed up; its post is refused cleanly.
    response = form.post(sign_up_url(activity), form_data(("李四", "13800000002")))

    assert Registration.objects.filter(enterprise=enterprise).count() == 1
    assert "is registered for this activity" in text(response)


def test_chinese_readers_get_the_page_in_chinese_markup():
    activity = open_activity()
    client = page(representative())
    client.cookies["django_language"] = "zh-hans"

    response = client.get(sign_up_url(activity))

    assert response.status_code == 200
    assert '<html lang="zh-hans">' in text(response)


# --- a registration ------------------------------------------------------------------------


def test_another_enterprises_registration_is_not_found():
    registration = factories.RegistrationFactory(activity=open_activity())

    for user in (representative(), factories.UserFactory()):
        assert (
            page(user)
            .get(reverse("registrations:registration_detail", args=[registration.pk]))
            .status_code
            == 404
        )
        assert (
            page(user).get(reverse("registrations:withdraw", args=[registration.pk])).status_code
            == 404
        )
        assert (
            page(user).post(reverse("registrations:withdraw", args=[registration.pk])).status_code
            == 404
        )
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED


def test_anonymous_visitors_are_sent_to_log_in_for_a_registration():
    registration = factories.RegistrationFactory(activity=open_activity())

    response = page().get(reverse("registrations:registration_detail", args=[registration.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- "My registrations" --------------------------------------------------------------------


def _my_world(enterprise):
    now = timezone.now()
    upcoming = factories.RegistrationFactory(
        enterprise=enterprise, activity=open_activity(title="即将举行的活动")
    )
    waiting_activity = open_activity(title="候补中的活动", capacity=1)
    factories.RegistrationFactory(activity=waiting_activity, status=RegistrationStatus.WAITING)
    waiting = factories.RegistrationFactory(
        enterprise=enterprise, activity=waiting_activity, status=RegistrationStatus.WAITING
    )
    past_start = now - dt.timedelta(days=3)
    past = factories.RegistrationFactory(
        enterprise=enterprise,
        activity=open_activity(
            title="已结束的活动",
            starts_at=past_start,
            ends_at=past_start + dt.timedelta(hours=2),
            signup_opens_at=past_start - dt.timedelta(days=5),
            signup_closes_at=past_start - dt.timedelta(days=1),
        ),
    )
    withdrawn = factories.RegistrationFactory(
        enterprise=enterprise,
        activity=open_activity(title="已退出的活动"),
        status=RegistrationStatus.WITHDRAWN,
        withdrawn_at=now,
    )
    cancelled = factories.RegistrationFactory(
        enterprise=enterprise,
        activity=open_activity(title="已取消的活动", status=ActivityStatus.CANCELLED),
        status=RegistrationStatus.CANCELLED,
    )
    return upcoming, waiting, past, withdrawn, cancelled


def test_my_registrations_are_grouped_upcoming_waiting_past_and_ended():
    enterprise = factories.EnterpriseFactory()
    upcoming, waiting, past, withdrawn, cancelled = _my_world(enterprise)
    factories.RegistrationFactory(activity=upcoming.activity)  # another enterprise's

    response = page(representative(enterprise)).get(reverse("registrations:my_registrations"))

    groups = response.context["groups"]
    assert groups["upcoming"] == [upcoming]
    assert groups["waiting"] == [waiting]
    assert groups["waiting"][0].waiting_position == 2
    assert groups["past"] == [past]
    assert set(groups["ended"]) == {withdrawn, cancelled}
    body = text(response)
    assert "Waiting list, place 2" in body
    assert upcoming.check_in_code in body
    assert reverse("registrations:withdraw", args=[upcoming.pk]) in body
    assert reverse("registrations:withdraw", args=[waiting.pk]) in body
    assert reverse("registrations:withdraw", args=[past.pk]) not in body


def test_my_registrations_without_any_points_to_the_activities():
    response = page(representative()).get(reverse("registrations:my_registrations"))

    assert "has not signed up for any activity yet" in text(response)
    assert reverse("public:activity_list") in text(response)


def test_my_registrations_explains_itself_to_someone_without_an_enterprise():
    response = page(factories.UserFactory()).get(reverse("registrations:my_registrations"))

    assert response.status_code == 200
    assert "Your account does not represent an enterprise" in text(response)


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_my_registrations_needs_the_same_queries_for_1_and_3_of_each():
    enterprise = factories.EnterpriseFactory()
    client = page(representative(enterprise))
    url = reverse("registrations:my_registrations")
    _my_world(enterprise)
    client.get(url)  # warm up: session, content types

    with_one = _queries(client, url)
    _my_world(enterprise)
    _my_world(enterprise)
    with_three = _queries(client, url)

    assert client.get(url).context["count"] == 15
    assert with_three == with_one


# --- withdrawing ---------------------------------------------------------------------------


def test_withdrawing_asks_first_then_frees_the_seat_for_the_first_waiting_enterprise():
    activity = open_activity(capacity=1)
    ours = factories.EnterpriseFactory()
    client = page(representative(ours))
    client.post(sign_up_url(activity), form_data(("张三", "13800000001")))
    theirs = factories.EnterpriseFactory()
    page(representative(theirs)).post(sign_up_url(activity), form_data(("李四", "13800000002")))
    mine = Registration.objects.get(enterprise=ours)
    queued = Registration.objects.get(enterprise=theirs)
    assert (mine.status, queued.status) == ("confirmed", "waiting")

    confirm = client.get(reverse("registrations:withdraw", args=[mine.pk]))
    assert "Withdraw the registration?" in text(confirm)
    mine.refresh_from_db()
    assert mine.status == RegistrationStatus.CONFIRMED  # asking changes nothing

    response = client.post(
        reverse("registrations:withdraw", args=[mine.pk]), {"reason": "时间冲突"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("registrations:my_registrations")
    assert "is withdrawn" in text(response)
    mine.refresh_from_db()
    queued.refresh_from_db()
    assert mine.status == RegistrationStatus.WITHDRAWN
    assert queued.status == RegistrationStatus.CONFIRMED  # promoted by the service
    assert response.context["groups"]["ended"] == [mine]


def test_withdrawing_twice_shows_the_refusal():
    activity = open_activity()
    enterprise = factories.EnterpriseFactory()
    registration = factories.RegistrationFactory(
        activity=activity, enterprise=enterprise, status=RegistrationStatus.WITHDRAWN
    )

    response = page(representative(enterprise)).post(
        reverse("registrations:withdraw", args=[registration.pk]), {"reason": ""}
    )

    assert response.status_code == 200
    assert "no longer active" in text(response)
    assert "already" in text(response)


def test_a_registration_cannot_be_withdrawn_once_the_activity_has_begun():
    now = timezone.now()
    started = now - dt.timedelta(hours=1)
    activity = open_activity(
        starts_at=started,
        ends_at=now + dt.timedelta(hours=2),
        signup_opens_at=now - dt.timedelta(days=5),
        signup_closes_at=started,
    )
    enterprise = factories.EnterpriseFactory()
    registration = factories.RegistrationFactory(activity=activity, enterprise=enterprise)
    client = page(representative(enterprise))

    detail = client.get(reverse("registrations:registration_detail", args=[registration.pk]))
    assert reverse("registrations:withdraw", args=[registration.pk]) not in text(detail)
    response = client.post(reverse("registrations:withdraw", args=[registration.pk]), {})

    assert "The activity has begun" in text(response)
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED
