"""The activity review workflow at the service level: every transition from every state by every
role, the comments each needs, the audit log, the emails and whom they reach, bulk approval, and
two reviewers acting on the same activity at once."""

import datetime as dt
import threading
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from activities import services
from activities.enums import ActivityStatus, DepartmentLevel, RegionLevel
from activities.models import Activity, Campaign, ContentArea, Department, KeyArrangement, Region
from qualitymonth.errors import DomainError, EditConflict, IllegalTransition, NotAllowed
from qualitymonth.models import AuditLogEntry, ReviewDecision, ReviewDecisionKind
from tests import factories

S = ActivityStatus


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; emails still follow each recipient's language."""
    with translation.override("en"):
        yield


# --- a small world: one organiser in Guangzhou, its partners, reviewers near and far ----------


@dataclass
class World:
    campaign: Campaign
    arrangement: KeyArrangement
    area: ContentArea
    guangdong: Region
    guangzhou: Region
    jiangsu: Region
    organiser: Department
    co_organiser: Department
    other_department: Department
    people: dict = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.__dict__["people"][name]
        except KeyError:
            raise AttributeError(name) from None

    def activity(self, status=S.DRAFT, **fields) -> Activity:
        """A complete activity of the organiser in Guangzhou, co-organised, in `status`."""
        if status != S.DRAFT and "submitted_at" not in fields:
            fields["submitted_at"] = timezone.now() - dt.timedelta(days=2)
        fields.setdefault("region", self.guangzhou)
        activity = factories.ActivityFactory(
            campaign=self.campaign,
            key_arrangement=self.arrangement,
            organiser=self.organiser,
            status=status,
            **fields,
        )
        activity.content_areas.add(self.area)
        activity.co_organisers.add(self.co_organiser)
        return activity


def staff(department, **fields):
    return factories.DepartmentMembershipFactory(
        department=department, user=factories.UserFactory(**fields)
    ).user


def reviewer(region=None, **fields):
    return factories.ReviewerAssignmentFactory(
        region=region, user=factories.UserFactory(**fields)
    ).user


def build_world() -> World:
    campaign = factories.CampaignFactory(year=2024)
    guangdong = factories.ProvinceFactory(code="440000", name_zh="广东省", name_en="Guangdong")
    guangzhou = factories.CityFactory(
        code="440100", name_zh="广州市", name_en="Guangzhou", parent=guangdong
    )
    jiangsu = factories.ProvinceFactory(code="320000", name_zh="江苏省", name_en="Jiangsu")
    organiser = factories.DepartmentFactory(
        name_zh="广州市市场监督管理局",
        name_en="Guangzhou Administration for Market Regulation",
        level=DepartmentLevel.CITY,
        region=guangzhou,
    )
    co_organiser = factories.NationalDepartmentFactory(
        name_zh="中华全国总工会", name_en="All-China Federation of Trade Unions"
    )
    other = factories.DepartmentFactory(name_zh="江苏省市场监督管理局", region=jiangsu)
    world = World(
        campaign=campaign,
        arrangement=factories.KeyArrangementFactory(
            campaign=campaign, number=2, title_zh="质量强企系列活动", title_en="Quality enterprises"
        ),
        area=factories.ContentAreaFactory(
            campaign=campaign,
            number=2,
            title_zh="发挥质量对企业做强做优做大的作用",
            title_en="Quality makes enterprises stronger",
        ),
        guangdong=guangdong,
        guangzhou=guangzhou,
        jiangsu=jiangsu,
        organiser=organiser,
        co_organiser=co_organiser,
        other_department=other,
    )
    world.people = {
        "organiser_staff": staff(organiser, full_name="Chen Organiser", preferred_language="en"),
        "co_organiser_staff": staff(co_organiser, full_name="Liu Partner"),
        "other_department_staff": staff(other, full_name="Zhou Elsewhere"),
        "reviewer_in_region": reviewer(guangdong, full_name="Huang Guangdong"),
        "reviewer_out_of_region": reviewer(jiangsu, full_name="Wu Jiangsu"),
        "national_reviewer": reviewer(None, full_name="Zhang National"),
        "admin": factories.AdminFactory(full_name="Admin Li"),
        "enterprise_representative": factories.EnterpriseRepresentativeFactory(
            user=factories.UserFactory(full_name="Zhao Enterprise")
        ).user,
        "no_roles": factories.UserFactory(full_name="Qian Nobody"),
        "anonymous": AnonymousUser(),
    }
    return world


