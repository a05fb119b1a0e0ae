"""The activity services skip Django's per-constraint queries because Activity.clean() words
every database constraint as a field message. This keeps that promise honest: a constraint
without a clean() message fails here."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from activities.enums import ActivityStatus
from activities.models import Activity
from tests import factories

pytestmark = pytest.mark.django_db

VIOLATIONS = {
    "activity_ends_after_start": lambda a: setattr(a, "ends_at", a.starts_at),
    "activity_capacity_positive": lambda a: setattr(a, "capacity", 0),
    "activity_confirmed_within_capacity": lambda a: setattr(a, "confirmed_count", 11),
    "activity_attendee_limit_positive": lambda a: setattr(a, "attendees_per_enterprise", 0),
    "activity_has_venue_or_link": lambda a: (setattr(a, "venue", ""), setattr(a, "online_url", "")),
    "activity_no_fee_declared_beyond_draft": lambda a: setattr(a, "no_fee_declared", False),
    "activity_status_valid": lambda a: setattr(a, "status", "lost"),
}


def _signup_windows():
    def missing(a):
        a.signup_opens_at = None

    def reversed_(a):
        a.signup_opens_at = a.signup_closes_at + dt.timedelta(hours=1)

    def after_end(a):
        a.signup_closes_at = a.ends_at + dt.timedelta(hours=1)

    def opens_after_end(a):
        a.signup_enabled = False
        a.signup_opens_at = a.ends_at + dt.timedelta(hours=1)
        a.signup_closes_at = a.ends_at + dt.timedelta(hours=2)

    return [missing, reversed_, after_end, opens_after_end]


@pytest.mark.parametrize("breaks", [*VIOLATIONS.values(), *_signup_windows()])
def test_clean_words_each_constraint_without_asking_the_database(breaks):
    activity = factories.ActivityFactory(status=ActivityStatus.SUBMITTED)
    breaks(activity)
    with pytest.raises(ValidationError) as refused:
        activity.full_clean(validate_constraints=False)
    assert refused.value.message_dict


def test_every_check_constraint_is_listed_here():
    names = {c.name for c in Activity._meta.constraints}
    listed = set(VIOLATIONS) | {n for n in names if n.startswith("activity_signup")}
    assert names <= listed, f"add a violation for: {sorted(names - listed)}"
