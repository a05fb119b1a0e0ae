"""Creating and editing activities, and what a submission needs: `activity_create`,
`activity_update` and the completeness check of `activity_submit`."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext

from activities import services
from activities.enums import ActivityStatus
from activities.models import Activity
from qualitymonth.errors import EditConflict, IllegalTransition, NotAllowed
from qualitymonth.models import AuditLogEntry
from tests import factories
from tests.activities.test_workflow import World, build_world, staff

S = ActivityStatus


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(db) -> World:
    return build_world()


def entries(activity, action=None):
    found = AuditLogEntry.objects.for_object(activity).order_by("id")
    return list(found.filter(action=action) if action else found)


def new_fields(world, **overrides):
    starts = dt.datetime(2024, 9, 12, 9, 30, tzinfo=dt.UTC)
    fields = {
        "key_arrangement": world.arrangement,
        "title": "Quality management training for small enterprises",
        "summary": "A free one-day course.",
        "region": world.guangzhou,
        "venue": "Guangzhou Citizens' Centre, hall 3",
        "starts_at": starts,
        "ends_at": starts + dt.timedelta(hours=6),
        "contact_name": "Ms Chen",
        "contact_phone": "020-12345678",
        "no_fee_declared": True,
    }
    return {**fields, **overrides}


# --- activity_create ----------------------------------------------------------------------------


def test_staff_create_a_draft_of_their_own_department(world):
    activity = services.activity_create(
        actor=world.organiser_staff,
        campaign=world.campaign,
        organiser=world.organiser,
        content_areas=[world.area],
        co_organisers=[world.co_organiser, world.organiser],
        **new_fields(world),
    )

    activity.refresh_from_db()
    assert (activity.status, activity.version) == (S.DRAFT, 1)
    assert activity.created_by == world.organiser_staff
    assert list(activity.content_areas.all()) == [world.area]
    # The organiser is never its own co-organiser.
    assert list(activity.co_organisers.all()) == [world.co_organiser]
    (entry,) = entries(activity)
    assert (entry.action, entry.actor) == ("activities.activity.created", world.organiser_staff)
    assert entry.changes["title"] == ["", "Quality management training for small enterprises"]


@pytest.mark.parametrize(
    "role",
    [
        "co_organiser_staff",
        "other_department_staff",
        "reviewer_in_region",
        "national_reviewer",
        "enterprise_representative",
        "no_roles",
    ],
)
def test_nobody_creates_activities_for_a_department_not_their_own(world, role):
    with pytest.raises(NotAllowed):
        services.activity_create(
            actor=world.people[role],
            campaign=world.campaign,
            organiser=world.organiser,
            **new_fields(world),
        )

    assert Activity.objects.count() == 0
    assert AuditLogEntry.objects.count() == 0


def test_an_administrator_creates_activities_for_any_department(world):
    activity = services.activity_create(
        actor=world.admin,
        campaign=world.campaign,
        organiser=world.other_department,
        **new_fields(world, region=world.jiangsu),
    )

    assert (activity.organiser, activity.status) == (world.other_department, S.DRAFT)


def test_create_refuses_headings_of_another_campaign(world):
    other_year = factories.CampaignFactory(year=2023)
    old_arrangement = factories.KeyArrangementFactory(campaign=other_year)
    old_area = factories.ContentAreaFactory(campaign=other_year)

    with pytest.raises(ValidationError) as refused:
        services.activity_create(
            actor=world.organiser_staff,
            campaign=world.campaign,
            organiser=world.organiser,
            content_areas=[world.area, old_area],
            **new_fields(world, key_arrangement=old_arrangement),
        )

    assert set(refused.value.message_dict) == {"key_arrangement", "content_areas"}
    assert Activity.objects.count() == 0


def test_create_reports_invalid_fields_by_field(world):
    fields = new_fields(world, venue="", online_url="")
    fields["ends_at"] = fields["starts_at"] - dt.timedelta(hours=1)

    with pytest.raises(ValidationError) as refused:
        services.activity_create(
            actor=world.organiser_staff,
            campaign=world.campaign,
            organiser=world.organiser,
            **fields,
        )

    errors = refused.value.message_dict
    assert errors["ends_at"] == ["An activity must end after it starts."]
    assert errors["venue"] == ["Give a venue, an online link, or both."]
    assert Activity.objects.count() == 0


def test_create_refuses_fields_that_belong_to_the_workflow(world):
    with pytest.raises(TypeError):
        services.activity_create(
            actor=world.organiser_staff,
            campaign=world.campaign,
            organiser=world.organiser,
            **new_fields(world, status=S.APPROVED),
        )
    assert Activity.objects.count() == 0


# --- activity_update ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.DRAFT, S.RETURNED])
def test_drafts_and_returned_activities_can_be_edited(world, status):
    activity = world.activity(status, title="Old title")

    services.activity_update(
        activity, actor=world.organiser_staff, expected_version=activity.version, title="New title"
    )

    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.title, saved.status, saved.version) == ("New title", status, 2)
    assert (activity.title, activity.version) == ("New title", 2)


@pytest.mark.parametrize("status", [S.SUBMITTED, S.APPROVED, S.REJECTED, S.CANCELLED])
def test_other_states_cannot_be_edited(world, status):
    activity = world.activity(status, title="Old title")

    with pytest.raises(IllegalTransition) as refused:
        services.activity_update(activity, actor=world.organiser_staff, title="New title")

    assert "Only a draft or an activity returned for revision can be changed" in str(refused.value)
    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.title, saved.status, saved.version) == ("Old title", status, 1)
    assert entries(activity) == []


@pytest.mark.parametrize(
    "role",
    [
        "co_organiser_staff",
        "other_department_staff",
        "reviewer_in_region",
        "national_reviewer",
        "enterprise_representative",
        "no_roles",
        "anonymous",
    ],
)
def test_only_the_organiser_and_administrators_edit(world, role):
    activity = world.activity(S.DRAFT, title="Old title")

    with pytest.raises(NotAllowed):
        services.activity_update(activity, actor=world.people[role], title="Taken over")

    assert Activity.objects.get(pk=activity.pk).title == "Old title"
    assert entries(activity) == []


def test_an_administrator_may_edit_any_draft(world):
    activity = world.activity(S.DRAFT)

    services.activity_update(activity, actor=world.admin, venue="Hall 2")

    assert Activity.objects.get(pk=activity.pk).venue == "Hall 2"


def test_an_edit_keeps_content_areas_and_co_organisers_unless_given(world):
    activity = world.activity(S.DRAFT)

    services.activity_update(activity, actor=world.organiser_staff, title="Renamed")

    assert list(activity.content_areas.all()) == [world.area]
    assert list(activity.co_organisers.all()) == [world.co_organiser]


def test_an_edit_replaces_content_areas_and_co_organisers_when_given(world):
    activity = world.activity(S.DRAFT)
    second_area = factories.ContentAreaFactory(campaign=world.campaign, number=5)

    services.activity_update(
        activity,
        actor=world.organiser_staff,
        content_areas=[second_area],
        co_organisers=[world.other_department, world.organiser],
    )

    assert list(activity.content_areas.all()) == [second_area]
    assert list(activity.co_organisers.all()) == [world.other_department]


def test_an_edit_refuses_headings_of_another_campaign(world):
    activity = world.activity(S.DRAFT, title="Old title")
    other_year = factories.CampaignFactory(year=2023)

    with pytest.raises(ValidationError) as refused:
        services.activity_update(
            activity,
            actor=world.organiser_staff,
            title="New title",
            key_arrangement=factories.KeyArrangementFactory(campaign=other_year),
            content_areas=[factories.ContentAreaFactory(campaign=other_year)],
        )

    assert set(refused.value.message_dict) == {"key_arrangement", "content_areas"}
    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.title, saved.key_arrangement, saved.version) == (
        "Old title",
        world.arrangement,
        1,
    )
    assert list(saved.content_areas.all()) == [world.area]


def test_an_edit_logs_exactly_the_changed_fields_with_old_and_new_values(world):
    activity = world.activity(S.DRAFT, title="Old title", venue="Hall 1", capacity=10)
    second_area = factories.ContentAreaFactory(
        campaign=world.campaign, number=4, title_zh="城市", title_en="Cities"
    )

    services.activity_update(
        activity,
        actor=world.organiser_staff,
        expected_version=1,
        title="New title",
        venue="Hall 1",  # unchanged
        capacity=25,
        content_areas=[world.area, second_area],
    )

    (entry,) = entries(activity, "activities.activity.changed")
    assert entry.actor == world.organiser_staff
    with translation.override("zh-hans"):
        areas_before = str(world.area)
        areas_after = f"{world.area}; {second_area}"
    assert entry.changes == {
        "title": ["Old title", "New title"],
        "capacity": ["10", "25"],
        "content_areas": [areas_before, areas_after],
    }


def test_the_log_has_the_saved_old_values_even_when_the_copy_was_already_changed(world):
    """A bound ModelForm writes the new values onto its instance while validating: the log
    must still show what was saved before, not the form's values twice."""
    activity = world.activity(S.DRAFT, title="Old title")
    activity.title = "New title"  # what form.is_valid() does to form.instance

    services.activity_update(activity, actor=world.organiser_staff, title="New title")

    (entry,) = entries(activity, "activities.activity.changed")
    assert entry.changes == {"title": ["Old title", "New title"]}


