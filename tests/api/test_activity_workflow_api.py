"""Registering and reviewing activities through /api/v1/: create, edit, the review actions, the
review queue, the history, per role; conflicts and error shapes; query counts."""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import token_create
from activities.enums import ActivityStatus
from activities.models import Activity
from qualitymonth.api import exception_handler
from qualitymonth.errors import DomainError, EditConflict, IllegalTransition, NotAllowed
from qualitymonth.models import AuditLogEntry, ReviewDecision
from tests import factories

from .world import fresh, ids, make_campaign, representative_of, reviewer_for, staff_of

pytestmark = pytest.mark.django_db

ROLES = 3  # roles_of(): department membership, reviewer assignment, enterprise representation
PAGE = 2  # count + rows


def as_user(user, language: str = "en") -> APIClient:
    """A client acting as `user` (None: anonymous), asking for answers in `language`."""
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_authenticate(fresh(user))
    return client


def url(activity, action: str = "") -> str:
    return f"/api/v1/activities/{activity.pk}/" + (f"{action}/" if action else "")


def reload(activity) -> Activity:
    return Activity.objects.get(pk=activity.pk)


def complete(world, organiser=None, **kwargs) -> Activity:
    """An activity with everything a submission needs (a draft unless a status is given)."""
    kwargs.setdefault("status", ActivityStatus.DRAFT)
    kwargs.setdefault("region", world.tianhe)
    activity = world.activity(organiser or world.gz_amr, **kwargs)
    activity.content_areas.set(world.campaign.content_areas.filter(number__in=[2, 5]))
    return activity


def payload(**overrides) -> dict:
    data = {
        "key_arrangement": 8,
        "content_areas": [5, 2],
        "title": "质量开放日暨净水器免费检测",
        "summary": "社区居民可免费检测家用净水器",
        "region": "440106",
        "venue": "天河区市民广场",
        "starts_at": "2024-09-14T09:00:00+08:00",
        "ends_at": "2024-09-14T12:00:00+08:00",
        "contact_name": "王老师",
        "contact_phone": "020-12345678",
        "no_fee_declared": True,
    }
    data.update(overrides)
    return data


# --- create -----------------------------------------------------------------------------------


