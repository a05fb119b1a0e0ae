"""Voluntary enterprise sign-up: the rules, capacity and the waiting list, withdrawal, capacity
changes and cancellation, with their audit entries and emails."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.enums import RepresentationStatus
from activities.enums import ActivityStatus
from activities.services import activity_cancel
from qualitymonth.errors import DomainError, IllegalTransition, NotAllowed
from qualitymonth.models import AuditLogEntry
from registrations.enums import RegistrationStatus
from registrations.models import Registration
from registrations.selectors import registrations_of_activity, registrations_of_enterprise
from registrations.services import (
    activity_capacity_change,
    registration_sign_up,
    registration_waiting_position,
    registration_withdraw,
)
from tests.factories import (
    ActivityFactory,
    AdminFactory,
    DepartmentMembershipFactory,
    EnterpriseFactory,
    EnterpriseRepresentativeFactory,
    RegistrationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CONFIRMED, WAITING = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING
WITHDRAWN, CANCELLED = RegistrationStatus.WITHDRAWN, RegistrationStatus.CANCELLED
ONE_PERSON = [{"name": "张三", "mobile": "138 0013 8000"}]


def open_activity(**kwargs):
    """A published activity whose sign-up window is open now; two seats unless told."""
    now = timezone.now()
    starts = now + dt.timedelta(days=10)
    return ActivityFactory(
        **{
            "starts_at": starts,
            "ends_at": starts + dt.timedelta(hours=3),
            "signup_opens_at": now - dt.timedelta(days=1),
            "signup_closes_at": now + dt.timedelta(days=5),
            "capacity": 2,
            "attendees_per_enterprise": 2,
            **kwargs,
        }
    )


def representative(enterprise=None, language="en", **user):
    """A verified representative (the user) of `enterprise` or of a new one."""
    claim = EnterpriseRepresentativeFactory(
        enterprise=enterprise or EnterpriseFactory(),
        user__preferred_language=language,
        **{f"user__{k}": v for k, v in user.items()},
    )
    return claim.user


def sign_up(activity, user, enterprise=None, attendees=ONE_PERSON, **kwargs):
    from accounts.rules import roles_of

    if enterprise is None:
        enterprise = EnterpriseFactory._meta.model.objects.get(pk=roles_of(user).enterprise_id)
    return registration_sign_up(
        activity,
        actor=user,
        enterprise=enterprise,
        attendees=attendees,
        contact_name=kwargs.pop("contact_name", "李经理"),
        contact_mobile=kwargs.pop("contact_mobile", "139 1234 5678"),
        **kwargs,
    )


def organiser_staff(activity):
    return DepartmentMembershipFactory(department=activity.organiser).user


def actions(registration) -> list[str]:
    return list(
        AuditLogEntry.objects.for_object(registration)
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


def mail_to(mailoutbox, user):
    return [m for m in mailoutbox if user.email in m.to]


@pytest.fixture(autouse=True)
def _english():
    """Messages are compared in English (the Chinese catalogue is filled separately)."""
    with translation.override("en"):
        yield


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (the emails) of what happens inside."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# --- confirmed while seats remain, then the waiting list -----------------------------------------


def test_sign_up_confirms_while_a_seat_is_free(committed, mailoutbox):
    activity = open_activity(title="质量管理体系培训班")
    rep = representative(full_name="王经理")
    two = [
        {"name": " 张三 ", "mobile": "+86 138-0013-8000"},
        {"name": "李四", "mobile": "13912345678"},
    ]

    with committed():
        registration = sign_up(activity, rep, attendees=two, note="需要无障碍通道")

    registration.refresh_from_db()
    assert registration.status == CONFIRMED
    assert registration.confirmed_at is not None
    assert registration.registered_by == rep
    assert (registration.contact_name, registration.contact_mobile) == ("李经理", "13912345678")
    assert registration.note == "需要无障碍通道"
    assert registration.attendee_count == 2
    assert [(a.name, a.mobile) for a in registration.attendees.all()] == [
        ("张三", "13800138000"),
        ("李四", "13912345678"),
    ]
    assert len(registration.check_in_code) == 8
    activity.refresh_from_db()
    assert activity.confirmed_count == 1
    assert registration_waiting_position(registration) is None
    assert actions(registration) == ["registrations.registration.confirmed"]
    entry = AuditLogEntry.objects.get(action="registrations.registration.confirmed")
    assert entry.actor == rep and entry.changes["status"] == [None, CONFIRMED]
    [mail] = mail_to(mailoutbox, rep)
    assert mail.subject == "Registration confirmed: 质量管理体系培训班"
    assert registration.check_in_code in mail.body
    assert "Dear 王经理," in mail.body
    assert f"/registrations/{registration.pk}/" in mail.body


def test_a_full_activity_puts_enterprises_on_the_waiting_list_in_order(committed, mailoutbox):
    activity = open_activity(capacity=1)
    first, second, third = (representative() for _ in range(3))

    with committed():
        confirmed = sign_up(activity, first)
        waiting = [sign_up(activity, second), sign_up(activity, third)]

    assert confirmed.status == CONFIRMED
    assert [r.status for r in waiting] == [WAITING, WAITING]
    assert [r.confirmed_at for r in waiting] == [None, None]
    assert [registration_waiting_position(r) for r in waiting] == [1, 2]
    activity.refresh_from_db()
    assert activity.confirmed_count == 1
    assert actions(waiting[0]) == ["registrations.registration.waiting"]
    [mail] = mail_to(mailoutbox, third)
    assert mail.subject.startswith("On the waiting list:")
    assert "at position 2" in mail.body
    assert waiting[1].check_in_code not in mail.body


def test_without_a_capacity_every_enterprise_is_confirmed():
    activity = open_activity(capacity=None)
    registrations = [sign_up(activity, representative()) for _ in range(4)]
    assert {r.status for r in registrations} == {CONFIRMED}
    activity.refresh_from_db()
    assert activity.confirmed_count == 4


# --- who may sign up, and when -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": ActivityStatus.SUBMITTED}, "activity_not_found"),  # hidden from them
        ({"status": ActivityStatus.DRAFT}, "activity_not_found"),  # hidden from them
        ({"status": ActivityStatus.CANCELLED}, "activity_not_published"),
        ({"status": ActivityStatus.REJECTED}, "activity_not_found"),  # hidden from them
        ({"signup_enabled": False}, "signup_disabled"),
        ({"signup_opens_at": timezone.now() + dt.timedelta(hours=1)}, "signup_not_open_yet"),
        ({"signup_closes_at": timezone.now() - dt.timedelta(minutes=1)}, "signup_closed"),
    ],
    ids=["submitted", "draft", "cancelled", "rejected", "no-signup", "not-yet", "closed"],
)
def test_sign_up_only_for_published_activities_inside_the_window(change, code):
    activity = open_activity()
    type(activity).objects.filter(pk=activity.pk).update(**change)
    activity.refresh_from_db()

    with pytest.raises(DomainError) as refused:
        sign_up(activity, representative())

    assert refused.value.code == code
    assert not Registration.objects.exists()
    activity.refresh_from_db()
    assert activity.confirmed_count == 0


def test_the_window_says_when_it_opens():
    activity = open_activity()
    opens = timezone.now() + dt.timedelta(days=2)
    type(activity).objects.filter(pk=activity.pk).update(signup_opens_at=opens)
    with pytest.raises(DomainError, match="Sign-up opens on"):
        sign_up(activity, representative())


def test_sign_up_succeeds_in_the_windows_first_second():
    activity = open_activity()
    type(activity).objects.filter(pk=activity.pk).update(signup_opens_at=timezone.now())
    assert sign_up(activity, representative()).status == CONFIRMED


def test_only_a_verified_representative_of_the_enterprise_signs_it_up():
    activity = open_activity()
    enterprise = EnterpriseFactory()
    other_rep = representative()
    pending = EnterpriseRepresentativeFactory(
        enterprise=enterprise, status=RepresentationStatus.PENDING
    ).user
    unverified = representative(enterprise, email_verified_at=None)
    people = {
        "another enterprise's representative": other_rep,
        "a pending claim": pending,
        "an unverified representative": unverified,
        "the organiser's staff": organiser_staff(activity),
        "an administrator": AdminFactory(),
        "someone without a role": UserFactory(),
        "nobody logged in": AnonymousUser(),
    }
    for who, person in people.items():
        with pytest.raises(NotAllowed):
            sign_up(activity, person, enterprise=enterprise)
        assert not Registration.objects.exists(), who
    assert sign_up(activity, representative(enterprise), enterprise=enterprise).status == CONFIRMED


@pytest.mark.parametrize(
    ("attendees", "kwargs", "code", "field"),
    [
        ([], {}, "attendees_required", "attendees"),
        (
            [{"name": f"参会人{i}", "mobile": f"1380013800{i}"} for i in range(3)],
            {},
            "too_many_attendees",
            "attendees",
        ),
        ([{"name": " ", "mobile": "13800138000"}], {}, "attendee_name_required", "attendees"),
        ([{"name": "张三", "mobile": "12345"}], {}, "mobile_invalid", "attendees"),
        ([{"name": "张三", "mobile": "010 6552 1234"}], {}, "mobile_invalid", "attendees"),
        ([{"name": "张三"}], {}, "mobile_invalid", "attendees"),
        (
            [
                {"name": "张三", "mobile": "13800138000"},
                {"name": "李四", "mobile": "138 0013 8000"},
            ],
            {},
            "attendee_mobile_repeated",
            "attendees",
        ),
        (ONE_PERSON, {"contact_name": " "}, "contact_required", "contact_name"),
        (ONE_PERSON, {"contact_mobile": "0571-87654321"}, "mobile_invalid", "contact_mobile"),
        (ONE_PERSON, {"note": "长" * 501}, "note_too_long", "note"),
    ],
    ids=[
        "none",
        "over-limit",
        "no-name",
        "bad-mobile",
        "landline",
        "no-mobile",
        "same-mobile",
        "no-contact",
        "contact-landline",
        "long-note",
    ],
)
def test_attendees_and_contact_are_checked(attendees, kwargs, code, field):
    activity = open_activity(attendees_per_enterprise=2)
    with pytest.raises(DomainError) as refused:
        sign_up(activity, representative(), attendees=attendees, **kwargs)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Registration.objects.exists()


def test_the_attendee_limit_message_names_the_limit():
    activity = open_activity(attendees_per_enterprise=1)
    two = [{"name": "张三", "mobile": "13800138000"}, {"name": "李四", "mobile": "13912345678"}]
    with pytest.raises(DomainError, match="at most 1 person"):
        sign_up(activity, representative(), attendees=two)


def test_one_active_registration_per_enterprise_and_activity():
    activity = open_activity(capacity=1)
    rep = representative()
    sign_up(activity, rep)
    colleague = representative(Registration.objects.get().enterprise)

    with pytest.raises(DomainError) as refused:
        sign_up(activity, colleague)
    assert refused.value.code == "already_registered"
    assert Registration.objects.count() == 1

    # Withdrawn, the enterprise may sign up again (voluntary both ways).
    registration_withdraw(Registration.objects.get(), actor=rep)
    again = sign_up(activity, colleague)
    assert again.status == CONFIRMED
    assert Registration.objects.filter(status=WITHDRAWN).count() == 1


def test_a_waiting_enterprise_cannot_queue_twice():
    activity = open_activity(capacity=1)
    sign_up(activity, representative())
    rep = representative()
    sign_up(activity, rep)
    with pytest.raises(DomainError, match="already registered"):
        sign_up(activity, rep)


# --- withdrawal and promotion --------------------------------------------------------------------


def _full_with_queue(capacity=1, waiting=2):
    """An activity with `capacity` confirmed enterprises and `waiting` more queued, the queue's
    arrival order deliberately the reverse of the ids."""
    activity = open_activity(capacity=capacity)
    reps = [representative() for _ in range(capacity + waiting)]
    registrations = [sign_up(activity, rep) for rep in reps]
    queued = registrations[capacity:]
    base = timezone.now()
    for offset, registration in enumerate(reversed(queued)):
        Registration.objects.filter(pk=registration.pk).update(
            created_at=base + dt.timedelta(seconds=offset)
        )
    for registration in registrations:
        registration.refresh_from_db()
    return activity, reps, registrations


def test_withdrawing_a_confirmed_registration_confirms_the_first_waiting_one(committed, mailoutbox):
    activity, reps, (confirmed, later, earlier) = _full_with_queue(capacity=1, waiting=2)
    assert registration_waiting_position(earlier) == 1
    mailoutbox.clear()

    with committed():
        registration_withdraw(confirmed, actor=reps[0])

    for r in (confirmed, later, earlier):
        r.refresh_from_db()
    assert confirmed.status == WITHDRAWN and confirmed.withdrawn_at is not None
    assert earlier.status == CONFIRMED and earlier.confirmed_at is not None
    assert later.status == WAITING and registration_waiting_position(later) == 1
    activity.refresh_from_db()
    assert activity.confirmed_count == 1
    assert actions(confirmed)[-1] == "registrations.registration.withdrawn"
    assert actions(earlier) == [
        "registrations.registration.waiting",
        "registrations.registration.promoted",
    ]
    assert AuditLogEntry.objects.get(action="registrations.registration.promoted").actor == reps[0]
    [withdrawn_mail] = mail_to(mailoutbox, reps[0])
    assert withdrawn_mail.subject.startswith("Registration withdrawn:")
    [promoted_mail] = mail_to(mailoutbox, reps[2])
    assert promoted_mail.subject.startswith("A place is free")
    assert earlier.check_in_code in promoted_mail.body
    assert mail_to(mailoutbox, reps[1]) == []


def test_withdrawing_a_waiting_registration_only_leaves_the_queue():
    activity, reps, (confirmed, later, earlier) = _full_with_queue(capacity=1, waiting=2)

    registration_withdraw(earlier, actor=reps[2])

    for r in (confirmed, later, earlier):
        r.refresh_from_db()
    assert (confirmed.status, earlier.status, later.status) == (CONFIRMED, WITHDRAWN, WAITING)
    assert registration_waiting_position(later) == 1
    activity.refresh_from_db()
    assert activity.confirmed_count == 1
    assert not AuditLogEntry.objects.filter(action="registrations.registration.promoted").exists()


def test_withdrawing_without_a_queue_frees_the_seat():
    activity = open_activity(capacity=2)
    rep = representative()
    registration = sign_up(activity, rep)
    registration_withdraw(registration, actor=rep)
    activity.refresh_from_db()
    assert activity.confirmed_count == 0


def test_the_organiser_withdraws_with_a_reason_the_enterprise_reads(committed, mailoutbox):
    activity = open_activity()
    rep = representative()
    registration = sign_up(activity, rep)
    staff = organiser_staff(activity)
    mailoutbox.clear()

    with pytest.raises(DomainError) as refused:
        registration_withdraw(registration, actor=staff)
    assert refused.value.code == "reason_required"

    with committed():
        registration_withdraw(registration, actor=staff, reason="该企业重复报名，请以另一条为准。")

    registration.refresh_from_db()
    assert registration.status == WITHDRAWN
    entry = AuditLogEntry.objects.get(action="registrations.registration.withdrawn")
    assert entry.actor == staff and entry.comment == "该企业重复报名，请以另一条为准。"
    [mail] = mail_to(mailoutbox, rep)
    assert "The organiser withdrew the registration" in mail.body
    assert "该企业重复报名" in mail.body


def test_an_administrator_may_withdraw_with_a_reason():
    activity = open_activity()
    registration = sign_up(activity, representative())
    registration_withdraw(registration, actor=AdminFactory(), reason="企业来电要求取消")
    registration.refresh_from_db()
    assert registration.status == WITHDRAWN


def test_nobody_else_withdraws_a_registration():
    activity = open_activity()
    registration = sign_up(activity, representative())
    other_department = DepartmentMembershipFactory().user
    for person in (representative(), other_department, UserFactory(), AnonymousUser()):
        with pytest.raises(NotAllowed):
            registration_withdraw(registration, actor=person, reason="试图取消")
    registration.refresh_from_db()
    assert registration.status == CONFIRMED


def test_a_registration_is_withdrawn_once():
    activity = open_activity()
    rep = representative()
    registration = sign_up(activity, rep)
    registration_withdraw(registration, actor=rep)
    with pytest.raises(IllegalTransition) as refused:
        registration_withdraw(registration, actor=rep)
    assert refused.value.code == "not_active"
    activity.refresh_from_db()
    assert activity.confirmed_count == 0


def test_no_withdrawal_once_the_activity_has_begun():
    activity = open_activity()
    rep = representative()
    registration = sign_up(activity, rep)
    now = timezone.now()
    type(activity).objects.filter(pk=activity.pk).update(
        signup_opens_at=now - dt.timedelta(days=3),
        signup_closes_at=now - dt.timedelta(days=2),
        starts_at=now - dt.timedelta(hours=1),
    )
    with pytest.raises(DomainError) as refused:
        registration_withdraw(registration, actor=rep)
    assert refused.value.code == "activity_started"


# --- capacity changes ----------------------------------------------------------------------------


def test_growing_the_capacity_confirms_waiting_enterprises_in_order(committed, mailoutbox):
    activity, reps, registrations = _full_with_queue(capacity=1, waiting=3)
    # Arrival order of the queue: reps[3], reps[2], reps[1].
    staff = organiser_staff(activity)
    version = activity.version
    mailoutbox.clear()

    with committed():
        changed = activity_capacity_change(activity, actor=staff, capacity=3)

    assert changed.capacity == 3 and changed.confirmed_count == 3
    assert changed.version == version + 1
    statuses = {r.pk: Registration.objects.get(pk=r.pk).status for r in registrations}
    assert [statuses[r.pk] for r in registrations] == [CONFIRMED, WAITING, CONFIRMED, CONFIRMED]
    entry = AuditLogEntry.objects.get(action="activities.activity.capacity_changed")
    assert entry.changes == {"capacity": [1, 3]} and entry.actor == staff
    assert AuditLogEntry.objects.filter(action="registrations.registration.promoted").count() == 2
    assert [len(mail_to(mailoutbox, rep)) for rep in reps] == [0, 0, 1, 1]


def test_removing_the_limit_confirms_everyone_waiting():
    activity, _reps, registrations = _full_with_queue(capacity=1, waiting=2)
    activity_capacity_change(activity, actor=AdminFactory(), capacity=None)
    assert {Registration.objects.get(pk=r.pk).status for r in registrations} == {CONFIRMED}
    activity.refresh_from_db()
    assert (activity.capacity, activity.confirmed_count) == (None, 3)


def test_the_capacity_cannot_fall_below_the_confirmed_enterprises():
    activity = open_activity(capacity=5)
    for _ in range(3):
        sign_up(activity, representative())
    staff = organiser_staff(activity)

    with pytest.raises(DomainError, match="3 enterprises are already confirmed") as refused:
        activity_capacity_change(activity, actor=staff, capacity=2)
    assert refused.value.code == "capacity_below_confirmed"
    with pytest.raises(DomainError) as refused:
        activity_capacity_change(activity, actor=staff, capacity=0)
    assert refused.value.code == "capacity_invalid"
    activity.refresh_from_db()
    assert activity.capacity == 5

    activity_capacity_change(activity, actor=staff, capacity=3)
    activity.refresh_from_db()
    assert (activity.capacity, activity.confirmed_count) == (3, 3)
    assert sign_up(activity, representative()).status == WAITING


def test_only_the_organiser_or_an_administrator_changes_the_capacity():
    activity = open_activity(capacity=2)
    for person in (DepartmentMembershipFactory().user, representative(), UserFactory()):
        with pytest.raises(NotAllowed):
            activity_capacity_change(activity, actor=person, capacity=10)
    activity.refresh_from_db()
    assert activity.capacity == 2


# --- cancellation with the activity --------------------------------------------------------------


def test_cancelling_the_activity_cancels_every_registration_and_tells_why(committed, mailoutbox):
    activity = open_activity(capacity=1, title="电梯安全宣传周启动仪式")
    confirmed_rep = representative(language="en")
    confirmed = sign_up(activity, confirmed_rep)
    colleague = representative(confirmed.enterprise, language="zh-hans")
    waiting_rep = representative(language="zh-hans")
    waiting = sign_up(activity, waiting_rep)
    gone_rep = representative()
    gone = RegistrationFactory(activity=activity, enterprise=EnterpriseFactory(), status=WITHDRAWN)
    staff = organiser_staff(activity)
    mailoutbox.clear()

    with committed():
        activity_cancel(activity, actor=staff, reason="受台风影响，活动取消。")

    for r in (confirmed, waiting, gone):
        r.refresh_from_db()
    assert (confirmed.status, waiting.status, gone.status) == (CANCELLED, CANCELLED, WITHDRAWN)
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.CANCELLED and activity.confirmed_count == 0
    entries = AuditLogEntry.objects.filter(action="registrations.registration.cancelled")
    assert {e.object_id for e in entries} == {str(confirmed.pk), str(waiting.pk)}
    assert {e.comment for e in entries} == {"受台风影响，活动取消。"}
    # Each representative is told, in their own language, with the reason.
    [english] = [m for m in mail_to(mailoutbox, confirmed_rep) if "cancelled" in m.subject]
    assert english.subject == "Activity cancelled: 电梯安全宣传周启动仪式"
    assert english.extra_headers["Content-Language"] == "en"
    assert "受台风影响" in english.body and "Reason:" in english.body
    for person in (colleague, waiting_rep):
        [chinese] = [m for m in mail_to(mailoutbox, person) if "电梯" in m.subject]
        assert chinese.extra_headers["Content-Language"] == "zh-hans"
        assert "原因：" in chinese.body and "受台风影响" in chinese.body
    assert mail_to(mailoutbox, gone_rep) == []
    # Nobody signs up for a cancelled activity.
    with pytest.raises(DomainError):
        sign_up(activity, representative())


def test_emails_follow_each_recipients_language(committed, mailoutbox):
    activity = open_activity()
    english = representative(language="en")
    enterprise = EnterpriseFactory._meta.model.objects.get(
        pk=english.enterprise_representations.get().enterprise_id
    )
    chinese = representative(enterprise, language="zh-hans")
    inactive = representative(enterprise, is_active=False)

    with committed():
        sign_up(activity, english)

    [en] = mail_to(mailoutbox, english)
    [zh] = mail_to(mailoutbox, chinese)
    assert en.extra_headers["Content-Language"] == "en"
    assert "National Quality Month portal" in en.body
    assert zh.extra_headers["Content-Language"] == "zh-hans"
    assert "全国“质量月”门户网站" in zh.body
    assert mail_to(mailoutbox, inactive) == []


def test_nothing_is_emailed_when_the_sign_up_is_refused(committed, mailoutbox):
    activity = open_activity(signup_enabled=False, signup_opens_at=None, signup_closes_at=None)
    with committed(), pytest.raises(DomainError):
        sign_up(activity, representative())
    assert mailoutbox == []


# --- selectors -----------------------------------------------------------------------------------


def test_my_registrations_carry_the_waiting_position_in_one_query():
    rep = representative()
    enterprise = EnterpriseFactory._meta.model.objects.get(
        pk=rep.enterprise_representations.get().enterprise_id
    )
    full = open_activity(capacity=1)
    sign_up(full, representative())
    sign_up(full, representative())
    waiting = sign_up(full, rep)
    confirmed = sign_up(open_activity(), rep)

    with CaptureQueriesContext(connection) as queries:
        found = {r.pk: r for r in registrations_of_enterprise(enterprise)}
        assert {pk: r.activity.title for pk, r in found.items()}
    assert len(queries) == 1
    assert found[waiting.pk].waiting_position == 2 == registration_waiting_position(waiting)
    assert found[confirmed.pk].waiting_position is None


def test_the_organisers_list_shows_confirmed_then_the_queue_in_order():
    activity, _reps, (confirmed, later, earlier) = _full_with_queue(capacity=1, waiting=2)
    listed = list(registrations_of_activity(activity))
    assert [r.pk for r in listed] == [confirmed.pk, earlier.pk, later.pk]
    assert [r.waiting_position for r in listed] == [None, 1, 2]
    assert [a.name for a in listed[0].attendees.all()] == ["张三"]