def test_an_edit_that_changes_nothing_logs_nothing(world):
    activity = world.activity(S.DRAFT, title="Same")

    services.activity_update(activity, actor=world.organiser_staff, title="Same")

    assert entries(activity) == []


def test_an_edit_from_a_copy_loaded_before_the_submission_does_not_undo_it(world):
    """The organiser opened the form, a colleague submitted meanwhile, then the form is saved
    without a version: the edit is refused and the submission stands (it used to be reset to a
    draft by saving the whole stale copy)."""
    activity = world.activity(S.DRAFT, title="Old title")
    stale = Activity.objects.get(pk=activity.pk)
    colleague = staff(world.organiser)
    services.activity_submit(activity, actor=colleague)

    with pytest.raises(IllegalTransition):
        services.activity_update(stale, actor=world.organiser_staff, title="New title")

    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.status, saved.title, saved.version) == (S.SUBMITTED, "Old title", 2)
    assert saved.submitted_at is not None


def test_an_edit_never_touches_what_the_workflow_owns(world):
    activity = world.activity(S.RETURNED, title="Old title")
    stale = Activity.objects.get(pk=activity.pk)
    Activity.objects.filter(pk=activity.pk).update(cancellation_reason="kept")
    stale.status = S.APPROVED  # a caller's copy may say anything

    services.activity_update(stale, actor=world.organiser_staff, title="New title")

    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.status, saved.cancellation_reason, saved.title) == (
        S.RETURNED,
        "kept",
        "New title",
    )
    assert stale.status == S.RETURNED