@pytest.fixture
def world(db) -> World:
    return build_world()


COMMENTS = {
    "submit": "",
    "withdraw": "",
    "approve": "",
    "return": "Please name the hall of the venue.",
    "reject": "This is a trade fair, not a Quality Month activity.",
    "cancel": "The venue is closed for repairs.",
}


def act(name: str, activity: Activity, actor, **kwargs) -> Activity:
    """Perform transition `name` through its service, with the comment it needs."""
    comment = kwargs.pop("comment", COMMENTS[name])
    if name == "submit":
        return services.activity_submit(activity, actor=actor, **kwargs)
    if name == "withdraw":
        return services.activity_withdraw(activity, actor=actor, **kwargs)
    if name == "approve":
        return services.activity_approve(activity, actor=actor, comment=comment, **kwargs)
    if name == "return":
        return services.activity_return(activity, actor=actor, comment=comment, **kwargs)
    if name == "reject":
        return services.activity_reject(activity, actor=actor, reason=comment, **kwargs)
    if name == "cancel":
        return services.activity_cancel(activity, actor=actor, reason=comment, **kwargs)
    raise AssertionError(name)


def audit_entries(activity):
    return list(AuditLogEntry.objects.for_object(activity).order_by("id"))


def decisions(activity):
    return list(services.ACTIVITY_WORKFLOW.decisions(activity).order_by("id"))


# --- the transition table ---------------------------------------------------------------------

ORGANISER_SIDE = {"submit", "withdraw", "cancel"}
REVIEWER_SIDE = {"approve", "return", "reject"}
# Who may perform which transitions at all (issue 3, "Review").
MAY = {
    "organiser_staff": ORGANISER_SIDE,
    "co_organiser_staff": set(),
    "other_department_staff": set(),
    "reviewer_in_region": REVIEWER_SIDE,
    "reviewer_out_of_region": set(),
    "national_reviewer": REVIEWER_SIDE,
    "admin": ORGANISER_SIDE | REVIEWER_SIDE,
    "enterprise_representative": set(),
    "no_roles": set(),
    "anonymous": set(),
}
SOURCES = {
    "submit": {S.DRAFT, S.RETURNED},
    "withdraw": {S.SUBMITTED},
    "approve": {S.SUBMITTED},
    "return": {S.SUBMITTED},
    "reject": {S.SUBMITTED},
    "cancel": {S.APPROVED},
}
TARGET = {
    "submit": S.SUBMITTED,
    "withdraw": S.DRAFT,
    "approve": S.APPROVED,
    "return": S.RETURNED,
    "reject": S.REJECTED,
    "cancel": S.CANCELLED,
}
DECISION = {
    "approve": ReviewDecisionKind.APPROVED,
    "return": ReviewDecisionKind.RETURNED,
    "reject": ReviewDecisionKind.REJECTED,
}


def expected_outcome(name, source, role):
    if name not in MAY[role]:
        return "NotAllowed"
    if source not in SOURCES[name]:
        return "IllegalTransition"
    return str(TARGET[name])


def attempt(name, activity, person, capture) -> str:
    """Try the transition; check every side effect of success, and that a refusal changed
    nothing. Returns the new status or the kind of refusal."""
    source, version = activity.status, activity.version
    entries, reviews, emails = (
        len(audit_entries(activity)),
        len(decisions(activity)),
        len(mail.outbox),
    )
    try:
        with capture(execute=True):
            returned = act(name, activity, person)
    except (NotAllowed, IllegalTransition) as refusal:
        saved = Activity.objects.get(pk=activity.pk)
        assert (saved.status, saved.version) == (source, version)
        assert len(audit_entries(activity)) == entries
        assert len(decisions(activity)) == reviews
        assert len(mail.outbox) == emails
        return type(refusal).__name__

    saved = Activity.objects.get(pk=activity.pk)
    target = TARGET[name]
    assert saved.status == target
    assert saved.version == version + 1
    assert (returned.status, returned.version) == (target, version + 1)
    new_entries = audit_entries(activity)[entries:]
    assert [e.action for e in new_entries] == [f"activities.activity.{target}"]
    assert new_entries[0].actor == person
    assert new_entries[0].changes["status"] == [source, target]
    assert new_entries[0].comment == COMMENTS[name]
    new_decisions = decisions(activity)[reviews:]
    if name in DECISION:
        assert [(d.decision, d.reviewer, d.comment) for d in new_decisions] == [
            (DECISION[name], person, COMMENTS[name])
        ]
    else:
        assert new_decisions == []
    if name == "submit":
        assert saved.submitted_at is not None
        assert saved.submitted_at > timezone.now() - dt.timedelta(minutes=1)
    if name == "cancel":
        assert saved.cancellation_reason == COMMENTS["cancel"]
    return str(target)


