"""The staff workspace, for every role: "My activities", the activity form (create, edit, save as
draft, save and submit, conflicts), the activity's page with its actions and full history.

Pages are requested in English (the Chinese catalogue is filled in later); assertions are on what
a person sees or on the saved data.
"""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from activities.enums import ActivityStatus
from activities.models import Activity, Campaign
from activities.services import (
    activity_missing_for_submission,
    activity_return,
    activity_submit,
    activity_update,
)
from qualitymonth.models import AuditLogEntry
from tests import factories
from tests.api.world import build_world, make_campaign, reviewer_for, staff_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def browser(user=None) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def page(response) -> str:
    return response.content.decode()


def workspace_url():
    return reverse("activities:workspace")


def manage_url(activity):
    return reverse("activities:activity_manage", args=[activity.pk])


def edit_url(activity):
    return reverse("activities:activity_edit", args=[activity.pk])


def transition_url(activity, action):
    return reverse("activities:activity_transition", args=[activity.pk, action])


def form_data(world, **changes) -> dict:
    """A complete activity as the form posts it (Guangzhou, sign-up open); None drops a field."""
    data = {
        "title": "广州质量开放日",
        "summary": "企业走进检测实验室，免费参加。",
        "description": "参观实验室，讲解检测标准。",
        "key_arrangement": world.arrangement(2).pk,
        "content_areas": [world.campaign.content_areas.get(number=2).pk],
        "region_province": "440000",
        "region_city": "440100",
        "region_county": "",
        "venue": "广州市质量技术大厦",
        "online_url": "",
        "starts_at": "2024-09-10T09:00",
        "ends_at": "2024-09-10T12:00",
        "signup_enabled": "on",
        "capacity": "30",
        "signup_opens_at": "2024-08-20T09:00",
        "signup_closes_at": "2024-09-09T17:00",
        "attendees_per_enterprise": "2",
        "contact_name": "李老师",
        "contact_phone": "020-12345678",
        "contact_email": "",
        "no_fee_declared": "on",
        "action": "save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def needed(activity) -> dict[str, str]:
    """What the service says a submission still needs, in English."""
    with translation.override("en"):
        return {k: str(v) for k, v in activity_missing_for_submission(activity).items()}


def error_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level_tag == "error"]


def local(text: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(text))