def test_a_stale_edit_names_who_saved_first_and_saves_nothing(world):
    activity = world.activity(S.DRAFT, title="Old title")
    colleague = staff(world.organiser, full_name="Sun Colleague")
    services.activity_update(activity, actor=colleague, expected_version=1, title="Theirs")

    with pytest.raises(EditConflict) as refused:
        services.activity_update(
            Activity.objects.get(pk=activity.pk),
            actor=world.organiser_staff,
            expected_version=1,
            title="Mine",
            content_areas=[],
        )

    assert "Sun Colleague" in str(refused.value)
    assert refused.value.field == "version"
    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.title, saved.version) == ("Theirs", 2)
    assert list(saved.content_areas.all()) == [world.area]
    assert len(entries(activity, "activities.activity.changed")) == 1


# --- what a submission needs --------------------------------------------------------------------

INCOMPLETE = {
    "no_fee_declared": {"no_fee_declared": False},
    "summary": {"summary": "  "},
    "content_areas": {},
    "contact_name": {"contact_name": ""},
}


@pytest.mark.parametrize("missing", list(INCOMPLETE))
def test_an_incomplete_activity_cannot_be_submitted(world, missing):
    activity = world.activity(S.DRAFT, **INCOMPLETE[missing])
    if missing == "content_areas":
        activity.content_areas.clear()

    with pytest.raises(ValidationError) as refused:
        services.activity_submit(activity, actor=world.organiser_staff)

    assert list(refused.value.message_dict) == [missing]
    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.status, saved.version, saved.submitted_at) == (S.DRAFT, 1, None)
    assert entries(activity) == []


