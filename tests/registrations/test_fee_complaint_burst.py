"""A burst of simultaneous fee complaints from one address cannot exceed the hourly limit: each
post is counted before it is saved (atomically), not after.

PostgreSQL (each thread its own connection, real concurrent transactions); the counters are in
the local-memory "ratelimit" cache of this process, shared by the threads as Redis would be by
several web processes."""

import threading

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client

from registrations.models import FeeComplaint

from .test_fee_complaints import REPORT, report_data

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


def post_at_once(count: int, ip: str = "10.3.3.3", **overrides) -> list[int]:
    barrier = threading.Barrier(count, timeout=60)
    statuses: list = [None] * count

    def post(index):
        client = Client(REMOTE_ADDR=ip)
        try:
            barrier.wait()
            statuses[index] = client.post(
                REPORT, report_data(organiser_name=f"某公司{index}", **overrides)
            ).status_code
        except BaseException as error:  # reported by the assertion below
            statuses[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def test_twenty_simultaneous_reports_from_one_address_store_exactly_the_limit(settings):
    settings.FEE_COMPLAINTS_PER_HOUR = 3

    statuses = post_at_once(20)

    assert sorted(statuses) == [302] * 3 + [429] * 17
    assert FeeComplaint.objects.count() == 3


def test_invalid_reports_in_a_burst_give_their_count_back(settings):
    settings.FEE_COMPLAINTS_PER_HOUR = 2

    statuses = post_at_once(6, description="")

    assert sorted(statuses) == [400] * 6
    assert FeeComplaint.objects.count() == 0
    # Nothing was used up: the next two valid reports are accepted.
    client = Client(REMOTE_ADDR="10.3.3.3")
    assert client.post(REPORT, report_data(organiser_name="某公司")).status_code == 302
    assert client.post(REPORT, report_data(organiser_name="某公司")).status_code == 302
    assert client.post(REPORT, report_data(organiser_name="某公司")).status_code == 429