@pytest.mark.parametrize("source", list(S), ids=[s.value for s in S])
@pytest.mark.parametrize("name", list(TARGET))
def test_transition_table(world, name, source, django_capture_on_commit_callbacks):
    """Allowed moves succeed and land in the right state; every other one is refused with
    NotAllowed (the person) or IllegalTransition (the state) and changes nothing."""
    outcomes = {
        role: attempt(name, world.activity(source), person, django_capture_on_commit_callbacks)
        for role, person in world.people.items()
    }
    assert outcomes == {role: expected_outcome(name, source, role) for role in world.people}


def test_the_table_covers_every_state_and_both_outcomes():
    """A guard on the table itself: each transition is allowed from some state and refused from
    another, and some role may and some may not perform it."""
    for name in TARGET:
        assert SOURCES[name] and set(S) - SOURCES[name]
        assert any(name in moves for moves in MAY.values())
        assert any(name not in moves for moves in MAY.values())


def test_an_activity_goes_from_draft_through_revision_to_approved(world):
    activity = world.activity(S.DRAFT)
    organiser, reviewer_ = world.organiser_staff, world.reviewer_in_region

    services.activity_submit(activity, actor=organiser)
    services.activity_return(activity, actor=reviewer_, comment="Add the hall.")
    services.activity_submit(activity, actor=organiser)
    services.activity_approve(activity, actor=reviewer_)

    activity.refresh_from_db()
    assert activity.status == S.APPROVED
    assert activity.version == 5
    assert [e.action.rsplit(".", 1)[1] for e in audit_entries(activity)] == [
        "submitted",
        "returned",
        "submitted",
        "approved",
    ]
    assert [d.decision for d in decisions(activity)] == ["returned", "approved"]


# --- comments and reasons -----------------------------------------------------------------------


def assert_unchanged(activity, status):
    saved = Activity.objects.get(pk=activity.pk)
    assert saved.status == status
    assert saved.version == activity.version
    assert audit_entries(activity) == []
    assert decisions(activity) == []


@pytest.mark.parametrize(
    "name, source",
    [("return", S.SUBMITTED), ("reject", S.SUBMITTED), ("cancel", S.APPROVED)],
)
@pytest.mark.parametrize("comment", ["", "   \n "])
def test_return_reject_and_cancel_need_a_comment(
    world, name, source, comment, django_capture_on_commit_callbacks
):
    activity = world.activity(source)
    actor = world.organiser_staff if name == "cancel" else world.reviewer_in_region

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError) as refused:
        act(name, activity, actor, comment=comment)

    assert refused.value.code == "comment_required"
    assert refused.value.field == "comment"
    expected = "Please give a comment." if name == "return" else "Please give a reason."
    assert str(refused.value) == expected
    assert_unchanged(activity, source)
    assert mail.outbox == []


def test_a_return_keeps_the_overall_comment(world):
    activity = world.activity(S.SUBMITTED)

    services.activity_return(
        activity, actor=world.national_reviewer, comment="  Say which hall.  ", field_comments={}
    )

    (decision,) = decisions(activity)
    assert (decision.decision, decision.comment, decision.field_comments) == (
        ReviewDecisionKind.RETURNED,
        "Say which hall.",
        {},
    )
    assert audit_entries(activity)[-1].comment == "Say which hall."