def test_every_missing_part_is_reported_at_once(world):
    activity = world.activity(
        S.DRAFT, no_fee_declared=False, summary="", contact_name="", contact_phone=""
    )
    activity.content_areas.clear()

    with pytest.raises(ValidationError) as refused:
        services.activity_submit(activity, actor=world.organiser_staff)

    # Compared through the catalogue: the English one still mistranslates two of these
    # (see test_workflow.py::test_the_workflow_reads_in_english_as_written).
    assert refused.value.message_dict == {
        "no_fee_declared": [
            gettext("Declare that enterprises are charged no fee before submitting.")
        ],
        "summary": [gettext("Write a short summary for enterprises and the public.")],
        "content_areas": [gettext("Choose at least one content area.")],
        "contact_name": [gettext("Give a public contact with a telephone number or an email.")],
    }


def test_a_contact_needs_a_phone_or_an_email(world):
    no_way = world.activity(S.DRAFT, contact_phone="", contact_email="")
    by_email = world.activity(S.DRAFT, contact_phone="", contact_email="chen@example.cn")

    with pytest.raises(ValidationError) as refused:
        services.activity_submit(no_way, actor=world.organiser_staff)
    services.activity_submit(by_email, actor=world.organiser_staff)

    assert list(refused.value.message_dict) == ["contact_name"]
    assert Activity.objects.get(pk=by_email.pk).status == S.SUBMITTED


def test_a_returned_activity_is_checked_again_on_resubmission(world):
    activity = world.activity(S.RETURNED, summary="")

    with pytest.raises(ValidationError):
        services.activity_submit(activity, actor=world.organiser_staff)

    assert Activity.objects.get(pk=activity.pk).status == S.RETURNED


def test_strangers_learn_nothing_about_what_is_missing(world):
    activity = world.activity(S.DRAFT, summary="")

    with pytest.raises(NotAllowed):
        services.activity_submit(activity, actor=world.other_department_staff)


def test_the_state_is_refused_before_the_completeness(world):
    activity = world.activity(S.APPROVED)
    Activity.objects.filter(pk=activity.pk).update(summary="")

    with pytest.raises(IllegalTransition):
        services.activity_submit(activity, actor=world.organiser_staff)


def test_completeness_is_judged_on_the_saved_activity(world):
    """A copy loaded before a colleague cleared the summary must not let it through."""
    activity = world.activity(S.DRAFT)
    stale = Activity.objects.get(pk=activity.pk)
    services.activity_update(activity, actor=world.organiser_staff, summary="")

    with pytest.raises(ValidationError) as refused:
        services.activity_submit(stale, actor=world.organiser_staff)

    assert list(refused.value.message_dict) == ["summary"]
    assert Activity.objects.get(pk=activity.pk).status == S.DRAFT


def test_missing_for_submission_lists_nothing_for_a_complete_activity(world):
    assert services.activity_missing_for_submission(world.activity(S.DRAFT)) == {}
