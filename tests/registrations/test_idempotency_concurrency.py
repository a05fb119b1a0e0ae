"""Simultaneous replays of one Idempotency-Key sign up exactly once, and every replay gets the
first request's response.

PostgreSQL only, each thread its own connection (the replays' INSERTs wait on the unique key for
the first transaction, then read its stored response). bench/signup_idempotency.py does the same
with 100 clients through gunicorn."""

import datetime as dt
import json
import threading

import pytest
from django.core.cache import caches
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from qualitymonth.models import IdempotencyKey
from registrations.models import Registration
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SIGN_UP = "/api/v1/registrations/"
REPLAYS = 30  # leaves PostgreSQL's connections for whatever else runs on the server


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.SIGNUP_RATE_PER_USER = "off"
    settings.SIGNUP_RATE_PER_IP = "off"
    caches["ratelimit"].clear()


def open_activity(capacity=10):
    now = timezone.now()
    starts = now + dt.timedelta(days=10)
    return factories.ActivityFactory(
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=3),
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=now + dt.timedelta(days=5),
        capacity=capacity,
    )


def post_at_once(user, requests: list[tuple[str, bytes]]) -> list:
    """POST each (key, body) from its own thread, all released together."""
    barrier = threading.Barrier(len(requests), timeout=60)
    responses: list = [None] * len(requests)

    def send(index, key, content):
        client = APIClient()
        client.force_login(user)
        try:
            barrier.wait()
            responses[index] = client.post(
                SIGN_UP, content, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
            )
        except BaseException as error:  # reported by the assertions
            responses[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=(i, key, content))
        for i, (key, content) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a replay hangs"
    return responses


def body(activity, name="张三") -> bytes:
    return json.dumps(
        {"activity": activity.pk, "attendees": [{"name": name, "mobile": "13800000001"}]}
    ).encode()


def test_simultaneous_replays_of_one_key_sign_up_exactly_once():
    activity = open_activity()
    user = factories.EnterpriseRepresentativeFactory().user

    responses = post_at_once(user, [("burst-key-1", body(activity))] * REPLAYS)

    assert [r for r in responses if isinstance(r, BaseException)] == []
    assert {r.status_code for r in responses} == {201}
    bodies = {json.dumps(r.json(), sort_keys=True) for r in responses}
    assert len(bodies) == 1  # every replay got the first response
    replayed = [r for r in responses if r.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == REPLAYS - 1
    assert Registration.objects.filter(activity=activity).count() == 1
    assert IdempotencyKey.objects.count() == 1
    activity.refresh_from_db()
    assert activity.confirmed_count == 1


def test_simultaneous_replays_with_a_changed_body_get_422_and_change_nothing():
    activity = open_activity()
    user = factories.EnterpriseRepresentativeFactory().user
    requests = [("burst-key-2", body(activity))] * 10 + [("burst-key-2", body(activity, "李四"))]

    responses = post_at_once(user, requests)

    statuses = sorted(r.status_code for r in responses)
    # Whichever came first was carried out; the others with its body were replayed, those with
    # the other body refused.
    assert statuses in ([201] * 10 + [422], [201] + [422] * 10)
    assert Registration.objects.filter(activity=activity).count() == 1


def test_different_keys_for_the_same_enterprise_still_sign_it_up_once():
    activity = open_activity()
    user = factories.EnterpriseRepresentativeFactory().user
    requests = [(f"key-{n}", body(activity)) for n in range(8)]

    responses = post_at_once(user, requests)

    assert sorted(r.status_code for r in responses) == [201] + [400] * 7
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"already_registered"}
    assert Registration.objects.filter(activity=activity).count() == 1
