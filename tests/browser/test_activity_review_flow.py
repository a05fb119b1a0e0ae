"""One activity from draft to approved, returned once on the way, in a real browser: department
staff register and submit it in the workspace, a reviewer returns it with comments, the staff
read them, revise and resubmit, and the reviewer sees the change and approves."""

import pytest
from selenium.webdriver.common.by import By

from activities.enums import ActivityStatus, CampaignStatus
from activities.models import Activity
from qualitymonth.models import ReviewDecision, ReviewDecisionKind
from tests import factories

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # the factories' password
TITLE = "Quality open day at the Hangzhou testing centre"


def log_in_as(browser, person) -> None:
    """Start afresh (no cookies) and log in; pages in English, the language asserted below."""
    browser.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.visit("/accounts/login/")
    browser.driver.add_cookie({"name": "django_language", "value": "en", "path": "/"})
    browser.fill("#id_username", person.email)
    browser.fill("#id_password", PASSWORD)
    form = browser.find("#id_password").find_element(By.XPATH, "./ancestor::form")
    browser.submit_and_wait(form.find_element(By.CSS_SELECTOR, "[type='submit']"))
    assert browser.cookie("sessionid"), f"{person.email} could not log in"


def set_value(browser, css: str, value: str) -> None:
    """Type into a date-and-time field the way the browser's picker would fill it."""
    field = browser.find(css)
    browser.driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        field,
        value,
    )


def click(browser, css: str) -> None:
    element = browser.find(css)
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def press(browser, css: str) -> None:
    """Press a button that loads a new page."""
    button = browser.find(css)
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    browser.submit_and_wait(button)


def messages(browser) -> str:
    return " ".join(m.text for m in browser.find_all(".messages li"))


@pytest.fixture
def world():
    campaign = factories.CampaignFactory(year=2030, status=CampaignStatus.OPEN)
    arrangement = factories.KeyArrangementFactory(
        campaign=campaign, number=1, title_en="Mass quality activities"
    )
    area = factories.ContentAreaFactory(
        campaign=campaign, number=1, title_en="Promote social co-governance of quality"
    )
    zhejiang = factories.ProvinceFactory(code="330000", name_zh="浙江省", name_en="Zhejiang")
    bureau = factories.DepartmentFactory(
        region=zhejiang, name_en="Zhejiang Administration for Market Regulation"
    )
    staff = factories.DepartmentMembershipFactory(
        department=bureau, user__full_name="Chen Staff"
    ).user
    reviewer = factories.ReviewerAssignmentFactory(user__full_name="Wang Reviewer").user
    return {
        "campaign": campaign,
        "arrangement": arrangement,
        "area": area,
        "staff": staff,
        "reviewer": reviewer,
    }


def test_an_activity_goes_from_draft_to_approved_after_one_return(browser, world):
    staff, reviewer = world["staff"], world["reviewer"]

    # 1. The department's staff register the activity as a draft ...
    log_in_as(browser, staff)
    browser.visit("/workspace/activities/new/")
    browser.fill("#id_title", TITLE)
    browser.fill("#id_summary", "Enterprises visit the laboratories and meet the inspectors.")
    click(browser, f"input[name='key_arrangement'][value='{world['arrangement'].pk}']")
    click(browser, f"input[name='content_areas'][value='{world['area'].pk}']")
    browser.fill("#id_venue", "Hangzhou testing centre")
    set_value(browser, "#id_starts_at", "2030-09-12T09:00")
    set_value(browser, "#id_ends_at", "2030-09-12T12:00")
    browser.fill("#id_contact_name", "Ms Zhou")
    browser.fill("#id_contact_phone", "0571-88888888")
    click(browser, "#id_no_fee_declared")
    press(browser, ".form-actions button[name='action'][value='save']")
    assert "Saved as a draft" in messages(browser)
    activity = Activity.objects.get(title=TITLE)
    assert activity.status == ActivityStatus.DRAFT

    # ... and submit it for review from its page.
    browser.visit(f"/workspace/activities/{activity.pk}/")
    press(browser, "form[action$='/submit/'] button[type='submit']")
    assert "Submitted for review" in messages(browser)
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.SUBMITTED

    # 2. The reviewer finds it in the queue and returns it, with a comment on the venue.
    log_in_as(browser, reviewer)
    browser.visit("/review/activities/")
    assert TITLE in browser.text
    press(browser, f"a[href='/review/activities/{activity.pk}/']")
    assert "Changes since the last review" not in browser.text
    browser.fill("#id_comment", "Please say where exactly enterprises should come.")
    click(browser, ".field-comments summary")
    browser.fill("#id_comment_on_venue", "Which building and room?")
    press(browser, "button[name='action'][value='return']")
    assert "returned to its organiser for revision" in messages(browser)
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.RETURNED

    # 3. The staff see the comments, revise the venue and submit again.
    log_in_as(browser, staff)
    browser.visit(f"/workspace/activities/{activity.pk}/")
    page = browser.text
    assert "Returned for revision" in page
    assert "Please say where exactly enterprises should come." in page
    assert "Which building and room?" in page
    browser.visit(f"/workspace/activities/{activity.pk}/edit/")
    assert "Which building and room?" in browser.text  # next to the field being revised
    browser.fill("#id_venue", "Hangzhou testing centre, building B, room 101")
    press(browser, ".form-actions button[name='action'][value='submit']")
    assert "Submitted for review" in messages(browser)
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.SUBMITTED

    # 4. The reviewer sees what changed, and approves.
    log_in_as(browser, reviewer)
    browser.visit("/review/activities/")
    assert "Revised and resubmitted" in browser.text
    browser.visit(f"/review/activities/{activity.pk}/")
    changes = browser.find(".review-changes").text
    assert "Changes since the last review" in changes
    assert "Which building and room?" in changes
    added = [element.text for element in browser.find_all(".review-diff ins")]
    assert any("building B, room 101" in text for text in added), added
    browser.fill("#id_comment", "Thank you, approved.")
    press(browser, "button[name='action'][value='approve']")
    assert "is approved and published" in messages(browser)
    assert "Nothing is waiting for review." in browser.text

    activity.refresh_from_db()
    assert activity.status == ActivityStatus.APPROVED
    assert [d.decision for d in ReviewDecision.objects.order_by("created_at", "pk")] == [
        ReviewDecisionKind.RETURNED,
        ReviewDecisionKind.APPROVED,
    ]

    # The staff see it published.
    log_in_as(browser, staff)
    browser.visit(f"/workspace/activities/{activity.pk}/")
    assert "Approved and published" in browser.text
