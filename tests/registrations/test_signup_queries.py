"""The sign-up's database work (issue 6, bench/signup_burst.py): few queries, and the activity's
row lock held only for the seat, the audit entry and the commit; the emails after the commit."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import token_create
from registrations.enums import RegistrationStatus

from .test_signup import open_activity, representative, sign_up

pytestmark = pytest.mark.django_db


def _statements(queries) -> list[str]:
    return [q["sql"].split(None, 1)[0].upper() for q in queries]


def _locked_section(queries) -> list[str]:
    """The statements from the one taking the seat (or locking the activity) to the commit."""
    sql = [q["sql"] for q in queries if "django_content_type" not in q["sql"]]  # cached
    start = next(i for i, s in enumerate(sql) if 'UPDATE "activities_activity"' in s)
    end = next(
        i for i in range(start, len(sql)) if sql[i].startswith("COMMIT") or "RELEASE" in sql[i]
    )
    return sql[start : end + 1]


def test_a_confirmed_sign_up_holds_the_seat_lock_for_the_audit_entry_only(
    django_capture_on_commit_callbacks,
):
    activity = open_activity(capacity=1)
    user = representative()
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        registration = sign_up(activity, user)
    assert registration.status == RegistrationStatus.CONFIRMED
    locked = _locked_section(queries.captured_queries)
    assert len(locked) == 3, locked  # the seat with the confirmation, the audit entry, the end
    assert "qualitymonth_auditlogentry" in locked[1]
    # The emails: their recipients looked up and rendered after the commit.
    assert any("notify_on_commit" in c.__qualname__ for c in callbacks)
    assert activity.confirmed_count == 1


def test_a_waiting_sign_up_locks_the_activity_then_writes_only_the_audit_entry(
    django_capture_on_commit_callbacks,
):
    activity = open_activity(capacity=1)
    sign_up(activity, representative())
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        registration = sign_up(activity, representative())
    assert registration.status == RegistrationStatus.WAITING
    locked = _locked_section(queries.captured_queries)
    assert [s.split(None, 1)[0] for s in locked[1:]] == ["SELECT", "INSERT", "RELEASE"], locked
    assert "FOR NO KEY UPDATE" in locked[1]
    assert registration.waiting_position == 1


@pytest.mark.parametrize("seats", [1, 0])
def test_signing_up_over_the_api_takes_few_queries(seats, settings):
    settings.SIGNUP_RATE_PER_IP = "off"
    activity = open_activity(capacity=1)
    if not seats:
        sign_up(activity, representative())
    user = representative()
    _token, key = token_create(user=user, name="queries")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = {"activity": activity.pk, "attendees": [{"name": "王五", "mobile": "13800138000"}]}
    client.get("/api/v1/registrations/?mine=true")  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/registrations/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == ("confirmed" if seats else "waiting")
    assert response.json()["attendees"] == [{"name": "王五", "mobile": "13800138000"}]
    # Before issue 6's tuning: 22 (confirmed) and 24 (waiting).
    assert len(queries) <= (14 if seats else 16), _statements(queries.captured_queries)