def test_comments_on_fields_alone_are_enough_to_return(world, django_capture_on_commit_callbacks):
    activity = world.activity(S.SUBMITTED)

    with django_capture_on_commit_callbacks(execute=True):
        services.activity_return(
            activity,
            actor=world.reviewer_in_region,
            field_comments={"venue": " Which hall? ", "summary": "  ", "capacity": ""},
        )

    activity.refresh_from_db()
    assert activity.status == S.RETURNED
    (decision,) = decisions(activity)
    assert decision.comment == ""
    assert decision.field_comments == {"venue": "Which hall?"}
    entry = audit_entries(activity)[-1]
    assert entry.changes["field_comments"] == {"venue": "Which hall?"}
    (email,) = mail.outbox
    assert "venue: Which hall?" in email.body


@pytest.mark.parametrize("unknown", ["fee", "status", "version"])
def test_comments_on_unknown_fields_are_refused(world, unknown):
    activity = world.activity(S.SUBMITTED)

    with pytest.raises(DomainError) as refused:
        services.activity_return(
            activity,
            actor=world.reviewer_in_region,
            comment="See the fields.",
            field_comments={"venue": "Which hall?", unknown: "?"},
        )

    assert refused.value.field == "field_comments"
    assert_unchanged(activity, S.SUBMITTED)


def test_a_rejection_keeps_its_reason(world):
    activity = world.activity(S.SUBMITTED)

    services.activity_reject(activity, actor=world.admin, reason=" A trade fair. ")

    (decision,) = decisions(activity)
    assert (decision.decision, decision.comment, decision.reviewer) == (
        ReviewDecisionKind.REJECTED,
        "A trade fair.",
        world.admin,
    )


def test_a_cancellation_keeps_its_reason_on_the_activity_and_is_no_review(world):
    activity = world.activity(S.APPROVED)

    services.activity_cancel(activity, actor=world.organiser_staff, reason=" Typhoon warning. ")

    activity.refresh_from_db()
    assert (activity.status, activity.cancellation_reason) == (S.CANCELLED, "Typhoon warning.")
    assert audit_entries(activity)[-1].comment == "Typhoon warning."
    assert decisions(activity) == []


def test_an_approval_may_carry_a_comment(world):
    activity = world.activity(S.SUBMITTED)

    services.activity_approve(activity, actor=world.national_reviewer, comment="Well prepared.")

    assert [(d.decision, d.comment) for d in decisions(activity)] == [
        (ReviewDecisionKind.APPROVED, "Well prepared.")
    ]


def test_a_withdrawn_activity_is_a_draft_again_and_can_be_resubmitted(world):
    activity = world.activity(S.SUBMITTED)
    first_submitted = activity.submitted_at

    services.activity_withdraw(activity, actor=world.organiser_staff)
    services.activity_submit(activity, actor=world.organiser_staff)

    activity.refresh_from_db()
    assert activity.status == S.SUBMITTED
    assert activity.submitted_at > first_submitted


# --- emails -----------------------------------------------------------------------------------


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def test_a_submission_is_emailed_to_the_reviewers_of_its_province_and_city(
    world, django_capture_on_commit_callbacks
):
    city_reviewer = reviewer(world.guangzhou)
    county = factories.CountyFactory(code="440106", parent=world.guangzhou)
    reviewer(county)  # covers only Tianhe, not the whole city
    retired = reviewer(world.guangdong, is_active=False)
    activity = world.activity(S.DRAFT)

    with django_capture_on_commit_callbacks(execute=True):
        services.activity_submit(activity, actor=world.organiser_staff)

    assert recipients() == sorted([world.reviewer_in_region.email, city_reviewer.email])
    assert retired.email not in recipients()
    # Reviewers read Chinese unless they chose otherwise.
    in_chinese = subject("For review: %(title)s", activity, "zh-hans")
    assert {m.subject for m in mail.outbox} == {in_chinese}
    review_page = reverse("activities:activity_review", args=[activity.pk])
    assert all(review_page in m.body for m in mail.outbox)