def test_staff_register_a_draft_of_their_department_in_the_current_campaign(world):
    make_campaign(2023)  # an older campaign is not the current one
    staff = staff_of(world.gz_amr)

    response = as_user(staff).post("/api/v1/activities/", payload(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["status_display"] == "Draft"
    assert body["version"] == 1
    assert body["campaign"] == 2024
    assert body["organiser"]["id"] == world.gz_amr.pk
    assert body["key_arrangement"]["title"] == "Quality benefiting the people"
    assert [area["number"] for area in body["content_areas"]] == [2, 5]
    assert body["region"]["code"] == "440106"
    assert body["allowed_actions"] == ["update", "submit"]
    activity = Activity.objects.get(pk=body["id"])
    assert activity.created_by == staff
    assert AuditLogEntry.objects.for_object(activity).get().action == (
        "activities.activity.created"
    )


def test_staff_may_name_another_campaign_year_and_co_organisers(world):
    make_campaign(2023)

    response = as_user(staff_of(world.gz_amr)).post(
        "/api/v1/activities/",
        payload(
            campaign=2023,
            starts_at="2023-09-14T09:00:00+08:00",
            ends_at="2023-09-14T12:00:00+08:00",
            co_organisers=[world.gd_amr.pk, world.gz_amr.pk],
        ),
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["campaign"] == 2023
    # The organiser is not its own co-organiser.
    assert [d["id"] for d in response.json()["co_organisers"]] == [world.gd_amr.pk]


def test_staff_cannot_register_an_activity_for_another_department(world):
    response = as_user(staff_of(world.gz_amr)).post(
        "/api/v1/activities/", payload(organiser=world.zj_amr.pk), format="json"
    )

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You may only create activities of your own department.",
        "code": "permission_denied",
    }
    assert not Activity.objects.exists()


def test_administrators_name_the_organiser(world):
    admin = factories.AdminFactory()

    named = as_user(admin).post(
        "/api/v1/activities/", payload(organiser=world.zj_amr.pk), format="json"
    )
    unnamed = as_user(admin).post("/api/v1/activities/", payload(), format="json")

    assert named.status_code == 201
    assert named.json()["organiser"]["id"] == world.zj_amr.pk
    assert unnamed.status_code == 400
    assert unnamed.json() == {"organiser": ["Name the organising department."]}


@pytest.mark.parametrize("role", ["reviewer", "enterprise", "no role"])
def test_people_without_a_department_cannot_register_activities(world, role):
    person = {
        "reviewer": lambda: reviewer_for(None),
        "enterprise": lambda: representative_of(factories.EnterpriseFactory()),
        "no role": factories.UserFactory,
    }[role]()

    response = as_user(person).post("/api/v1/activities/", payload(), format="json")

    assert response.status_code == 403
    assert "department staff" in response.json()["detail"]
    assert not Activity.objects.exists()


def test_anonymous_cannot_register_activities(world):
    response = as_user(None).post("/api/v1/activities/", payload(), format="json")

    assert response.status_code == 401
    assert not Activity.objects.exists()


def test_a_personal_token_works_for_writing(world):
    staff = staff_of(world.gz_amr)
    _token, key = token_create(user=staff, name="计划表同步")
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE="en")

    response = client.post("/api/v1/activities/", payload(), format="json")

    assert response.status_code == 201
    assert response.json()["organiser"]["id"] == world.gz_amr.pk


# --- validation errors ---------------------------------------------------------------------------


def test_invalid_input_answers_messages_per_field(world):
    response = as_user(staff_of(world.gz_amr)).post(
        "/api/v1/activities/",
        payload(
            title="",
            region="999999",
            key_arrangement=12,
            starts_at="not a time",
            online_url="not a link",
        ),
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"title", "region", "starts_at", "online_url"}
    assert all(isinstance(messages, list) for messages in body.values())
    assert body["title"] == ["This field may not be blank."]


def test_unknown_headings_are_named_in_the_message(world):
    client = as_user(staff_of(world.gz_amr))

    arrangement = client.post("/api/v1/activities/", payload(key_arrangement=12), format="json")
    areas = client.post("/api/v1/activities/", payload(content_areas=[2, 7, 9]), format="json")
    year = client.post("/api/v1/activities/", payload(campaign=1999), format="json")

    assert arrangement.json() == {
        "key_arrangement": ["The 2024 campaign has no key arrangement 12."]
    }
    assert areas.json() == {"content_areas": ["The 2024 campaign has no content area 7, 9."]}
    assert year.json() == {"campaign": ["There is no campaign for 1999."]}


def test_rules_of_the_service_come_back_next_to_their_field(world):
    response = as_user(staff_of(world.gz_amr)).post(
        "/api/v1/activities/",
        payload(venue="", online_url="", ends_at="2024-09-14T08:00:00+08:00"),
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "ends_at": ["An activity must end after it starts."],
        "venue": ["Give a venue, an online link, or both."],
    }
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Give a venue, an online link, or both."),
        ("zh-hans", "请填写地点或线上链接，也可两者都填。"),
    ],
)
def test_messages_follow_the_requests_language(world, language, message):
    client = as_user(staff_of(world.gz_amr), language=language)

    response = client.post("/api/v1/activities/", payload(venue="", online_url=""), format="json")

    assert response.json() == {"venue": [message]}


def test_django_validation_errors_take_drfs_shape():
    def handled(error):
        response = exception_handler(error, {})
        return response.status_code, response.data

    assert handled(ValidationError("Something is off.")) == (
        400,
        {"non_field_errors": ["Something is off."]},
    )
    assert handled(
        ValidationError({"__all__": ["Both are wrong."], "venue": ["Give a venue."]})
    ) == (400, {"non_field_errors": ["Both are wrong."], "venue": ["Give a venue."]})


