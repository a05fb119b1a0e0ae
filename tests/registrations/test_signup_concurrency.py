"""Never oversell: simultaneous sign-ups and withdrawals, each on its own database connection.

PostgreSQL only (SQLite serialises every writer, which would prove nothing). Each thread loads
what it needs, waits at a barrier so that all of them call the service at the same moment, and
closes its connection at the end.
"""

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from activities.models import Activity
from qualitymonth.errors import DomainError
from registrations.enums import RegistrationStatus
from registrations.models import Enterprise, Registration
from registrations.services import (
    registration_sign_up,
    registration_waiting_position,
    registration_withdraw,
)
from tests.factories import ActivityFactory, EnterpriseRepresentativeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CONFIRMED, WAITING = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING


def open_activity(capacity: int) -> Activity:
    now = timezone.now()
    starts = now + dt.timedelta(days=10)
    return ActivityFactory(
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=3),
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=now + dt.timedelta(days=5),
        capacity=capacity,
        attendees_per_enterprise=2,
    )


def run_at_once(jobs) -> list:
    """Run each job (a callable taking no argument) in its own thread, all released together.
    Returns what each returned or raised, in the order of `jobs`."""
    barrier = threading.Barrier(len(jobs), timeout=60)
    outcomes: list = [None] * len(jobs)

    def work(index, job):
        try:
            prepared = job()  # loads its rows, then returns the call to make at the barrier
            barrier.wait()
            outcomes[index] = prepared()
        except BaseException as error:  # reported to the test, which fails on it
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hangs (a deadlock?)"
    return outcomes


def sign_up_job(activity_id: int, user_id: int, enterprise_id: int, number: int):
    def prepare():
        activity = Activity.objects.get(pk=activity_id)
        user = User.objects.get(pk=user_id)
        enterprise = Enterprise.objects.get(pk=enterprise_id)
        return lambda: registration_sign_up(
            activity,
            actor=user,
            enterprise=enterprise,
            attendees=[{"name": f"参会人{number}", "mobile": f"138{number:08d}"}],
            contact_name="联系人",
            contact_mobile="13912345678",
        )

    return prepare


def withdraw_job(registration_id: int, user_id: int):
    def prepare():
        registration = Registration.objects.select_related("activity").get(pk=registration_id)
        user = User.objects.get(pk=user_id)
        return lambda: registration_withdraw(registration, actor=user)

    return prepare


def representatives(n: int) -> list[tuple[int, int]]:
    """(user id, enterprise id) of `n` verified representatives of as many enterprises."""
    claims = [EnterpriseRepresentativeFactory() for _ in range(n)]
    return [(c.user_id, c.enterprise_id) for c in claims]


def assert_within_capacity(activity: Activity) -> dict[str, int]:
    activity.refresh_from_db()
    counts = Counter(
        Registration.objects.filter(activity=activity).values_list("status", flat=True)
    )
    assert activity.confirmed_count == counts[CONFIRMED] <= activity.capacity
    if counts[WAITING]:
        assert counts[CONFIRMED] == activity.capacity  # nobody waits while a seat is free
    return counts


def test_fifty_two_simultaneous_sign_ups_fill_exactly_ten_seats_and_queue_the_rest():
    activity = open_activity(capacity=10)
    people = representatives(52)
    jobs = [sign_up_job(activity.pk, u, e, i) for i, (u, e) in enumerate(people)]

    outcomes = run_at_once(jobs)

    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert errors == []
    counts = assert_within_capacity(activity)
    assert counts == {CONFIRMED: 10, WAITING: 42}
    # The waiting list is in order of arrival, and each enterprise is registered once.
    waiting = list(
        Registration.objects.filter(activity=activity, status=WAITING).order_by("created_at", "id")
    )
    assert [r.created_at for r in waiting] == sorted(r.created_at for r in waiting)
    assert len({r.enterprise_id for r in Registration.objects.filter(activity=activity)}) == 52
    assert len({r.check_in_code for r in Registration.objects.filter(activity=activity)}) == 52
    assert [registration_waiting_position(r) for r in waiting] == list(range(1, 43))
    confirmed_at = Registration.objects.filter(activity=activity, status=CONFIRMED).values_list(
        "confirmed_at", flat=True
    )
    assert all(moment is not None for moment in confirmed_at)


def test_the_same_enterprise_signing_up_many_times_at_once_is_registered_once():
    activity = open_activity(capacity=10)
    enterprise = EnterpriseRepresentativeFactory().enterprise
    colleagues = [EnterpriseRepresentativeFactory(enterprise=enterprise).user_id for _ in range(11)]
    user_ids = [enterprise.representatives.first().user_id, *colleagues]
    jobs = [sign_up_job(activity.pk, u, enterprise.pk, i) for i, u in enumerate(user_ids)]

    outcomes = run_at_once(jobs)

    registered = [o for o in outcomes if isinstance(o, Registration)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(registered) == 1 and registered[0].status == CONFIRMED
    assert len(refused) == len(jobs) - 1
    assert {e.code for e in refused} == {"already_registered"}
    assert Registration.objects.filter(activity=activity).count() == 1
    activity.refresh_from_db()
    assert activity.confirmed_count == 1


def test_withdrawals_racing_with_sign_ups_never_oversell():
    activity = open_activity(capacity=10)
    first = representatives(20)
    for i, (user_id, enterprise_id) in enumerate(first):
        sign_up_job(activity.pk, user_id, enterprise_id, i)()()
    confirmed = list(Registration.objects.filter(activity=activity, status=CONFIRMED))
    waiting = list(Registration.objects.filter(activity=activity, status=WAITING))
    assert (len(confirmed), len(waiting)) == (10, 10)
    rep_of = {e: u for u, e in first}
    newcomers = representatives(25)
    jobs = [withdraw_job(r.pk, rep_of[r.enterprise_id]) for r in confirmed[:8]]
    jobs += [withdraw_job(r.pk, rep_of[r.enterprise_id]) for r in waiting[::3]]
    jobs += [sign_up_job(activity.pk, u, e, 100 + i) for i, (u, e) in enumerate(newcomers)]

    outcomes = run_at_once(jobs)

    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    counts = assert_within_capacity(activity)
    # 20 + 25 signed up, 8 + 4 withdrew: 33 active, so every seat is taken.
    assert counts == {CONFIRMED: 10, WAITING: 23, RegistrationStatus.WITHDRAWN: 12}