# --- who may open what ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, args",
    [
        ("activities:workspace", []),
        ("activities:activity_create", []),
        ("activities:activity_manage", [1]),
        ("activities:activity_edit", [1]),
    ],
)
def test_anonymous_people_are_sent_to_log_in(world, name, args):
    response = browser().get(reverse(name, args=args))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_anonymous_transition_is_sent_to_log_in(world):
    draft = world.draft(world.gd_amr)

    response = browser().post(transition_url(draft, "submit"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    draft.refresh_from_db()
    assert draft.status == ActivityStatus.DRAFT


def test_enterprise_representatives_get_the_friendly_403(world):
    client = browser(factories.EnterpriseRepresentativeFactory().user)

    for url in (workspace_url(), reverse("activities:activity_create")):
        response = client.get(url)
        assert response.status_code == 403
        assert "You may not open this page" in page(response)


def test_enterprise_representatives_cannot_open_a_draft(world):
    draft = world.draft(world.gd_amr)
    client = browser(factories.EnterpriseRepresentativeFactory().user)

    assert client.get(manage_url(draft)).status_code == 404
    assert client.post(transition_url(draft, "submit")).status_code == 404


def test_reviewers_without_a_department_have_no_workspace_list(world):
    response = browser(reviewer_for(None)).get(workspace_url())

    assert response.status_code == 403


def test_a_reviewer_opens_a_submitted_activity_of_their_region_read_only(world):
    submitted = world.activity(world.gz_amr, status=ActivityStatus.SUBMITTED)
    client = browser(reviewer_for(world.guangdong))

    response = client.get(manage_url(submitted))

    assert response.status_code == 200
    text = page(response)
    assert submitted.title in text
    assert reverse("activities:activity_review", args=[submitted.pk]) in text
    assert edit_url(submitted) not in text
    assert transition_url(submitted, "withdraw") not in text
    assert client.get(edit_url(submitted)).status_code == 403
    assert client.post(transition_url(submitted, "withdraw")).status_code == 403


def test_a_provincial_reviewer_cannot_open_a_draft_of_another_province(world):
    draft = world.draft(world.zj_amr)

    response = browser(reviewer_for(world.guangdong)).get(manage_url(draft))

    assert response.status_code == 404


def test_staff_of_another_department_get_404_on_every_url_of_its_draft(world):
    draft = world.draft(world.gd_amr)
    client = browser(staff_of(world.zj_amr))

    assert client.get(manage_url(draft)).status_code == 404
    assert client.get(edit_url(draft)).status_code == 404
    assert client.post(edit_url(draft), form_data(world)).status_code == 404
    for action in ("submit", "withdraw", "cancel"):
        assert client.post(transition_url(draft, action), {"reason": "x"}).status_code == 404
    assert client.get(manage_url(Activity(pk=draft.pk + 1000))).status_code == 404
    draft.refresh_from_db()
    assert (draft.status, draft.version, draft.title) == (ActivityStatus.DRAFT, 1, draft.title)


def test_staff_of_another_department_do_not_manage_its_published_activity(world):
    published = world.activity(world.gd_amr)

    response = browser(staff_of(world.zj_amr)).get(manage_url(published))

    assert response.status_code == 404


def test_unknown_actions_and_get_requests_are_refused(world):
    draft = world.draft(world.gd_amr)
    client = browser(staff_of(world.gd_amr))

    assert client.post(transition_url(draft, "approve")).status_code == 404
    assert client.post(transition_url(draft, "delete")).status_code == 404
    assert client.get(transition_url(draft, "submit")).status_code == 405


# --- "My activities" ----------------------------------------------------------------------------


def test_my_activities_lists_own_and_co_organised_ones_only(world):
    own = world.draft(world.gd_amr, title="本局草稿")
    co_organised = world.activity(world.zj_amr, title="合办活动", status=ActivityStatus.SUBMITTED)
    co_organised.co_organisers.add(world.gd_amr)
    world.activity(world.zj_amr, title="别人的活动")

    response = browser(staff_of(world.gd_amr)).get(workspace_url())

    assert response.status_code == 200
    text = page(response)
    assert own.title in text
    assert co_organised.title in text
    assert "别人的活动" not in text
    rows = {a.title: a.is_co_organised for a in response.context["page"]}
    assert rows == {"本局草稿": False, "合办活动": True}
    assert "Co-organised · read-only" in text


def test_my_activities_counts_per_status_and_filters_by_status(world):
    world.draft(world.gd_amr)
    world.draft(world.gd_amr)
    world.activity(world.gd_amr, status=ActivityStatus.SUBMITTED)
    client = browser(staff_of(world.gd_amr))

    response = client.get(workspace_url())
    counts = {value: n for value, _label, n in response.context["status_counts"]}
    assert counts[ActivityStatus.DRAFT] == 2
    assert counts[ActivityStatus.SUBMITTED] == 1
    assert counts[ActivityStatus.APPROVED] == 0
    assert response.context["total"] == 3

    drafts = client.get(workspace_url(), {"status": "draft"})
    assert [a.status for a in drafts.context["page"]] == ["draft", "draft"]
    # The counts still tell how many there are in every state.
    assert drafts.context["total"] == 3


def test_my_activities_shows_the_current_campaign_unless_another_is_chosen(world):
    older = make_campaign(2023)
    world.draft(world.gd_amr, title="今年的")
    world.draft(
        world.gd_amr, title="去年的", campaign=older, key_arrangement=older.key_arrangements.first()
    )
    client = browser(staff_of(world.gd_amr))

    current = client.get(workspace_url())
    assert [a.title for a in current.context["page"]] == ["今年的"]

    chosen = client.get(workspace_url(), {"campaign": 2023})
    assert [a.title for a in chosen.context["page"]] == ["去年的"]


def test_my_activities_filters_by_key_arrangement(world):
    world.draft(world.gd_amr, title="强企", key_arrangement=world.arrangement(2))
    world.draft(world.gd_amr, title="惠民", key_arrangement=world.arrangement(8))

    response = browser(staff_of(world.gd_amr)).get(
        workspace_url(), {"campaign": 2024, "key_arrangement": 8}
    )

    assert [a.title for a in response.context["page"]] == ["惠民"]


def test_an_unknown_filter_value_is_ignored_and_said(world):
    world.draft(world.gd_amr)

    response = browser(staff_of(world.gd_amr)).get(workspace_url(), {"key_arrangement": 99})

    assert response.status_code == 200
    assert len(response.context["page"]) == 1
    assert "Select a valid choice" in page(response)


def test_my_activities_is_paginated_keeping_the_filters(world):
    factories.ActivityFactory.create_batch(
        27,
        organiser=world.gd_amr,
        campaign=world.campaign,
        key_arrangement=world.arrangement(1),
        region=world.guangdong,
        status=ActivityStatus.DRAFT,
    )
    client = browser(staff_of(world.gd_amr))

    first = client.get(workspace_url(), {"status": "draft"})
    assert len(first.context["page"]) == 25
    assert "status=draft" in page(first) and "page=2" in page(first)
    second = client.get(workspace_url(), {"status": "draft", "page": 2})
    assert len(second.context["page"]) == 2


def test_administrators_choose_a_department_or_see_all(world):
    world.draft(world.gd_amr, title="广东的")
    world.draft(world.zj_amr, title="浙江的")
    client = browser(factories.AdminFactory())

    everything = client.get(workspace_url())
    assert {a.title for a in everything.context["page"]} == {"广东的", "浙江的"}
    assert 'name="department"' in page(everything)

    one = client.get(workspace_url(), {"department": world.zj_amr.pk})
    assert [a.title for a in one.context["page"]] == ["浙江的"]


@pytest.mark.parametrize("n", [1, 3])
def test_my_activities_needs_the_same_queries_for_1_and_3_activities(world, n):
    staff = staff_of(world.gd_amr)
    for i in range(n):
        activity = world.draft(world.zj_amr, title=f"合办{i}")
        activity.co_organisers.add(world.gd_amr)
        world.activity(world.gd_amr, title=f"自办{i}", region=world.tianhe)
    client = browser(staff)
    client.get(workspace_url())  # warm up: session, content types

    with CaptureQueriesContext(connection) as queries:
        response = client.get(workspace_url())

    assert len(response.context["page"]) == 2 * n
    # session, user, 3 role look-ups, current campaign (context processor and view), campaigns,
    # department, key arrangements, status counts, page count, page rows.
    assert len(queries) == 13, "\n".join(q["sql"] for q in queries.captured_queries)


# --- create ---------------------------------------------------------------------------------------


def test_the_form_offers_the_current_campaigns_headings_and_explains_itself(world):
    response = browser(staff_of(world.gd_amr)).get(reverse("activities:activity_create"))

    assert response.status_code == 200
    text = page(response)
    for heading in list(world.campaign.key_arrangements.all()) + list(
        world.campaign.content_areas.all()
    ):
        assert heading.title_en in text
    assert "hitchhiking fees" in text  # the circular's words under the declaration
    assert 'type="datetime-local"' in text
    assert "Save as draft" in text and "Save and submit for review" in text
    assert 'data-region-picker data-api="/api/v1/regions/"' in text
    # The department's own region is chosen to start with.
    assert response.context["form"]["region_province"].value() == "440000"


def test_staff_save_a_draft(world):
    staff = staff_of(world.gd_amr)

    response = browser(staff).post(reverse("activities:activity_create"), form_data(world))

    activity = Activity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == manage_url(activity)
    assert activity.status == ActivityStatus.DRAFT
    assert activity.organiser == world.gd_amr
    assert activity.campaign == world.campaign
    assert activity.region == world.guangzhou
    assert activity.starts_at == local("2024-09-10T09:00")
    assert list(activity.content_areas.values_list("number", flat=True)) == [2]
    assert activity.created_by == staff
    assert AuditLogEntry.objects.for_object(activity).get().action == "activities.activity.created"


def test_a_draft_needs_no_declaration_summary_or_contact(world):
    data = form_data(world, summary="", content_areas=None, contact_name="", no_fee_declared=None)

    response = browser(staff_of(world.gd_amr)).post(reverse("activities:activity_create"), data)

    assert response.status_code == 302
    assert Activity.objects.get().no_fee_declared is False


def test_validation_messages_stand_next_to_their_fields_and_input_is_kept(world):
    data = form_data(world, ends_at="2024-09-10T08:00", venue="", online_url="", title="我的标题")

    response = browser(staff_of(world.gd_amr)).post(reverse("activities:activity_create"), data)

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["ends_at"] == ["An activity must end after it starts."]
    assert form.errors["venue"] == ["Give a venue, an online link, or both."]
    text = page(response)
    assert 'value="我的标题"' in text
    assert 'value="2024-09-10T08:00"' in text
    assert "企业走进检测实验室" in text
    assert 'href="#field-ends_at"' in text  # the summary above the form links to the field
    assert not Activity.objects.exists()


def test_the_region_is_required_and_must_lie_in_the_province_chosen(world):
    client = browser(staff_of(world.gd_amr))
    url = reverse("activities:activity_create")

    missing = client.post(url, form_data(world, region_province="", region_city=""))
    assert (
        "Choose the province where the activity takes place."
        in missing.context["form"].errors["region"]
    )
    elsewhere = client.post(url, form_data(world, region_province="330000"))
    assert "does not lie in" in elsewhere.context["form"].errors["region"][0]
    assert not Activity.objects.exists()


def test_the_region_lists_follow_the_province_without_javascript(world):
    data = form_data(world, region_province="440000", region_city="", _regions="1", title="未完")

    response = browser(staff_of(world.gd_amr)).post(reverse("activities:activity_create"), data)

    assert response.status_code == 200
    form = response.context["form"]
    assert ("440100", "Guangzhou") in form.fields["region_city"].widget.choices
    assert not form.errors  # nothing judged yet
    assert 'value="未完"' in page(response)
    assert not Activity.objects.exists()


def test_a_county_can_be_chosen(world):
    data = form_data(world, region_city="440100", region_county="440106")

    browser(staff_of(world.gd_amr)).post(reverse("activities:activity_create"), data)

    assert Activity.objects.get().region == world.tianhe


def test_save_and_submit_a_complete_activity(world, django_capture_on_commit_callbacks):
    reviewer_for(None)

    with django_capture_on_commit_callbacks(execute=True):
        response = browser(staff_of(world.gd_amr)).post(
            reverse("activities:activity_create"), form_data(world, action="submit")
        )

    activity = Activity.objects.get()
    assert response["Location"] == manage_url(activity)
    assert activity.status == ActivityStatus.SUBMITTED
    assert activity.submitted_at is not None
    assert len(mail.outbox) == 1  # the reviewer is told


def test_save_and_submit_an_incomplete_activity_keeps_the_draft_and_marks_what_is_missing(world):
    client = browser(staff_of(world.gd_amr))
    data = form_data(world, action="submit", summary="", no_fee_declared=None)

    response = client.post(reverse("activities:activity_create"), data)

    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.DRAFT
    assert response["Location"] == edit_url(activity) + "?check=1"
    marked = client.get(response["Location"])
    errors = marked.context["form"].errors
    missing = needed(activity)
    assert set(missing) == {"summary", "no_fee_declared"}
    assert errors["summary"] == [missing["summary"]]
    assert errors["no_fee_declared"] == [missing["no_fee_declared"]]
    assert "Saved as a draft, but not submitted yet" in page(marked)


def test_administrators_register_on_behalf_of_a_department(world):
    client = browser(factories.AdminFactory())

    response = client.post(
        reverse("activities:activity_create"), form_data(world, organiser=world.zj_amr.pk)
    )

    assert response.status_code == 302
    assert Activity.objects.get().organiser == world.zj_amr


def test_the_organiser_is_not_offered_as_its_own_co_organiser(world):
    response = browser(staff_of(world.gd_amr)).get(reverse("activities:activity_create"))

    offered = response.context["form"].fields["co_organisers"].queryset
    offered = set(offered.values_list("pk", flat=True))
    assert world.gd_amr.pk not in offered
    assert world.zj_amr.pk in offered


# --- edit ---------------------------------------------------------------------------------------


def test_staff_edit_a_draft(world):
    draft = world.draft(world.gd_amr, region=world.tianhe)
    client = browser(staff_of(world.gd_amr))
    form = client.get(edit_url(draft))
    assert form.status_code == 200
    assert f'name="version" value="{draft.version}"' in page(form)
    picked = [
        form.context["form"][f"region_{level}"].value() for level in ("province", "city", "county")
    ]
    assert picked == ["440000", "440100", "440106"]

    response = client.post(
        edit_url(draft), form_data(world, title="改过的标题", version=draft.version)
    )

    assert response["Location"] == manage_url(draft)
    draft.refresh_from_db()
    assert draft.title == "改过的标题"
    assert draft.version == 2
    changed = AuditLogEntry.objects.for_object(draft).get(action="activities.activity.changed")
    assert changed.changes["title"][1] == "改过的标题"


def test_a_stale_form_is_refused_and_keeps_the_persons_input(world):
    draft = world.draft(world.gd_amr, title="原标题")
    colleague = staff_of(world.gd_amr)
    colleague.full_name = "王同事"
    colleague.save()
    activity_update(draft, actor=colleague, expected_version=1, title="同事改的标题")

    response = browser(staff_of(world.gd_amr)).post(
        edit_url(draft), form_data(world, title="我的标题", version=1)
    )

    assert response.status_code == 409
    text = page(response)
    assert "王同事 saved this activity at" in text
    assert 'value="我的标题"' in text
    assert "Saved meanwhile:" in text and "同事改的标题" in text
    draft.refresh_from_db()
    assert draft.title == "同事改的标题"
    # The form now carries the current version: saving again replaces it deliberately.
    assert response.context["form"]["version"].value() == "2"


def test_after_a_conflict_saving_again_replaces_the_saved_version(world):
    draft = world.draft(world.gd_amr)
    activity_update(draft, actor=staff_of(world.gd_amr), expected_version=1, title="同事改的")

    browser(staff_of(world.gd_amr)).post(edit_url(draft), form_data(world, title="我的", version=2))

    draft.refresh_from_db()
    assert (draft.title, draft.version) == ("我的", 3)


def test_only_drafts_and_returned_activities_are_editable(world):
    submitted = world.activity(world.gd_amr, status=ActivityStatus.SUBMITTED)
    client = browser(staff_of(world.gd_amr))

    opened = client.get(edit_url(submitted), follow=True)
    assert opened.redirect_chain[-1][0] == manage_url(submitted)
    assert "Withdraw the submission first" in page(opened)

    posted = client.post(edit_url(submitted), form_data(world, title="偷偷改", version=1))
    assert posted.status_code == 400
    assert "Only a draft or an activity returned for revision can be changed" in page(posted)
    assert 'value="偷偷改"' in page(posted)
    submitted.refresh_from_db()
    assert submitted.title != "偷偷改"


def test_edit_and_submit(world):
    draft = world.draft(world.gd_amr)

    response = browser(staff_of(world.gd_amr)).post(
        edit_url(draft), form_data(world, action="submit", version=1)
    )

    assert response["Location"] == manage_url(draft)
    draft.refresh_from_db()
    assert draft.status == ActivityStatus.SUBMITTED


def _returned(world, staff, reviewer):
    activity = world.draft(world.gd_amr, title="待修改的活动")
    activity.content_areas.add(world.campaign.content_areas.first())
    activity_submit(activity, actor=staff)
    activity_return(
        activity,
        actor=reviewer,
        comment="请补充活动安排。",
        field_comments={"venue": "请写明具体地址和房间号。"},
    )
    return activity


def test_a_returned_activity_shows_the_reviewers_comments_next_to_the_fields(world):
    staff = staff_of(world.gd_amr)
    reviewer = reviewer_for(None)
    reviewer.full_name = "审核员张"
    reviewer.save()
    returned = _returned(world, staff, reviewer)
    client = browser(staff)

    manage = page(client.get(manage_url(returned)))
    assert "Returned for revision" in manage
    assert "请补充活动安排。" in manage
    assert "请写明具体地址和房间号。" in manage
    assert "审核员张" in manage

    form = client.get(edit_url(returned))
    assert form.context["form"].fields["venue"].review_comment == "请写明具体地址和房间号。"
    assert "The reviewer asked:" in page(form)


# --- the activity's page and its actions ---------------------------------------------------------


def test_the_page_offers_the_organisers_actions(world):
    draft = world.draft(world.gd_amr)
    draft.content_areas.add(world.campaign.content_areas.first())
    client = browser(staff_of(world.gd_amr))

    text = page(client.get(manage_url(draft)))

    assert edit_url(draft) in text
    assert transition_url(draft, "submit") in text
    assert transition_url(draft, "withdraw") not in text
    assert transition_url(draft, "cancel") not in text


def test_submit_and_withdraw_from_the_page(world):
    draft = world.draft(world.gd_amr)
    draft.content_areas.add(world.campaign.content_areas.first())
    client = browser(staff_of(world.gd_amr))

    submitted = client.post(transition_url(draft, "submit"), {"version": 1}, follow=True)
    draft.refresh_from_db()
    assert draft.status == ActivityStatus.SUBMITTED
    assert "Submitted for review" in page(submitted)
    assert transition_url(draft, "withdraw") in page(submitted)

    withdrawn = client.post(transition_url(draft, "withdraw"), {"version": 2}, follow=True)
    draft.refresh_from_db()
    assert draft.status == ActivityStatus.DRAFT
    assert "a draft again" in page(withdrawn)


def test_submitting_an_incomplete_activity_from_the_page_leads_to_the_marked_form(world):
    draft = world.draft(world.gd_amr)  # no content area yet
    client = browser(staff_of(world.gd_amr))

    response = client.post(transition_url(draft, "submit"), {"version": 1})

    assert response["Location"] == edit_url(draft) + "?check=1"
    draft.refresh_from_db()
    assert draft.status == ActivityStatus.DRAFT
    marked = client.get(response["Location"])
    assert marked.context["form"].errors["content_areas"] == [needed(draft)["content_areas"]]


def test_acting_on_a_stale_page_is_refused_with_a_clear_message(world):
    draft = world.draft(world.gd_amr)
    draft.content_areas.add(world.campaign.content_areas.first())
    colleague = staff_of(world.gd_amr)
    colleague.full_name = "王同事"
    colleague.save()
    activity_submit(draft, actor=colleague, expected_version=1)

    # The page was loaded before the colleague submitted: it still offers "submit".
    response = browser(staff_of(world.gd_amr)).post(
        transition_url(draft, "submit"), {"version": 1}, follow=True
    )

    assert response.status_code == 200
    assert "This was already handled by 王同事" in error_messages(response)[0]
    draft.refresh_from_db()
    assert (draft.status, draft.version) == (ActivityStatus.SUBMITTED, 2)


def test_an_illegal_transition_is_a_message_not_an_error_page(world):
    approved = world.activity(world.gd_amr)

    response = browser(staff_of(world.gd_amr)).post(
        transition_url(approved, "withdraw"), follow=True
    )

    assert response.status_code == 200
    assert "“Approved (published)”" in error_messages(response)[0]


def test_cancel_asks_for_a_reason(world):
    approved = world.activity(world.gd_amr)
    client = browser(staff_of(world.gd_amr))

    refused = client.post(transition_url(approved, "cancel"), {"reason": "  ", "version": 1})
    assert refused.status_code == 400
    assert refused.context["cancel_form"].errors["reason"] == ["This field is required."]
    approved.refresh_from_db()
    assert approved.status == ActivityStatus.APPROVED

    done = client.post(
        transition_url(approved, "cancel"),
        {"reason": "台风预警，活动延期。", "version": 1},
        follow=True,
    )
    approved.refresh_from_db()
    assert approved.status == ActivityStatus.CANCELLED
    assert approved.cancellation_reason == "台风预警，活动延期。"
    assert "台风预警，活动延期。" in page(done)


def test_cancel_on_a_stale_page_keeps_the_reason(world):
    approved = world.activity(world.gd_amr, version=2)

    response = browser(staff_of(world.gd_amr)).post(
        transition_url(approved, "cancel"), {"reason": "场地无法使用。", "version": 1}
    )

    assert response.status_code == 409
    assert "场地无法使用。" in page(response)
    refusal = response.context["cancel_form"].non_field_errors()
    assert len(refusal) == 1 and "“Approved (published)”" in refusal[0]
    approved.refresh_from_db()
    assert approved.status == ActivityStatus.APPROVED


def test_the_page_shows_the_full_history_newest_first_in_words(world):
    staff = staff_of(world.gd_amr)
    staff.full_name = "组织者李"
    staff.save()
    reviewer = reviewer_for(None)
    returned = _returned(world, staff, reviewer)
    activity_update(returned, actor=staff, expected_version=returned.version, venue="新地址")

    response = browser(staff).get(manage_url(returned))

    history = response.context["history"]
    assert [entry["action"] for entry in history] == [
        "Details changed",
        "Returned for revision",
        "Submitted for review",
    ]
    assert history[0]["who"] == "组织者李"
    assert history[0]["changes"][0]["after"] == "新地址"
    assert history[1]["comment"] == "请补充活动安排。"
    assert history[1]["field_comments"] == [("venue", "请写明具体地址和房间号。")]
    text = page(response)
    assert text.index("Details changed") < text.index("Submitted for review")


# --- co-organisers ----------------------------------------------------------------------------


def test_co_organisers_see_the_activity_read_only(world):
    draft = world.draft(world.gd_amr)
    draft.content_areas.add(world.campaign.content_areas.first())
    draft.co_organisers.add(world.zj_amr)
    client = browser(staff_of(world.zj_amr))

    response = client.get(manage_url(draft))

    assert response.status_code == 200
    text = page(response)
    assert "you see it read-only" in text
    assert edit_url(draft) not in text
    assert transition_url(draft, "submit") not in text


def test_co_organisers_cannot_edit_submit_withdraw_or_cancel(world):
    draft = world.draft(world.gd_amr)
    draft.content_areas.add(world.campaign.content_areas.first())
    draft.co_organisers.add(world.zj_amr)
    approved = world.activity(world.gd_amr)
    approved.co_organisers.add(world.zj_amr)
    client = browser(staff_of(world.zj_amr))

    assert client.get(edit_url(draft)).status_code == 403
    assert client.post(edit_url(draft), form_data(world, version=1)).status_code == 403
    assert client.post(transition_url(draft, "submit"), {"version": 1}).status_code == 403
    assert client.post(transition_url(approved, "cancel"), {"reason": "x"}).status_code == 403
    draft.refresh_from_db()
    approved.refresh_from_db()
    assert (draft.status, approved.status) == (ActivityStatus.DRAFT, ActivityStatus.APPROVED)


def test_without_a_campaign_nothing_can_be_registered(db):
    department = factories.DepartmentFactory()
    Campaign.objects.all().delete()

    response = browser(staff_of(department)).get(reverse("activities:activity_create"), follow=True)

    assert "No campaign is being prepared or open yet" in page(response)
