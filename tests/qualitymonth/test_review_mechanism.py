"""The generic review mechanism (qualitymonth/review.py), exercised through the activity workflow:
which transitions a person is offered, the order in which refusals are decided, that decisions and
permissions are judged on the saved row rather than the caller's copy, readable snapshots that do
not depend on the reader's language, the diff since the last review, and the edit lock."""

import datetime as dt

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from activities import services
from activities.enums import ActivityStatus
from activities.models import Activity
from qualitymonth.errors import DomainError, EditConflict, IllegalTransition, NotAllowed
from qualitymonth.models import AuditLogEntry, ReviewDecision
from tests import factories
from tests.activities.test_workflow import World, build_world

S = ActivityStatus
WORKFLOW = services.ACTIVITY_WORKFLOW


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(db) -> World:
    return build_world()


# --- what a person is offered -------------------------------------------------------------------

OFFERED = {
    # role: {state: transitions}
    "organiser_staff": {
        S.DRAFT: {"submit"},
        S.RETURNED: {"submit"},
        S.SUBMITTED: {"withdraw"},
        S.APPROVED: {"cancel"},
    },
    "reviewer_in_region": {S.SUBMITTED: {"approve", "return", "reject"}},
    "national_reviewer": {S.SUBMITTED: {"approve", "return", "reject"}},
    "admin": {
        S.DRAFT: {"submit"},
        S.RETURNED: {"submit"},
        S.SUBMITTED: {"withdraw", "approve", "return", "reject"},
        S.APPROVED: {"cancel"},
    },
}


def test_allowed_offers_exactly_the_moves_a_person_may_make_now(world):
    offered, expected = {}, {}
    for status in S:
        activity = world.activity(status)
        for role, person in world.people.items():
            offered[role, status.value] = {t.name for t in WORKFLOW.allowed(activity, person)}
            expected[role, status.value] = OFFERED.get(role, {}).get(status, set())
    assert offered == expected


# --- the order of refusals ------------------------------------------------------------------------


def test_a_stranger_is_refused_as_such_whatever_the_state(world):
    activity = world.activity(S.REJECTED)

    with pytest.raises(NotAllowed):
        services.activity_approve(activity, actor=world.reviewer_out_of_region)


def test_a_reviewer_who_comes_too_late_hears_who_came_first_not_that_a_reason_is_missing(world):
    activity = world.activity(S.SUBMITTED)
    late = Activity.objects.get(pk=activity.pk)
    services.activity_approve(activity, actor=world.national_reviewer)

    with pytest.raises(IllegalTransition) as refused:
        services.activity_reject(late, actor=world.reviewer_in_region, reason="")

    assert "Zhang National" in str(refused.value)


def test_a_state_nobody_recorded_is_still_explained(world):
    activity = world.activity(S.APPROVED)  # made by a factory: no history

    with pytest.raises(IllegalTransition) as refused:
        services.activity_approve(activity, actor=world.national_reviewer)

    assert "Approved (published)" in str(refused.value)
    assert refused.value.code == "illegal_transition"


def test_a_refused_move_leaves_no_trace(world):
    activity = world.activity(S.SUBMITTED)

    with pytest.raises(DomainError):
        services.activity_return(activity, actor=world.national_reviewer, comment=" ")

    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.status, saved.version) == (S.SUBMITTED, 1)
    assert AuditLogEntry.objects.for_object(activity).count() == 0
    assert ReviewDecision.objects.count() == 0


# --- the saved row, not the caller's copy -------------------------------------------------------


def resubmitted_elsewhere(world, activity, **changes):
    """The organiser withdraws, edits and resubmits while a reviewer still holds an old copy."""
    services.activity_withdraw(activity, actor=world.organiser_staff)
    services.activity_update(activity, actor=world.organiser_staff, **changes)
    services.activity_submit(activity, actor=world.organiser_staff)


def test_the_decision_records_what_was_saved_when_deciding(world):
    activity = world.activity(S.SUBMITTED, title="Old title")
    reviewers_copy = Activity.objects.get(pk=activity.pk)
    resubmitted_elsewhere(world, activity, title="Revised title")

    returned = services.activity_approve(reviewers_copy, actor=world.national_reviewer)

    (decision,) = WORKFLOW.decisions(activity)
    assert decision.snapshot["title"] == "Revised title"
    assert (returned.title, returned.status, returned.version) == ("Revised title", S.APPROVED, 5)
    entry = AuditLogEntry.objects.for_object(activity).first()
    assert entry.object_repr == "Revised title"


def test_a_reviewer_cannot_decide_on_an_activity_moved_out_of_their_region(world):
    activity = world.activity(S.SUBMITTED)
    reviewers_copy = Activity.objects.get(pk=activity.pk)
    resubmitted_elsewhere(world, activity, region=world.jiangsu)

    with pytest.raises(NotAllowed):
        services.activity_approve(reviewers_copy, actor=world.reviewer_in_region)

    assert Activity.objects.get(pk=activity.pk).status == S.SUBMITTED
    assert list(WORKFLOW.decisions(activity)) == []


# --- decisions, snapshots and the diff ----------------------------------------------------------


def test_decisions_are_listed_newest_first(world):
    activity = world.activity(S.SUBMITTED)
    services.activity_return(activity, actor=world.national_reviewer, comment="First round.")
    services.activity_submit(activity, actor=world.organiser_staff)
    services.activity_reject(activity, actor=world.reviewer_in_region, reason="Second round.")

    assert [d.comment for d in WORKFLOW.decisions(activity)] == ["Second round.", "First round."]
    assert WORKFLOW.last_decision(activity).reviewer == world.reviewer_in_region
    assert WORKFLOW.last_decision(world.activity(S.SUBMITTED)) is None


