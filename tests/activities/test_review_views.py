"""The reviewers' pages: the queue (scope, filters, order, bulk approval) and the review of one
activity (approve, return with comments, reject, the diff after resubmission, two reviewers at
once), and the emails the review workflow sends."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from activities import services
from activities.enums import ActivityStatus, DepartmentLevel
from activities.models import Activity
from activities.services import activity_return, activity_submit, activity_update
from qualitymonth.models import ReviewDecision, ReviewDecisionKind
from tests import factories

pytestmark = pytest.mark.django_db

QUEUE = reverse("activities:review_queue")


def review_url(activity) -> str:
    return reverse("activities:activity_review", args=[activity.pk])


class World:
    """Zhejiang (with Hangzhou) and Jiangsu, a bureau in each, their staff, and reviewers."""

    def __init__(self):
        self.campaign = factories.CampaignFactory()
        self.arrangement = factories.KeyArrangementFactory(campaign=self.campaign, number=1)
        self.other_arrangement = factories.KeyArrangementFactory(campaign=self.campaign, number=2)
        self.area = factories.ContentAreaFactory(campaign=self.campaign, number=1)
        self.zhejiang = factories.ProvinceFactory(
            code="330000", name_zh="浙江省", name_en="Zhejiang"
        )
        self.hangzhou = factories.CityFactory(
            parent=self.zhejiang, code="330100", name_zh="杭州市", name_en="Hangzhou"
        )
        self.jiangsu = factories.ProvinceFactory(code="320000", name_zh="江苏省", name_en="Jiangsu")
        self.zj_bureau = factories.DepartmentFactory(region=self.zhejiang)
        self.hz_bureau = factories.DepartmentFactory(
            region=self.hangzhou, level=DepartmentLevel.CITY
        )
        self.js_bureau = factories.DepartmentFactory(region=self.jiangsu)
        self.zj_staff = factories.DepartmentMembershipFactory(
            department=self.zj_bureau, user__full_name="Zhang Staff"
        ).user
        self.national = factories.ReviewerAssignmentFactory(user__full_name="Wang National").user
        self.zj_reviewer = factories.ReviewerAssignmentFactory(
            region=self.zhejiang, user__full_name="Li Zhejiang"
        ).user

    def submitted(self, organiser=None, *, days=1, **fields):
        activity = factories.ActivityFactory(
            campaign=self.campaign,
            key_arrangement=fields.pop("key_arrangement", self.arrangement),
            organiser=organiser or self.zj_bureau,
            status=ActivityStatus.SUBMITTED,
            submitted_at=timezone.now() - dt.timedelta(days=days, minutes=1),
            **fields,
        )
        activity.content_areas.add(self.area)
        return activity


@pytest.fixture
def world():
    return World()


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


def queue_titles(response) -> list[str]:
    return [activity.title for activity in response.context["page"]]


def form_version(response) -> str:
    return re.search(r'name="version" value="(\d+)"', response.content.decode()).group(1)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- who may open the pages ---------------------------------------------------------------------


def test_anonymous_people_are_sent_to_log_in(client, world):
    activity = world.submitted()
    for url in (QUEUE, review_url(activity)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("who", ["staff", "enterprise", "nobody"])
def test_people_who_do_not_review_are_refused(client, world, who):
    person = {
        "staff": world.zj_staff,
        "enterprise": factories.EnterpriseRepresentativeFactory().user,
        "nobody": factories.UserFactory(),
    }[who]
    activity = world.submitted()
    client.force_login(person)
    assert client.get(QUEUE).status_code == 403
    assert client.get(review_url(activity)).status_code == 403
    assert client.post(QUEUE, {"activity": [activity.pk]}).status_code == 403
    response = client.post(review_url(activity), {"action": "approve", "version": 1})
    assert response.status_code == 403
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.SUBMITTED


def test_a_provincial_reviewer_cannot_open_an_activity_outside_their_region(client, world):
    outside = world.submitted(world.js_bureau)
    client.force_login(world.zj_reviewer)
    assert client.get(review_url(outside)).status_code == 404
    response = client.post(review_url(outside), {"action": "approve", "version": outside.version})
    assert response.status_code == 404
    outside.refresh_from_db()
    assert outside.status == ActivityStatus.SUBMITTED
    assert client.get(reverse("activities:activity_review", args=[999999])).status_code == 404


def test_a_platform_administrator_reviews_everywhere(client, world):
    activity = world.submitted(world.js_bureau)
    client.force_login(factories.AdminFactory())
    assert queue_titles(client.get(QUEUE)) == [activity.title]
    response = client.post(review_url(activity), {"action": "approve", "version": activity.version})
    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.APPROVED


# --- the queue ----------------------------------------------------------------------------------


def test_a_national_reviewer_sees_every_submission_oldest_first(client, world):
    newer = world.submitted(world.zj_bureau, days=1, title="Newer")
    older = world.submitted(world.js_bureau, days=5, title="Older")
    oldest = world.submitted(world.hz_bureau, days=9, title="Oldest")
    factories.ActivityFactory(campaign=world.campaign, status=ActivityStatus.DRAFT)
    factories.ActivityFactory(campaign=world.campaign, status=ActivityStatus.APPROVED)
    factories.ActivityFactory(campaign=world.campaign, status=ActivityStatus.RETURNED)
    client.force_login(world.national)
    response = client.get(QUEUE)
    assert response.status_code == 200
    assert queue_titles(response) == [oldest.title, older.title, newer.title]


def test_a_provincial_reviewer_sees_their_region_and_below_only(client, world):
    in_province = world.submitted(world.zj_bureau, days=2)
    in_city = world.submitted(world.hz_bureau, days=1)
    world.submitted(world.js_bureau, days=3)
    # A national department's activity held in Zhejiang is Zhejiang's to review.
    national = factories.NationalDepartmentFactory()
    held_here = world.submitted(national, days=0, region=world.hangzhou)
    client.force_login(world.zj_reviewer)
    assert queue_titles(client.get(QUEUE)) == [in_province.title, in_city.title, held_here.title]


def test_the_queue_shows_how_long_each_has_waited_and_marks_resubmissions(client, english, world):
    long_waiting = world.submitted(days=10)
    resubmitted = world.submitted(days=0)
    activity_return(resubmitted, actor=world.national, comment="Say where exactly.")
    resubmitted.refresh_from_db()
    activity_submit(resubmitted, actor=world.zj_staff)
    client.force_login(world.national)
    html = client.get(QUEUE).content.decode()
    assert '<span class="waited">10 days</span>' in html
    assert '<span class="waited">less than an hour</span>' in html
    assert 'class="long-wait"' in html
    assert html.count("Revised and resubmitted") == 1
    assert "2 activities waiting" in html
    page = client.get(QUEUE).context["page"]
    assert {a.title: a.reviewed_before for a in page} == {
        long_waiting.title: False,
        resubmitted.title: True,
    }


def test_the_queue_says_when_nothing_is_waiting(client, english, world):
    client.force_login(world.national)
    assert "Nothing is waiting for review." in client.get(QUEUE).content.decode()


def test_filter_by_key_arrangement_and_organiser(client, world):
    first = world.submitted(world.zj_bureau)
    second = world.submitted(world.js_bureau, key_arrangement=world.other_arrangement)
    client.force_login(world.national)
    response = client.get(QUEUE, {"key_arrangement": world.other_arrangement.pk})
    assert queue_titles(response) == [second.title]
    response = client.get(QUEUE, {"organiser": world.zj_bureau.pk})
    assert queue_titles(response) == [first.title]
    # Only departments with waiting activities are offered.
    choices = {d.pk for d in response.context["form"].fields["organiser"].queryset}
    assert choices == {world.zj_bureau.pk, world.js_bureau.pk}


def test_filter_by_region_includes_the_regions_below(client, world):
    province = world.submitted(world.zj_bureau, days=3)
    city = world.submitted(world.hz_bureau, days=2)
    world.submitted(world.js_bureau, days=1)
    client.force_login(world.national)
    assert queue_titles(client.get(QUEUE, {"region": "330000"})) == [province.title, city.title]
    assert queue_titles(client.get(QUEUE, {"region": "330100"})) == [city.title]
    offered = [r.code for r in client.get(QUEUE).context["form"].fields["region"].queryset]
    assert offered == ["320000", "330000", "330100"]


def test_filter_by_time_waiting(client, world):
    world.submitted(days=1)
    four = world.submitted(days=4)
    ten = world.submitted(days=10)
    client.force_login(world.national)
    assert queue_titles(client.get(QUEUE, {"waiting": "3"})) == [ten.title, four.title]
    assert queue_titles(client.get(QUEUE, {"waiting": "7"})) == [ten.title]


def test_a_submission_of_unknown_date_counts_as_the_longest_waiting(client, english, world):
    recent = world.submitted(days=1)
    legacy = world.submitted(days=0)
    Activity.objects.filter(pk=legacy.pk).update(submitted_at=None)  # from before it was recorded
    client.force_login(world.national)
    assert queue_titles(client.get(QUEUE)) == [legacy.title, recent.title]
    assert queue_titles(client.get(QUEUE, {"waiting": "7"})) == [legacy.title]


def test_an_unknown_filter_value_is_shown_as_an_error_not_a_failure(client, world):
    activity = world.submitted()
    client.force_login(world.national)
    response = client.get(QUEUE, {"region": "999999", "waiting": "many", "organiser": "x"})
    assert response.status_code == 200
    assert queue_titles(response) == [activity.title]
    assert set(response.context["form"].errors) == {"region", "waiting", "organiser"}


def test_a_provincial_reviewer_cannot_filter_their_way_out_of_their_region(client, world):
    world.submitted(world.js_bureau)
    client.force_login(world.zj_reviewer)
    assert queue_titles(client.get(QUEUE, {"region": "320000"})) == []
    assert queue_titles(client.get(QUEUE, {"organiser": world.js_bureau.pk})) == []


def test_pages_keep_the_filters(client, world, monkeypatch):
    monkeypatch.setattr("activities.review_views.PAGE_SIZE", 2)
    for days in (5, 4, 3):
        world.submitted(days=days)
    world.submitted(world.js_bureau)
    client.force_login(world.national)
    response = client.get(QUEUE, {"region": "330000"})
    html = response.content.decode()
    assert len(queue_titles(response)) == 2
    assert "?region=330000&amp;page=2" in html
    second = client.get(QUEUE, {"region": "330000", "page": "2"})
    assert len(queue_titles(second)) == 1


@pytest.mark.parametrize("count", [1, 3])
def test_the_queue_takes_the_same_number_of_queries_however_long(
    client, world, count, django_assert_num_queries
):
    for days in range(count):
        world.submitted(factories.DepartmentFactory(region=world.zhejiang), days=days)
    client.force_login(world.national)
    client.get(QUEUE)  # the session and the content types are cached from here on
    # session, user, 3 role lookups, the current campaign (for the filters and for the layout),
    # the filters' choices (region codes, regions, key arrangements, departments), count, page
    with django_assert_num_queries(13):
        response = client.get(QUEUE)
    assert len(queue_titles(response)) == count


# --- bulk approval ------------------------------------------------------------------------------


def test_bulk_approve_approves_the_selected_and_reports_the_refused(
    client, english, world, django_capture_on_commit_callbacks
):
    ready = world.submitted(world.zj_bureau, days=3, title="Ready one")
    also_ready = world.submitted(world.hz_bureau, days=2, title="Ready two")
    handled = world.submitted(world.zj_bureau, days=1, title="Handled meanwhile")
    not_selected = world.submitted(world.zj_bureau, days=1, title="Not selected")
    outside = world.submitted(world.js_bureau, days=1, title="Jiangsu")
    client.force_login(world.national)
    client.post(
        review_url(handled), {"action": "reject", "comment": "No.", "version": 1}, follow=True
    )

    client.force_login(world.zj_reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            QUEUE + "?waiting=0",
            {"activity": [ready.pk, also_ready.pk, handled.pk, outside.pk]},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == QUEUE + "?waiting=0"
    for activity in (ready, also_ready, handled, not_selected, outside):
        activity.refresh_from_db()
    assert ready.status == also_ready.status == ActivityStatus.APPROVED
    assert handled.status == ActivityStatus.REJECTED
    assert not_selected.status == outside.status == ActivityStatus.SUBMITTED
    shown = messages_of(response)
    assert shown[0] == "2 activities approved and published: Ready one; Ready two"
    assert len(shown) == 2
    assert shown[1].startswith("“Handled meanwhile” was not approved: ")
    assert "already handled by Wang National" in shown[1]
    assert (
        ReviewDecision.objects.filter(
            reviewer=world.zj_reviewer, decision=ReviewDecisionKind.APPROVED
        ).count()
        == 2
    )
    assert {tuple(m.to) for m in mail.outbox} == {(world.zj_staff.email,)}


def test_bulk_approve_refuses_what_changed_since_the_queue_was_shown(client, english, world):
    seen = world.submitted(world.zj_bureau, days=3, title="Seen as it was")
    client.force_login(world.zj_reviewer)
    queue = client.get(QUEUE).content.decode()
    shown_version = seen.version
    assert f'value="{seen.pk}:{shown_version}"' in queue  # the checkbox carries the version
    # The organiser withdraws, changes the title and submits again in the meantime.
    services.activity_withdraw(seen, actor=world.zj_staff)
    services.activity_update(seen, actor=world.zj_staff, title="Changed after it was seen")
    services.activity_submit(seen, actor=world.zj_staff)

    response = client.post(QUEUE, {"activity": [f"{seen.pk}:{shown_version}"]}, follow=True)

    seen.refresh_from_db()
    assert seen.status == ActivityStatus.SUBMITTED
    [shown] = messages_of(response)
    assert shown.startswith("“Changed after it was seen” was not approved: ")


def test_bulk_approve_with_nothing_selected_says_so(client, english, world):
    world.submitted()
    client.force_login(world.national)
    response = client.post(QUEUE, {}, follow=True)
    assert messages_of(response) == ["Select the activities to approve first."]


# --- one review: approve, return, reject ---------------------------------------------------------


def test_the_review_page_shows_the_whole_activity_and_its_history(client, english, world):
    activity = world.submitted(
        venue="杭州国际博览中心",
        online_url="https://live.example.cn/q",
        description="第一行\n第二行",
    )
    co = factories.DepartmentFactory(region=world.zhejiang, name_en="Zhejiang Customs")
    activity.co_organisers.add(co)
    activity_return(activity, actor=world.national, comment="Add the hall number.")
    activity.refresh_from_db()
    activity_submit(activity, actor=world.zj_staff)
    client.force_login(world.zj_reviewer)
    response = client.get(review_url(activity))
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        activity.title,
        "杭州国际博览中心",
        'href="https://live.example.cn/q"',
        "第一行<br>第二行",
        "Zhejiang Customs",
        world.area.title_en,
        world.arrangement.title_en,
        "Returned for revision",
        "Add the hall number.",
        "Submitted for review",
        "Wang National",
    ):
        assert text in html, text
    assert response.context["actions"] == ["approve", "return", "reject"]
    assert form_version(response) == str(activity.version)


def test_approve_with_an_optional_comment(client, english, world):
    activity = world.submitted()
    client.force_login(world.zj_reviewer)
    response = client.post(
        review_url(activity),
        {"action": "approve", "comment": "Well prepared.", "version": activity.version},
        follow=True,
    )
    assert response.redirect_chain == [(QUEUE, 302)]
    assert messages_of(response) == [f"“{activity.title}” is approved and published."]
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.APPROVED
    decision = ReviewDecision.objects.get()
    assert (decision.decision, decision.comment, decision.reviewer) == (
        ReviewDecisionKind.APPROVED,
        "Well prepared.",
        world.zj_reviewer,
    )


def test_approve_without_a_comment(client, world):
    activity = world.submitted()
    client.force_login(world.national)
    client.post(review_url(activity), {"action": "approve", "version": activity.version})
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.APPROVED


def test_returning_needs_a_comment_and_keeps_what_was_typed(client, english, world):
    activity = world.submitted()
    client.force_login(world.national)
    response = client.post(
        review_url(activity), {"action": "return", "comment": "  ", "version": activity.version}
    )
    assert response.status_code == 400
    assert "Please give a comment." in response.content.decode()
    assert response.context["form"].errors["comment"] == ["Please give a comment."]
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.SUBMITTED
    assert not ReviewDecision.objects.exists()


def test_return_with_an_overall_comment(client, english, world):
    activity = world.submitted()
    client.force_login(world.national)
    response = client.post(
        review_url(activity),
        {"action": "return", "comment": "Give the exact hall.", "version": activity.version},
        follow=True,
    )
    assert messages_of(response) == [
        f"“{activity.title}” is returned to its organiser for revision."
    ]
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.RETURNED
    assert ReviewDecision.objects.get().comment == "Give the exact hall."


def test_return_with_comments_on_fields_only_stores_and_shows_them(client, english, world):
    activity = world.submitted()
    client.force_login(world.national)
    response = client.post(
        review_url(activity),
        {
            "action": "return",
            "comment": "",
            "comment_on_venue": "Which hall?",
            "comment_on_contact_email": "Give an email too.",
            "version": activity.version,
        },
    )
    assert response.status_code == 302
    decision = ReviewDecision.objects.get()
    assert decision.field_comments == {
        "venue": "Which hall?",
        "contact_email": "Give an email too.",
    }
    # The organiser resubmits without touching the email: the reviewer is reminded of both.
    activity.refresh_from_db()
    activity_update(
        activity, actor=world.zj_staff, expected_version=activity.version, venue="Hall 3"
    )
    activity_submit(activity, actor=world.zj_staff)
    html = client.get(review_url(activity)).content.decode()
    assert "Which hall?" in html
    assert "Asked about, but not changed" in html
    assert "Give an email too." in html


def test_comments_on_fields_are_refused_with_approve_and_kept(client, english, world):
    activity = world.submitted()
    client.force_login(world.national)
    response = client.post(
        review_url(activity),
        {"action": "approve", "comment_on_title": "A shorter title?", "version": 1},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Comments on fields go with “Return for revision”" in html
    assert "A shorter title?" in html
    assert '<details class="field-comments" open>' in html
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.SUBMITTED


def test_rejecting_needs_a_reason(client, english, world):
    activity = world.submitted()
    client.force_login(world.national)
    response = client.post(review_url(activity), {"action": "reject", "version": 1})
    assert response.status_code == 400
    assert response.context["form"].errors["comment"] == ["Please give a reason."]
    response = client.post(
        review_url(activity),
        {"action": "reject", "comment": "A fee is charged at the door.", "version": 1},
        follow=True,
    )
    assert messages_of(response) == [
        f"“{activity.title}” is rejected; its organiser is told the reason."
    ]
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.REJECTED
    assert ReviewDecision.objects.get().comment == "A fee is charged at the door."


def test_a_missing_action_is_an_error(client, english, world):
    activity = world.submitted()
    client.force_login(world.national)
    response = client.post(review_url(activity), {"comment": "Hm", "version": 1})
    assert response.status_code == 400
    assert "Choose to approve, return or reject the activity." in response.content.decode()


@pytest.mark.parametrize("status", [ActivityStatus.DRAFT, ActivityStatus.APPROVED])
def test_an_activity_not_waiting_cannot_be_reviewed(client, english, world, status):
    activity = factories.ActivityFactory(
        campaign=world.campaign, organiser=world.zj_bureau, status=status
    )
    client.force_login(world.national)
    response = client.get(review_url(activity))
    assert response.status_code == 200
    assert response.context["actions"] == []
    assert "there is nothing to review now" in response.content.decode()
    assert 'name="action"' not in response.content.decode()
    response = client.post(review_url(activity), {"action": "approve", "version": activity.version})
    assert response.status_code == 409
    activity.refresh_from_db()
    assert activity.status == status


# --- after a return: the diff -------------------------------------------------------------------


def test_after_resubmission_the_reviewer_sees_what_changed(client, english, world):
    activity = world.submitted(title="质量开放日", venue="市民中心")
    client.force_login(world.national)
    client.post(
        review_url(activity),
        {
            "action": "return",
            "comment": "Please be precise.",
            "comment_on_venue": "Which building?",
            "version": activity.version,
        },
    )
    activity.refresh_from_db()
    activity_update(
        activity,
        actor=world.zj_staff,
        expected_version=activity.version,
        venue="市民中心东楼报告厅",
        capacity=40,
    )
    activity_submit(activity, actor=world.zj_staff)

    response = client.get(review_url(activity))
    html = response.content.decode()
    changes = {row["field"]: row for row in response.context["changes"]}
    assert set(changes) == {"venue", "capacity"}
    assert changes["venue"]["asked"] == "Which building?"
    assert "Changes since the last review" in html
    assert "Please be precise." in html
    # Unchanged text stays plain, the new words are marked.
    assert "<ins>东楼报告厅</ins>" in html
    assert "<del>10</del>" in html and "<ins>40</ins>" in html


def test_a_resubmission_without_changes_says_so(client, english, world):
    activity = world.submitted()
    activity_return(activity, actor=world.national, comment="Check the dates.")
    activity.refresh_from_db()
    activity_submit(activity, actor=world.zj_staff)
    client.force_login(world.national)
    response = client.get(review_url(activity))
    assert response.context["changes"] == []
    assert "Nothing was changed since the activity was returned." in response.content.decode()


def test_a_first_submission_has_no_diff(client, english, world):
    activity = world.submitted()
    client.force_login(world.national)
    response = client.get(review_url(activity))
    assert response.context["last_decision"] is None
    assert "Changes since the last review" not in response.content.decode()


# --- two reviewers at once ----------------------------------------------------------------------


def test_the_second_of_two_reviewers_is_told_who_acted_first(world):
    first, second = Client(), Client()
    for session in (first, second):
        session.cookies["django_language"] = "en"
    activity = world.submitted()
    first.force_login(world.national)
    second.force_login(world.zj_reviewer)
    # Both load the page, so both send the same version.
    version_first = form_version(first.get(review_url(activity)))
    version_second = form_version(second.get(review_url(activity)))
    assert version_first == version_second

    response = first.post(review_url(activity), {"action": "approve", "version": version_first})
    assert response.status_code == 302
    response = second.post(
        review_url(activity),
        {"action": "return", "comment": "Needs a venue.", "version": version_second},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "This was already handled by Wang National" in html
    assert "Approved (published)" in html
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.APPROVED
    assert [d.reviewer for d in ReviewDecision.objects.all()] == [world.national]


def test_a_review_of_a_page_that_changed_meanwhile_is_refused_and_the_comment_kept(
    client, english, world
):
    from activities.services import activity_withdraw

    activity = world.submitted(venue="旧场地")
    client.force_login(world.national)
    seen = form_version(client.get(review_url(activity)))
    # Meanwhile the organiser withdraws, edits and submits again.
    activity_withdraw(activity, actor=world.zj_staff)
    activity_update(
        activity, actor=world.zj_staff, expected_version=activity.version, venue="新场地"
    )
    activity_submit(activity, actor=world.zj_staff)

    response = client.post(
        review_url(activity),
        {"action": "approve", "comment": "Looks good to me.", "version": seen},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "already handled by Zhang Staff" in html
    assert "Looks good to me." in html  # the typed comment is kept
    assert "新场地" in html  # the page shows the activity as it is now
    assert form_version(response) == str(activity.version)
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.SUBMITTED
    # Having seen the current state, the reviewer can act on it.
    response = client.post(
        review_url(activity),
        {"action": "approve", "comment": "Looks good to me.", "version": form_version(response)},
    )
    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.APPROVED


# --- emails -------------------------------------------------------------------------------------


def test_a_submission_emails_the_reviewers_in_their_language(
    world, django_capture_on_commit_callbacks
):
    world.zj_reviewer.preferred_language = "en"
    world.zj_reviewer.save()
    activity = factories.ActivityFactory(
        campaign=world.campaign, organiser=world.zj_bureau, status=ActivityStatus.DRAFT
    )
    activity.content_areas.add(world.area)
    with django_capture_on_commit_callbacks(execute=True):
        activity_submit(activity, actor=world.zj_staff)
    # Zhejiang has its own reviewer, so the national reviewer is not bothered.
    assert [m.to for m in mail.outbox] == [[world.zj_reviewer.email]]
    message = mail.outbox[0]
    assert message.extra_headers["Content-Language"] == "en"
    assert message.subject == f"For review: {activity.title}"
    assert review_url(activity) in message.body


def test_decisions_email_the_organisers_staff_in_their_language(
    client, world, django_capture_on_commit_callbacks
):
    world.zj_staff.preferred_language = "en"
    world.zj_staff.save()
    colleague = factories.DepartmentMembershipFactory(
        department=world.zj_bureau, user__preferred_language="zh-hans"
    ).user
    factories.DepartmentMembershipFactory(department=world.js_bureau)  # another department
    client.force_login(world.national)

    returned = world.submitted(title="Open day")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            review_url(returned),
            {
                "action": "return",
                "comment": "Give the hall.",
                "comment_on_venue": "Which one?",
                "version": returned.version,
            },
        )
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {world.zj_staff.email, colleague.email}
    english = by_address[world.zj_staff.email]
    assert english.extra_headers["Content-Language"] == "en"
    assert english.subject == "Returned for revision: Open day"
    assert "The reviewer returned the activity “Open day” for revision." in english.body
    assert "Give the hall." in english.body
    assert "venue: Which one?" in english.body
    assert by_address[colleague.email].extra_headers["Content-Language"] == "zh-hans"

    mail.outbox.clear()
    approved = world.submitted(title="Forum")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(review_url(approved), {"action": "approve", "version": approved.version})
    english = next(m for m in mail.outbox if m.to == [world.zj_staff.email])
    assert english.subject == "Approved and published: Forum"
    assert english.extra_headers["Content-Language"] == "en"

    mail.outbox.clear()
    rejected = world.submitted(title="Fair")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            review_url(rejected),
            {"action": "reject", "comment": "Fees.", "version": rejected.version},
        )
    english = next(m for m in mail.outbox if m.to == [world.zj_staff.email])
    assert english.subject == "Not approved: Fair"
    assert "Fees." in english.body


def test_decision_email_subjects_name_the_activity(
    client, world, django_capture_on_commit_callbacks
):
    world.zj_staff.preferred_language = "en"
    world.zj_staff.save()
    client.force_login(world.national)
    returned, approved = world.submitted(title="Open day"), world.submitted(title="Forum")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(review_url(returned), {"action": "return", "comment": "Hall?", "version": 1})
        client.post(review_url(approved), {"action": "approve", "version": 1})
    assert [m.subject for m in mail.outbox] == [
        "Returned for revision: Open day",
        "Approved and published: Forum",
    ]