def test_domain_errors_map_to_400_409_and_403():
    def handled(error):
        response = exception_handler(error, {})
        return response.status_code, response.data

    assert handled(DomainError("No.", field="year")) == (
        400,
        {"detail": "No.", "code": "invalid", "field": "year", "year": ["No."]},
    )
    assert handled(EditConflict("Changed meanwhile.", field="version"))[0] == 409
    assert handled(IllegalTransition("Already approved.")) == (
        409,
        {"detail": "Already approved.", "code": "illegal_transition"},
    )
    assert handled(NotAllowed("Not yours.")) == (
        403,
        {"detail": "Not yours.", "code": "permission_denied"},
    )


# --- edit ----------------------------------------------------------------------------------------


def test_organiser_edits_a_draft_with_the_version_they_read(world):
    activity = complete(world)

    response = as_user(staff_of(world.gz_amr)).patch(
        url(activity),
        {"version": 1, "title": "质量开放日（改期）", "content_areas": [1]},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "质量开放日（改期）"
    assert body["version"] == 2
    assert [area["number"] for area in body["content_areas"]] == [1]
    entry = AuditLogEntry.objects.for_object(activity).get(action="activities.activity.changed")
    assert entry.changes["title"][1] == "质量开放日（改期）"


def test_put_replaces_the_details(world):
    activity = complete(world)

    response = as_user(staff_of(world.gz_amr)).put(
        url(activity), payload(version=1, online_url="https://meeting.example.cn/1"), format="json"
    )

    assert response.status_code == 200
    current = reload(activity)
    assert current.title == "质量开放日暨净水器免费检测"
    assert current.key_arrangement.number == 8
    assert current.online_url == "https://meeting.example.cn/1"
    assert current.version == 2


def test_an_edit_with_a_stale_version_is_refused_with_409_and_saves_nothing(world):
    activity = complete(world)
    client = as_user(staff_of(world.gz_amr))
    first = client.patch(url(activity), {"version": 1, "title": "第一次修改"}, format="json")

    second = client.patch(url(activity), {"version": 1, "title": "第二次修改"}, format="json")

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["code"] == "conflict"
    assert "Reload" in second.json()["detail"]
    assert reload(activity).title == "第一次修改"


def test_an_edit_needs_the_version(world):
    activity = complete(world)

    response = as_user(staff_of(world.gz_amr)).patch(
        url(activity), {"title": "新标题"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"version": ["This field is required."]}


def test_an_approved_activity_cannot_be_edited(world):
    activity = complete(world, status=ActivityStatus.APPROVED)

    response = as_user(staff_of(world.gz_amr)).patch(
        url(activity), {"version": 1, "title": "新标题"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"
    assert "Approved (published)" in response.json()["detail"]


# --- every operation, per role ---------------------------------------------------------------

# operation: (starting state, HTTP method, input)
OPERATIONS = {
    "update": (ActivityStatus.DRAFT, "patch", {"version": 1, "title": "改过的标题"}),
    "submit": (ActivityStatus.DRAFT, "post", {"version": 1}),
    "withdraw": (ActivityStatus.SUBMITTED, "post", {}),
    "approve": (ActivityStatus.SUBMITTED, "post", {"comment": "同意发布"}),
    "return": (ActivityStatus.SUBMITTED, "post", {"comment": "请补充活动流程"}),
    "reject": (ActivityStatus.SUBMITTED, "post", {"reason": "与质量月主题无关"}),
    "cancel": (ActivityStatus.APPROVED, "post", {"reason": "因台风取消"}),
}
AFTER = {
    "update": ActivityStatus.DRAFT,
    "submit": ActivityStatus.SUBMITTED,
    "withdraw": ActivityStatus.DRAFT,
    "approve": ActivityStatus.APPROVED,
    "return": ActivityStatus.RETURNED,
    "reject": ActivityStatus.REJECTED,
    "cancel": ActivityStatus.CANCELLED,
}
ORGANISER = {"update", "submit", "withdraw", "cancel"}
REVIEWER = {"approve", "return", "reject"}


def _expected(role: str, operation: str) -> int:
    published = OPERATIONS[operation][0] == ActivityStatus.APPROVED
    if role == "anonymous":
        return 401
    if role == "administrator":
        return 200
    if role == "organiser staff":
        return 200 if operation in ORGANISER else 403
    if role in ("reviewer of the region", "national reviewer"):
        return 200 if operation in REVIEWER else 403
    if role == "co-organiser staff":
        return 403  # sees it, may not touch it
    # Other departments, reviewers of other regions, enterprises: unpublished means unseen.
    return 403 if published else 404


PEOPLE = {
    "anonymous": lambda w: None,
    "organiser staff": lambda w: staff_of(w.gz_amr),
    "co-organiser staff": lambda w: staff_of(w.gd_amr),
    "another department's staff": lambda w: staff_of(w.zj_amr),
    "reviewer of the region": lambda w: reviewer_for(w.guangdong),
    "reviewer of another region": lambda w: reviewer_for(w.zhejiang),
    "national reviewer": lambda w: reviewer_for(None),
    "administrator": lambda w: factories.AdminFactory(),
    "enterprise": lambda w: representative_of(factories.EnterpriseFactory(region=w.guangzhou)),
}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("role", PEOPLE)
def test_each_operation_is_allowed_or_refused_per_role(world, role, operation):
    state, method, data = OPERATIONS[operation]
    activity = complete(world, status=state)
    activity.co_organisers.add(world.gd_amr)
    client = as_user(PEOPLE[role](world))
    target = url(activity) if operation == "update" else url(activity, operation)

    response = getattr(client, method)(target, data, format="json")

    expected = _expected(role, operation)
    assert response.status_code == expected, response.json()
    current = reload(activity)
    if expected == 200:
        assert response.json()["status"] == AFTER[operation] == current.status
        assert response.json()["version"] == 2 == current.version
    else:
        assert (current.status, current.version) == (state, 1)  # nothing happened


@pytest.mark.parametrize("role", PEOPLE)
def test_allowed_actions_tell_each_role_what_it_may_do(world, role):
    submitted = complete(world, status=ActivityStatus.SUBMITTED)
    submitted.co_organisers.add(world.gd_amr)

    response = as_user(PEOPLE[role](world)).get(url(submitted))

    expected = {
        "organiser staff": ["withdraw"],
        "co-organiser staff": [],
        "reviewer of the region": ["approve", "return", "reject"],
        "national reviewer": ["approve", "return", "reject"],
        "administrator": ["withdraw", "approve", "return", "reject"],
    }
    if role in expected:
        assert response.json()["allowed_actions"] == expected[role]
    else:
        assert response.status_code == 404


def test_another_department_cannot_see_or_touch_a_draft_by_guessing_its_id(world):
    draft = complete(world)
    client = as_user(staff_of(world.zj_amr))

    answers = [
        client.get(url(draft)).status_code,
        client.get(url(draft, "history")).status_code,
        client.patch(url(draft), {"version": 1, "title": "x"}, format="json").status_code,
        client.put(url(draft), payload(version=1), format="json").status_code,
        *(client.post(url(draft, name), {}).status_code for name in OPERATIONS if name != "update"),
    ]

    assert answers == [404] * len(answers)
    assert reload(draft).title != "x"


def test_anonymous_cannot_change_a_published_activity(world):
    published = complete(world, status=ActivityStatus.APPROVED)

    assert as_user(None).patch(url(published), {"version": 1}, format="json").status_code == 401
    assert as_user(None).post(url(published, "cancel"), {"reason": "x"}).status_code == 401


# --- the workflow -----------------------------------------------------------------------------


def test_an_activity_goes_from_draft_through_a_return_to_approved(world):
    staff = as_user(staff_of(world.gz_amr))
    reviewer = as_user(reviewer_for(world.guangdong))
    created = staff.post("/api/v1/activities/", payload(), format="json").json()
    activity = Activity.objects.get(pk=created["id"])

    submitted = staff.post(url(activity, "submit"), {"version": 1}, format="json").json()
    assert (submitted["status"], submitted["version"]) == ("submitted", 2)
    assert submitted["submitted_at"] is not None
    assert submitted["allowed_actions"] == ["withdraw"]

    returned = reviewer.post(
        url(activity, "return"),
        {
            "version": 2,
            "comment": "请补充活动流程",
            "field_comments": {"venue": "请写明具体地址"},
        },
        format="json",
    )
    assert returned.status_code == 200
    assert (returned.json()["status"], returned.json()["version"]) == ("returned", 3)
    assert returned.json()["allowed_actions"] == []

    edited = staff.patch(
        url(activity), {"version": 3, "venue": "天河区体育西路市民广场东侧"}, format="json"
    )
    assert edited.json()["allowed_actions"] == ["update", "submit"]
    resubmitted = staff.post(url(activity, "submit"), {"version": 4}, format="json")
    assert resubmitted.json()["status"] == "submitted"

    approved = reviewer.post(url(activity, "approve"), {"version": 5}, format="json")
    assert (approved.json()["status"], approved.json()["version"]) == ("approved", 6)
    assert as_user(None).get(url(activity)).status_code == 200  # published


def test_submitting_an_incomplete_draft_lists_what_is_missing(world):
    draft = world.draft(world.gz_amr, no_fee_declared=False, summary="", contact_name="")

    response = as_user(staff_of(world.gz_amr)).post(url(draft, "submit"))

    assert response.status_code == 400
    assert set(response.json()) == {"no_fee_declared", "summary", "content_areas", "contact_name"}
    [message] = response.json()["no_fee_declared"]
    assert "no fee" in message
    assert reload(draft).status == ActivityStatus.DRAFT


def test_a_submission_can_be_withdrawn_only_before_it_is_reviewed(world):
    activity = complete(world, status=ActivityStatus.SUBMITTED)
    staff = as_user(staff_of(world.gz_amr))
    as_user(reviewer_for(None)).post(url(activity, "approve"))

    response = staff.post(url(activity, "withdraw"))

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"
    assert reload(activity).status == ActivityStatus.APPROVED


def test_returning_needs_a_comment_overall_or_per_field(world):
    activity = complete(world, status=ActivityStatus.SUBMITTED)
    reviewer = as_user(reviewer_for(world.guangdong))

    empty = reviewer.post(url(activity, "return"), {"comment": "  "}, format="json")
    unknown = reviewer.post(
        url(activity, "return"), {"field_comments": {"fee": "为何收费？"}}, format="json"
    )
    per_field = reviewer.post(
        url(activity, "return"), {"field_comments": {"summary": "请写得具体些"}}, format="json"
    )

    assert empty.status_code == 400
    assert empty.json()["code"] == "comment_required"
    assert empty.json()["comment"] == ["Please give a comment."]
    assert unknown.status_code == 400
    assert "field_comments" in unknown.json()
    assert per_field.status_code == 200
    assert per_field.json()["status"] == "returned"


@pytest.mark.parametrize(
    ("operation", "state", "who"),
    [
        ("reject", ActivityStatus.SUBMITTED, "reviewer"),
        ("cancel", ActivityStatus.APPROVED, "staff"),
    ],
)
def test_rejecting_and_cancelling_need_a_reason(world, operation, state, who):
    activity = complete(world, status=state)
    person = reviewer_for(world.guangdong) if who == "reviewer" else staff_of(world.gz_amr)

    response = as_user(person).post(url(activity, operation), {"reason": ""}, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == "reason"
    assert response.json()["reason"] == ["Please give a reason."]
    assert reload(activity).status == state


def test_a_cancelled_activity_keeps_its_reason(world):
    activity = complete(world, status=ActivityStatus.APPROVED)

    response = as_user(staff_of(world.gz_amr)).post(
        url(activity, "cancel"), {"reason": "因台风“摩羯”过境取消"}, format="json"
    )

    assert response.json()["status"] == "cancelled"
    assert response.json()["cancellation_reason"] == "因台风“摩羯”过境取消"


def test_the_second_of_two_reviewers_gets_409_naming_the_first(world):
    activity = complete(world, status=ActivityStatus.SUBMITTED)
    first = factories.ReviewerAssignmentFactory(
        region=world.guangdong, user=factories.UserFactory(full_name="李审核")
    ).user
    second = reviewer_for(None)
    read = as_user(second).get(url(activity)).json()  # both read version 1

    as_user(first).post(url(activity, "approve"), {"version": read["version"]}, format="json")
    stale = as_user(second).post(
        url(activity, "reject"), {"version": read["version"], "reason": "重复"}, format="json"
    )
    late = as_user(second).post(url(activity, "reject"), {"reason": "重复"}, format="json")

    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"
    assert "already handled by 李审核" in stale.json()["detail"]
    assert late.status_code == 409
    assert late.json()["code"] == "illegal_transition"
    assert "李审核" in late.json()["detail"]
    assert reload(activity).status == ActivityStatus.APPROVED
    assert ReviewDecision.objects.count() == 1


def test_an_action_with_a_stale_version_does_nothing(world):
    activity = complete(world)
    staff = as_user(staff_of(world.gz_amr))
    staff.patch(url(activity), {"version": 1, "title": "改过"}, format="json")

    response = staff.post(url(activity, "submit"), {"version": 1}, format="json")

    assert response.status_code == 409
    assert reload(activity).status == ActivityStatus.DRAFT


# --- history ------------------------------------------------------------------------------------


def test_history_shows_every_step_the_decisions_and_what_changed_since(world):
    staff = as_user(staff_of(world.gz_amr))
    reviewer_user = factories.ReviewerAssignmentFactory(
        region=world.guangdong, user=factories.UserFactory(full_name="李审核")
    ).user
    reviewer = as_user(reviewer_user)
    activity_id = staff.post("/api/v1/activities/", payload(), format="json").json()["id"]
    activity = Activity.objects.get(pk=activity_id)
    staff.post(url(activity, "submit"))
    reviewer.post(
        url(activity, "return"),
        {"comment": "请补充", "field_comments": {"venue": "请写明具体地址"}},
        format="json",
    )
    staff.patch(url(activity), {"version": 3, "venue": "天河区体育西路"}, format="json")
    staff.post(url(activity, "submit"))

    response = reviewer.get(url(activity, "history"))

    assert response.status_code == 200
    body = response.json()
    assert [entry["action"] for entry in body["entries"]] == [
        "activities.activity.submitted",
        "activities.activity.changed",
        "activities.activity.returned",
        "activities.activity.submitted",
        "activities.activity.created",
    ]
    returned = body["entries"][2]
    assert returned["actor"] == "李审核"
    assert returned["comment"] == "请补充"
    assert returned["changes"]["status"] == ["submitted", "returned"]
    assert body["entries"][1]["changes"]["venue"] == ["天河区市民广场", "天河区体育西路"]
    [decision] = body["decisions"]
    assert decision["decision"] == "returned"
    assert decision["decision_display"] == "Returned for revision"
    assert decision["reviewer"] == "李审核"
    assert decision["field_comments"] == [
        {"field": "venue", "label": "venue", "comment": "请写明具体地址"}
    ]
    assert body["changes_since_last_review"] == [
        {"field": "venue", "label": "venue", "before": "天河区市民广场", "after": "天河区体育西路"}
    ]
    assert "ip_address" not in returned


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("organiser staff", 200),
        ("co-organiser staff", 200),
        ("another department's staff", 403),
        ("reviewer of the region", 200),
        ("reviewer of another region", 403),
        ("national reviewer", 200),
        ("administrator", 200),
        ("enterprise", 403),
    ],
)
def test_the_history_of_a_published_activity_is_for_those_involved(world, role, expected):
    published = complete(world, status=ActivityStatus.APPROVED)
    published.co_organisers.add(world.gd_amr)

    response = as_user(PEOPLE[role](world)).get(url(published, "history"))

    assert response.status_code == expected


# --- mine ---------------------------------------------------------------------------------------


def test_mine_lists_what_the_department_organises_and_co_organises(world):
    own_draft = complete(world)
    co_organised = complete(world, organiser=world.gd_amr, status=ActivityStatus.SUBMITTED)
    co_organised.co_organisers.add(world.gz_amr)
    others_published = complete(world, organiser=world.zj_amr, status=ActivityStatus.APPROVED)
    client = as_user(staff_of(world.gz_amr))

    mine = client.get("/api/v1/activities/", {"mine": "true"})
    everything = client.get("/api/v1/activities/")

    assert set(ids(mine)) == {own_draft.pk, co_organised.pk}
    assert set(ids(everything)) == {own_draft.pk, co_organised.pk, others_published.pk}
    assert ids(client.get("/api/v1/activities/", {"mine": "true", "status": "draft"})) == [
        own_draft.pk
    ]


@pytest.mark.parametrize("person", ["anonymous", "reviewer"])
def test_mine_is_empty_for_people_of_no_department(world, person):
    complete(world, status=ActivityStatus.APPROVED)
    user = reviewer_for(None) if person == "reviewer" else None

    response = as_user(user).get("/api/v1/activities/", {"mine": "true"})

    assert response.status_code == 200
    assert ids(response) == []


# --- review queue -------------------------------------------------------------------------------


def _submitted(world, organiser, days_ago: int, **kwargs) -> Activity:
    return complete(
        world,
        organiser=organiser,
        status=ActivityStatus.SUBMITTED,
        submitted_at=timezone.now() - dt.timedelta(days=days_ago),
        **kwargs,
    )


def test_the_review_queue_lists_submissions_in_scope_oldest_first(world):
    newer = _submitted(world, world.gz_amr, 1)
    older = _submitted(world, world.gd_amr, 5, region=world.guangdong)
    in_zhejiang = _submitted(world, world.zj_amr, 9, region=world.zhejiang)
    complete(world)  # a draft
    complete(world, status=ActivityStatus.APPROVED)

    national = as_user(reviewer_for(None)).get("/api/v1/review-queue/")
    provincial = as_user(reviewer_for(world.guangdong)).get("/api/v1/review-queue/")

    assert ids(national) == [in_zhejiang.pk, older.pk, newer.pk]
    assert ids(provincial) == [older.pk, newer.pk]
    assert national.json()["results"][0]["allowed_actions"] == ["approve", "return", "reject"]


def test_the_review_queue_filters_by_arrangement_department_region_and_age(world):
    forum = _submitted(world, world.gz_amr, 1, key_arrangement=world.arrangement(1))
    fair = _submitted(world, world.gz_amr, 10, key_arrangement=world.arrangement(8))
    provincial = _submitted(world, world.gd_amr, 3, region=world.guangdong)
    client = as_user(reviewer_for(None))

    def queue(**params):
        return ids(client.get("/api/v1/review-queue/", params))

    assert queue(campaign=2024, key_arrangement=8) == [fair.pk]
    assert queue(organiser=world.gd_amr.pk) == [provincial.pk]
    assert queue(region="440100") == [fair.pk, forum.pk]
    assert queue(waiting_days=2) == [fair.pk, provincial.pk]


def test_the_review_queue_marks_revised_submissions(world):
    activity = complete(world, status=ActivityStatus.SUBMITTED)
    reviewer = as_user(reviewer_for(None))
    reviewer.post(url(activity, "return"), {"comment": "请补充"}, format="json")
    as_user(staff_of(world.gz_amr)).post(url(activity, "submit"))
    first_time = _submitted(world, world.gd_amr, 0, region=world.guangdong)

    rows = reviewer.get("/api/v1/review-queue/").json()["results"]

    assert {row["id"]: row["reviewed_before"] for row in rows} == {
        activity.pk: True,
        first_time.pk: False,
    }


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("organiser staff", 403), ("enterprise", 403), ("administrator", 200)],
)
def test_only_reviewers_and_administrators_have_a_review_queue(world, role, expected):
    _submitted(world, world.gz_amr, 1)

    response = as_user(PEOPLE[role](world)).get("/api/v1/review-queue/")

    assert response.status_code == expected


# --- query counts -------------------------------------------------------------------------------


def _many(world, n: int, **kwargs) -> list[Activity]:
    made = []
    for _ in range(n):
        activity = complete(world, **kwargs)
        activity.co_organisers.set([world.gd_amr, world.samr])
        made.append(activity)
    return made


@pytest.mark.parametrize("n", [1, 3])
def test_query_count_of_mine(world, n, django_assert_num_queries):
    _many(world, n)
    client = as_user(staff_of(world.gz_amr))

    with django_assert_num_queries(ROLES + PAGE + 2):  # + content areas, co-organisers
        response = client.get("/api/v1/activities/", {"mine": "true"})

    assert len(ids(response)) == n


@pytest.mark.parametrize("n", [1, 3])
def test_query_count_of_the_review_queue(world, n, django_assert_num_queries):
    _many(world, n, status=ActivityStatus.SUBMITTED, submitted_at=timezone.now())
    client = as_user(reviewer_for(world.guangdong))
    ContentType.objects.get_for_model(Activity)  # cached for the process, as in production

    with django_assert_num_queries(ROLES + PAGE + 2):  # + content areas, co-organisers
        response = client.get("/api/v1/review-queue/")

    assert len(ids(response)) == n


# --- the browsable API ----------------------------------------------------------------------------


def test_the_browsable_api_shows_an_activity_with_its_edit_form(world):
    activity = complete(world)
    client = as_user(staff_of(world.gz_amr))

    page = client.get(url(activity), HTTP_ACCEPT="text/html")
    action = client.get(url(activity, "return"), HTTP_ACCEPT="text/html")

    assert page.status_code == 200
    assert "质量提升培训班" in page.content.decode()
    assert action.status_code == 405  # actions are POST only; the page still renders


# --- schema -------------------------------------------------------------------------------------


def test_the_schema_documents_every_activity_operation_and_its_refusals(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]

    create = paths["/api/v1/activities/"]["post"]
    assert "requestBody" in create
    assert {"201", "400", "401", "403"} == set(create["responses"])
    writes = {
        ("put", "/api/v1/activities/{id}/"),
        ("patch", "/api/v1/activities/{id}/"),
        *(
            ("post", f"/api/v1/activities/{{id}}/{name}/")
            for name in ("submit", "withdraw", "approve", "return", "reject", "cancel")
        ),
    }
    for method, path in writes:
        operation = paths[path][method]
        assert operation["tags"] == ["activities"]
        assert "requestBody" in operation, (method, path)
        assert {"400", "403", "404", "409"} <= set(operation["responses"]), (method, path)
    assert "get" in paths["/api/v1/activities/{id}/history/"]
    assert "get" in paths["/api/v1/review-queue/"]
    assert "delete" not in paths["/api/v1/activities/{id}/"]
    parameters = {p["name"] for p in paths["/api/v1/activities/"]["get"]["parameters"]}
    assert "mine" in parameters
    queue_parameters = {p["name"] for p in paths["/api/v1/review-queue/"]["get"]["parameters"]}
    assert {"key_arrangement", "organiser", "region", "waiting_days"} <= queue_parameters