def test_a_submission_nobody_reviews_regionally_goes_to_the_national_reviewers(
    world, django_capture_on_commit_callbacks
):
    hainan = factories.ProvinceFactory(code="460000", name_zh="海南省")
    department = factories.DepartmentFactory(region=hainan)
    organiser = staff(department)
    second_national = reviewer(None)
    reviewer(None, is_active=False)
    activity = factories.ActivityFactory(
        campaign=world.campaign,
        key_arrangement=world.arrangement,
        organiser=department,
        status=S.DRAFT,
    )
    activity.content_areas.add(world.area)

    with django_capture_on_commit_callbacks(execute=True):
        services.activity_submit(activity, actor=organiser)

    assert recipients() == sorted([world.national_reviewer.email, second_national.email])


SUBJECTS = {
    "submit": "For review: %(title)s",
    "approve": "Approved and published: %(title)s",
    "return": "Returned for revision: %(title)s",
    "reject": "Not approved: %(title)s",
    "cancel": "Cancelled: %(title)s",
}


def subject(msgid, activity, language="en"):
    """The subject line as the catalogue of `language` renders it."""
    with translation.override(language):
        return " ".join((gettext(msgid) % {"title": activity.title}).split())


@pytest.mark.parametrize(
    "language",
    [
        "en",
        "zh-hans",
    ],
)
def test_every_workflow_email_names_the_activity_in_its_subject(world, language):
    activity = world.activity(S.DRAFT, title="Forum ABC-2024")
    for name, msgid in SUBJECTS.items():
        assert "Forum ABC-2024" in subject(msgid, activity, language), name
    if language == "en":
        assert subject(SUBJECTS["approve"], activity) == "Approved and published: Forum ABC-2024"


# What people read when the workflow refuses them, as written in the code.
WORKFLOW_MESSAGES = [
    "You may not do this.",
    "You may not change this activity.",
    "Declare that enterprises are charged no fee before submitting.",
    "Write a short summary for enterprises and the public.",
    "Choose at least one content area.",
    "Give a public contact with a telephone number or an email.",
    "Choose content areas of this activity's campaign.",
    "Comments can only be made on the fields under review.",
    "The reviewer's comment:",
    "Review it here:",
    "reason for cancelling",
]


def test_the_workflow_reads_in_english_as_written():
    with translation.override("en"):
        assert {m: gettext(m) for m in WORKFLOW_MESSAGES} == {m: m for m in WORKFLOW_MESSAGES}


@pytest.mark.parametrize(
    "name, source",
    [
        ("approve", S.SUBMITTED),
        ("return", S.SUBMITTED),
        ("reject", S.SUBMITTED),
        ("cancel", S.APPROVED),
    ],
)
def test_decisions_are_emailed_to_the_organisers_active_staff_but_not_the_actor(
    world, name, source, django_capture_on_commit_callbacks
):
    colleague = staff(world.organiser, full_name="Sun Colleague", preferred_language="en")
    staff(world.organiser, is_active=False)
    activity = world.activity(source)
    actor = world.admin

    with django_capture_on_commit_callbacks(execute=True):
        act(name, activity, actor)

    assert recipients() == sorted([world.organiser_staff.email, colleague.email])
    assert {m.subject for m in mail.outbox} == {subject(SUBJECTS[name], activity)}
    if COMMENTS[name]:
        assert all(COMMENTS[name] in m.body for m in mail.outbox)


def test_the_organiser_who_cancels_is_not_told_of_it_but_colleagues_are(
    world, django_capture_on_commit_callbacks
):
    colleague = staff(world.organiser)
    activity = world.activity(S.APPROVED)

    with django_capture_on_commit_callbacks(execute=True):
        services.activity_cancel(activity, actor=world.organiser_staff, reason="Typhoon.")

    assert recipients() == [colleague.email]


def test_withdrawing_emails_nobody(world, django_capture_on_commit_callbacks):
    activity = world.activity(S.SUBMITTED)

    with django_capture_on_commit_callbacks(execute=True):
        services.activity_withdraw(activity, actor=world.organiser_staff)

    assert mail.outbox == []


