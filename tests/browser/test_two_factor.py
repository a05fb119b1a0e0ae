"""An administrator sets up two-factor authentication in a real browser, on a phone-sized and a
desktop-sized window, typing the key by hand as someone without a camera would."""

import os
from base64 import b32decode

import pytest
from django_otp.oath import totp

from tests import factories

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # the factories' password
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}


def code_from(secret: str, steps_ahead: int = 0) -> str:
    key = b32decode(secret.replace(" ", ""))
    return f"{totp(key, drift=steps_ahead):06d}"


def fits_the_window(browser) -> bool:
    return browser.driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"
    )


def log_in(browser, email: str) -> None:
    browser.visit("/accounts/login/")
    browser.driver.add_cookie({"name": "django_language", "value": "en", "path": "/"})
    browser.fill("#id_username", email)
    browser.fill("#id_password", PASSWORD)
    form = browser.find("#id_password").find_element("xpath", "./ancestor::form")
    browser.submit_and_wait(form.find_element("css selector", "[type='submit']"))


def screenshot(browser, name: str) -> None:
    folder = os.environ.get("PORTAL_SCREENSHOTS")
    if folder:
        browser.driver.save_screenshot(os.path.join(folder, f"{name}.png"))


@pytest.mark.parametrize("size", SIZES)
def test_an_administrator_sets_it_up_and_signs_in_with_a_code(browser, settings, size):
    settings.TWO_FACTOR_REQUIRED = True
    browser.driver.set_window_size(*SIZES[size])
    admin = factories.AdminFactory(email=f"admin-{size}@example.cn")
    try:
        log_in(browser, admin.email)
        assert browser.path == "/accounts/two-factor/setup/"
        assert browser.find(".two-factor-qr svg").is_displayed()
        assert fits_the_window(browser)
        screenshot(browser, f"two-factor-setup-{size}")
        secret = browser.find(".two-factor-secret").text
        browser.fill("#id_code", code_from(secret))
        browser.submit_and_wait(browser.find("form.form [type='submit']"))

        assert browser.path == "/accounts/two-factor/backup-codes/"
        assert len(browser.find_all(".backup-codes li")) == 10
        assert fits_the_window(browser)
        screenshot(browser, f"two-factor-backup-codes-{size}")
        browser.submit_and_wait(browser.find(".notice .button.primary"))
        assert browser.path == "/accounts/profile/"

        browser.submit_and_wait(browser.find("form[action='/accounts/logout/'] button"))
        log_in(browser, admin.email)
        assert browser.path == "/accounts/login/code/"
        assert fits_the_window(browser)
        screenshot(browser, f"two-factor-code-{size}")
        browser.fill("#id_code", code_from(secret, 1))
        browser.submit_and_wait(browser.find("form.form [type='submit']"))
        assert browser.path == "/accounts/profile/"
        assert "Two-factor authentication" in browser.text
    finally:
        browser.driver.set_window_size(*SIZES["desktop"])
