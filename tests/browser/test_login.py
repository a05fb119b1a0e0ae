import pytest

from tests import factories

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # the factories' password


def log_in(browser, email: str, password: str) -> None:
    browser.visit("/accounts/login/")
    browser.fill("#id_username", email)
    browser.fill("#id_password", password)
    form = browser.find("#id_password").find_element("xpath", "./ancestor::form")
    browser.submit_and_wait(form.find_element("css selector", "[type='submit']"))


def test_a_person_logs_in_with_email_and_password_and_logs_out(browser):
    person = factories.UserFactory(email="li.na@example.cn", full_name="李娜")

    log_in(browser, "li.na@example.cn", PASSWORD)

    assert browser.path != "/accounts/login/"
    assert browser.cookie("sessionid")
    assert person.full_name in browser.text

    logout = browser.find("form[action$='/accounts/logout/'] [type='submit']")
    browser.submit_and_wait(logout)

    assert browser.cookie("sessionid") is None
    assert person.full_name not in browser.text
    assert browser.find_all("a[href*='/accounts/login/']")


def test_a_wrong_password_keeps_the_person_out(browser):
    factories.UserFactory(email="li.na@example.cn")

    log_in(browser, "li.na@example.cn", "not-the-password")

    assert browser.path == "/accounts/login/"
    assert browser.cookie("sessionid") is None
    assert browser.find_all(".errors, .errorlist")