def test_each_recipient_is_written_to_in_their_own_language(
    world, django_capture_on_commit_callbacks
):
    chinese = staff(world.organiser, preferred_language="zh-hans")
    activity = world.activity(S.SUBMITTED)

    with django_capture_on_commit_callbacks(execute=True):
        services.activity_approve(activity, actor=world.reviewer_in_region)

    by_address = {message.to[0]: message for message in mail.outbox}
    english = by_address[world.organiser_staff.email]
    assert english.extra_headers["Content-Language"] == "en"
    assert english.subject == subject(SUBJECTS["approve"], activity, "en")
    in_chinese = by_address[chinese.email]
    assert in_chinese.extra_headers["Content-Language"] == "zh-hans"
    assert in_chinese.subject == subject(SUBJECTS["approve"], activity, "zh-hans")
    assert in_chinese.subject != english.subject


def test_emails_go_out_only_when_the_transaction_commits(world, django_capture_on_commit_callbacks):
    activity = world.activity(S.SUBMITTED)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.activity_approve(activity, actor=world.reviewer_in_region)
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1


def test_nothing_rolled_back_is_emailed(world, django_capture_on_commit_callbacks):
    activity = world.activity(S.SUBMITTED)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.activity_approve(activity, actor=world.reviewer_in_region)
        raise RuntimeError("the request failed after the approval")

    assert callbacks == []
    assert mail.outbox == []
    assert Activity.objects.get(pk=activity.pk).status == S.SUBMITTED
    assert decisions(activity) == []


# --- bulk approval ----------------------------------------------------------------------------


def test_bulk_approval_approves_what_it_can_and_says_why_not_for_the_rest(
    world, django_capture_on_commit_callbacks
):
    ready = world.activity(S.SUBMITTED, title="Ready one")
    also_ready = world.activity(S.SUBMITTED, title="Ready two")
    draft = world.activity(S.DRAFT, title="Still a draft")
    elsewhere = factories.ActivityFactory(
        campaign=world.campaign,
        key_arrangement=world.arrangement,
        organiser=world.other_department,
        status=S.SUBMITTED,
        submitted_at=timezone.now(),
        title="In Jiangsu",
    )

    with django_capture_on_commit_callbacks(execute=True):
        approved, refused = services.activity_bulk_approve(
            [ready, draft, elsewhere, also_ready], actor=world.reviewer_in_region
        )

    assert [a.title for a in approved] == ["Ready one", "Ready two"]
    reasons = {a.title: reason for a, reason in refused}
    assert set(reasons) == {"Still a draft", "In Jiangsu"}
    assert "Draft" in reasons["Still a draft"]
    assert reasons["In Jiangsu"] == gettext("You may not do this.")
    statuses = dict(Activity.objects.values_list("title", "status"))
    assert statuses == {
        "Ready one": S.APPROVED,
        "Ready two": S.APPROVED,
        "Still a draft": S.DRAFT,
        "In Jiangsu": S.SUBMITTED,
    }
    assert ReviewDecision.objects.count() == 2
    assert len(mail.outbox) == 2


# --- two people at once -------------------------------------------------------------------------


def two_copies(activity):
    """What two browser tabs loaded: the same row, version N, as separate objects."""
    return Activity.objects.get(pk=activity.pk), Activity.objects.get(pk=activity.pk)


@pytest.mark.parametrize("name", ["approve", "return", "reject"])
def test_a_second_reviewer_with_the_old_version_is_told_who_reviewed_first(
    world, name, django_capture_on_commit_callbacks
):
    activity = world.activity(S.SUBMITTED)
    first, second = two_copies(activity)
    loaded = first.version

    services.activity_approve(first, actor=world.national_reviewer, expected_version=loaded)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(EditConflict) as refused:
        act(name, second, world.reviewer_in_region, expected_version=loaded)

    message = str(refused.value)
    assert "Zhang National" in message
    assert "Approved (published)" in message
    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.status, saved.version) == (S.APPROVED, loaded + 1)
    assert [(d.decision, d.reviewer) for d in decisions(activity)] == [
        (ReviewDecisionKind.APPROVED, world.national_reviewer)
    ]
    assert [e.action for e in audit_entries(activity)] == ["activities.activity.approved"]
    assert mail.outbox == []


@pytest.mark.parametrize("name", ["approve", "return", "reject"])
def test_a_second_reviewer_without_a_version_is_refused_naming_the_first(world, name):
    activity = world.activity(S.SUBMITTED)
    first, second = two_copies(activity)

    services.activity_reject(first, actor=world.national_reviewer, reason="Not eligible.")
    with pytest.raises(IllegalTransition) as refused:
        act(name, second, world.reviewer_in_region)

    assert "already handled by Zhang National" in str(refused.value)
    assert "Rejected" in str(refused.value)
    assert len(decisions(activity)) == 1
    assert Activity.objects.get(pk=activity.pk).status == S.REJECTED