def test_a_snapshot_is_readable_text(world):
    starts = timezone.make_aware(dt.datetime(2024, 9, 10, 9, 0))  # Asia/Shanghai
    activity = world.activity(
        S.DRAFT, starts_at=starts, ends_at=starts + dt.timedelta(hours=3), capacity=None
    )

    snapshot = WORKFLOW.snapshot(activity)

    assert set(snapshot) == set(WORKFLOW.reviewed_fields)
    assert all(isinstance(value, str) for value in snapshot.values())
    with translation.override("zh-hans"):
        assert snapshot["key_arrangement"] == "2. 质量强企系列活动"
        assert snapshot["region"] == "广州市 (440100)"
        assert snapshot["content_areas"] == "2. 发挥质量对企业做强做优做大的作用"
        assert snapshot["co_organisers"] == "中华全国总工会"
        assert snapshot["no_fee_declared"] == gettext("yes")
    assert snapshot["starts_at"] == "2024-09-10 09:00"
    assert snapshot["capacity"] == ""
    assert snapshot["title"] == activity.title


def test_a_snapshot_does_not_depend_on_the_readers_language(world):
    activity = world.activity(S.SUBMITTED)
    with translation.override("zh-hans"):
        services.activity_return(activity, actor=world.national_reviewer, comment="Check.")
        in_chinese = WORKFLOW.snapshot(activity)
    with translation.override("en"):
        in_english = WORKFLOW.snapshot(activity)
        unchanged = WORKFLOW.changes_since_last_review(activity)

    assert in_english == in_chinese
    assert unchanged == []


def test_the_diff_lists_exactly_what_changed_since_the_last_review(world):
    activity = world.activity(S.SUBMITTED, title="Old title", venue="Hall 1")
    assert WORKFLOW.changes_since_last_review(activity) == []
    services.activity_return(
        activity, actor=world.national_reviewer, field_comments={"venue": "Which hall?"}
    )
    cities = factories.ContentAreaFactory(
        campaign=world.campaign, number=4, title_zh="城市", title_en="Cities"
    )
    services.activity_update(
        activity,
        actor=world.organiser_staff,
        title="New title",
        venue="Hall 1",
        region=world.guangdong,
        content_areas=[world.area, cities],
    )
    services.activity_submit(activity, actor=world.organiser_staff)

    changes = WORKFLOW.changes_since_last_review(activity)

    assert [(c["field"], str(c["label"]), c["before"], c["after"]) for c in changes] == [
        ("title", "title", "Old title", "New title"),
        ("region", "region", "广州市 (440100)", "广东省 (440000)"),
        (
            "content_areas",
            "content areas",
            "2. 发挥质量对企业做强做优做大的作用",
            "2. 发挥质量对企业做强做优做大的作用; 4. 城市",
        ),
    ]


def test_the_diff_starts_again_at_each_review(world):
    activity = world.activity(S.SUBMITTED, title="One")
    services.activity_return(activity, actor=world.national_reviewer, comment="Again.")
    services.activity_update(activity, actor=world.organiser_staff, title="Two")
    services.activity_submit(activity, actor=world.organiser_staff)
    services.activity_return(activity, actor=world.national_reviewer, comment="Once more.")
    services.activity_update(activity, actor=world.organiser_staff, venue="Hall 9")
    services.activity_submit(activity, actor=world.organiser_staff)

    changes = WORKFLOW.changes_since_last_review(activity)

    assert [(c["field"], c["before"], c["after"]) for c in changes] == [
        ("venue", "市民中心报告厅", "Hall 9")
    ]


def test_two_regions_of_the_same_name_are_told_apart(world):
    """Beijing and Changchun both have a 朝阳区: moving between them is a change."""
    beijing = factories.ProvinceFactory(code="110000", name_zh="北京市")
    jilin = factories.ProvinceFactory(code="220000", name_zh="吉林省")
    changchun = factories.CityFactory(code="220100", parent=jilin)
    beijing_city = factories.CityFactory(code="110100", parent=beijing)
    in_beijing = factories.CountyFactory(code="110105", name_zh="朝阳区", parent=beijing_city)
    in_changchun = factories.CountyFactory(code="220104", name_zh="朝阳区", parent=changchun)
    activity = world.activity(S.SUBMITTED, region=in_beijing)
    services.activity_return(activity, actor=world.national_reviewer, comment="Wrong district.")
    services.activity_update(activity, actor=world.organiser_staff, region=in_changchun)

    (change,) = WORKFLOW.changes_since_last_review(activity)

    assert (change["before"], change["after"]) == ("朝阳区 (110105)", "朝阳区 (220104)")


# --- the edit lock --------------------------------------------------------------------------------


def test_save_edit_refuses_a_stale_version_and_bumps_a_current_one(world):
    activity = world.activity(S.DRAFT)
    Activity.objects.filter(pk=activity.pk).update(version=3)

    with pytest.raises(EditConflict):
        WORKFLOW.save_edit(activity, actor=world.organiser_staff, changed={}, expected_version=2)
    WORKFLOW.save_edit(
        activity, actor=world.organiser_staff, changed={"title": ["a", "b"]}, expected_version=3
    )

    assert activity.version == 4
    entry = AuditLogEntry.objects.for_object(activity).get()
    assert (entry.action, entry.changes) == ("activities.activity.changed", {"title": ["a", "b"]})


def test_lock_without_a_version_gives_the_saved_row(world):
    activity = world.activity(S.DRAFT, title="Saved")
    activity.title = "Unsaved"

    current = WORKFLOW.lock(activity, expected_version=None)

    assert (current.pk, current.title) == (activity.pk, "Saved")
