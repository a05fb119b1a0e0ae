"""The last seat and the waiting list, in a real browser: one enterprise signs up for a one-seat
activity and is confirmed, a second joins the waiting list, the first withdraws, and the second
finds itself confirmed with a check-in code."""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from registrations.enums import RegistrationStatus
from registrations.models import Registration
from tests import factories

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # the factories' password


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


def press(browser, css: str) -> None:
    """Press a button or follow a link that loads a new page."""
    element = browser.find(css)
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    browser.submit_and_wait(element)


def messages(browser) -> str:
    return " ".join(m.text for m in browser.find_all(".messages li"))


def sign_up(browser, activity, name: str, mobile: str) -> None:
    browser.visit(f"/registrations/activity/{activity.pk}/sign-up/")
    browser.fill("#id_attendees-0-name", name)
    browser.fill("#id_attendees-0-mobile", mobile)
    press(browser, ".signup-form [type='submit']")


@pytest.fixture
def world():
    now = timezone.now()
    starts = now + dt.timedelta(days=7)
    activity = factories.ActivityFactory(
        title="Quality management training",
        capacity=1,
        attendees_per_enterprise=2,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=3),
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=starts - dt.timedelta(days=1),
    )
    first = factories.EnterpriseRepresentativeFactory(
        enterprise__name="Hangzhou Precision Co.", user__full_name="Li First"
    )
    second = factories.EnterpriseRepresentativeFactory(
        enterprise__name="Ningbo Bearings Co.", user__full_name="Zhao Second"
    )
    return {"activity": activity, "first": first, "second": second}


def test_the_last_seat_the_waiting_list_and_promotion_after_a_withdrawal(browser, world):
    activity, first, second = world["activity"], world["first"], world["second"]

    # The first enterprise takes the only seat.
    log_in_as(browser, first.user)
    browser.visit(f"/registrations/activity/{activity.pk}/sign-up/")
    assert "1 of 1" in browser.text  # seats left
    assert "voluntary and free of charge" in browser.text
    assert browser.find("#id_contact_name").get_attribute("value") == first.enterprise.contact_name
    # With the script, only the first attendee row shows until another is asked for.
    assert not browser.find("#id_attendees-1-name").is_displayed()
    sign_up(browser, activity, "Li Si", "13800000001")
    assert "Your enterprise is registered" in messages(browser)
    confirmed = Registration.objects.get(enterprise=first.enterprise)
    assert confirmed.status == RegistrationStatus.CONFIRMED
    assert confirmed.check_in_code in browser.find(".check-in-code").text
    assert browser.find(".check-in-qr svg").is_displayed()

    # The second finds the activity full and joins the waiting list.
    log_in_as(browser, second.user)
    browser.visit(f"/registrations/activity/{activity.pk}/sign-up/")
    assert "Full: waiting list" in browser.text
    assert browser.find(".signup-form [type='submit']").text == "Join the waiting list"
    sign_up(browser, activity, "Wang Wu", "13900000002")
    assert "on the waiting list" in messages(browser)
    assert "On the waiting list, in place 1" in browser.text
    assert not browser.find_all(".check-in-code")

    # The first withdraws, after confirming, from "My registrations".
    log_in_as(browser, first.user)
    browser.visit("/registrations/")
    assert activity.title in browser.find("#upcoming").text
    press(browser, f"#upcoming a[href='/registrations/{confirmed.pk}/withdraw/']")
    assert "Withdraw the registration?" in browser.text
    browser.fill("#id_reason", "Schedule clash")
    press(browser, ".withdraw [type='submit']")
    assert browser.path == "/registrations/"
    assert "is withdrawn" in messages(browser)
    assert activity.title in browser.find("#ended").text

    # The second is now confirmed, with its own check-in code.
    log_in_as(browser, second.user)
    browser.visit("/registrations/")
    upcoming = browser.find("#upcoming").text
    assert activity.title in upcoming
    assert "Confirmed" in upcoming
    promoted = Registration.objects.get(enterprise=second.enterprise)
    assert promoted.status == RegistrationStatus.CONFIRMED
    press(browser, f"#upcoming a[href='/registrations/{promoted.pk}/']")
    assert promoted.check_in_code in browser.find(".check-in-code").text