def test_the_organiser_cannot_withdraw_what_was_just_approved(world):
    activity = world.activity(S.SUBMITTED)
    reviewers_copy, organisers_copy = two_copies(activity)

    services.activity_approve(reviewers_copy, actor=world.reviewer_in_region)
    with pytest.raises(EditConflict) as refused:
        services.activity_withdraw(
            organisers_copy, actor=world.organiser_staff, expected_version=organisers_copy.version
        )

    assert "Huang Guangdong" in str(refused.value)
    assert Activity.objects.get(pk=activity.pk).status == S.APPROVED


def test_a_stale_edit_is_refused_and_saves_nothing(world):
    activity = world.activity(S.DRAFT, title="Original title")
    colleague = staff(world.organiser, full_name="Sun Colleague")
    mine, theirs = two_copies(activity)
    loaded = mine.version

    services.activity_update(theirs, actor=colleague, expected_version=loaded, title="Theirs")
    with pytest.raises(EditConflict) as refused:
        services.activity_update(
            mine, actor=world.organiser_staff, expected_version=loaded, title="Mine", venue="Hall"
        )

    assert "Sun Colleague" in str(refused.value)
    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.title, saved.venue, saved.version) == ("Theirs", activity.venue, loaded + 1)
    assert [e.actor for e in audit_entries(activity)] == [colleague]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_version", [True, False], ids=["with-version", "without-version"])
def test_two_reviewers_deciding_at_the_same_moment_make_one_decision(with_version):
    """A real race on PostgreSQL: each reviewer in a thread with its own connection. The row lock
    lets exactly one decide; the other is told, clearly, who was first."""
    world = build_world()
    activity = world.activity(S.SUBMITTED)
    loaded = activity.version
    contenders = {
        "approve": world.national_reviewer,
        "reject": world.reviewer_in_region,
    }
    barrier = threading.Barrier(len(contenders))
    results: dict[str, object] = {}

    def decide(name, person):
        try:
            with translation.override("en"):
                copy = Activity.objects.get(pk=activity.pk)
                barrier.wait(timeout=10)
                act(name, copy, person, expected_version=loaded if with_version else None)
                results[name] = "won"
        except Exception as exc:  # inspected below, in the main thread
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=item) for item in contenders.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [name for name, result in results.items() if result == "won"]
    assert len(winners) == 1, results
    (winner,) = winners
    (loser,) = set(contenders) - {winner}
    refusal = results[loser]
    assert isinstance(refusal, EditConflict if with_version else IllegalTransition), refusal
    with translation.override("en"):
        assert contenders[winner].full_name in str(refusal)
    saved = Activity.objects.get(pk=activity.pk)
    assert (saved.status, saved.version) == (TARGET[winner], loaded + 1)
    assert [(d.decision, d.reviewer) for d in decisions(activity)] == [
        (DECISION[winner], contenders[winner])
    ]
    assert [e.action for e in audit_entries(activity)] == [f"activities.activity.{TARGET[winner]}"]
    # The organiser is told of the one decision only.
    assert [m.to for m in mail.outbox] == [[world.organiser_staff.email]]


def test_the_world_is_what_the_tests_say(world):
    """The roles above really are what their names say (a broken fixture would make the table
    prove nothing)."""
    from accounts.rules import roles_of

    assert roles_of(world.organiser_staff).department_id == world.organiser.pk
    assert roles_of(world.co_organiser_staff).department_id == world.co_organiser.pk
    assert roles_of(world.reviewer_in_region).reviewer_region == world.guangdong
    assert roles_of(world.national_reviewer).is_national_reviewer
    assert roles_of(world.enterprise_representative).enterprise_id is not None
    assert roles_of(world.admin).is_admin
    assert world.guangdong.covers(world.guangzhou)
    assert world.guangzhou.level == RegionLevel.CITY
    assert not roles_of(world.reviewer_out_of_region).reviews_region(world.guangzhou)
