"""The newcomer's path: the logins README.md promises work on the data `./portal run` loads."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def readme_password() -> str:
    return re.search(r"the password is `([^`]+)`", README).group(1)


def readme_login(role: str) -> str:
    return re.search(rf"^\| {role} \| `([^`]+)` \|", README, re.MULTILINE).group(1)


@pytest.fixture
def demo_data(db):
    out = StringIO()
    call_command("seed_demo", activities=3, enterprises=3, registrations=3, stdout=out)
    return out.getvalue()


def test_seed_demo_prints_the_logins_the_readme_promises(demo_data):
    for role in ("platform administrator", "enterprise representative"):
        assert readme_login(role) in demo_data
    assert readme_password() in demo_data


@pytest.mark.browser
def test_the_readme_administrator_opens_the_admin(browser, demo_data):
    browser.visit("/admin/")
    browser.fill("#id_username", readme_login("platform administrator"))
    browser.fill("#id_password", readme_password())
    browser.submit_and_wait(browser.find("#login-form [type='submit']"))

    assert browser.path == "/admin/"
    assert browser.find_all("#content-main a[href$='/admin/activities/activity/']")


@pytest.mark.browser
def test_the_readme_enterprise_representative_signs_in(browser, demo_data):
    browser.visit("/accounts/login/")
    browser.fill("#id_username", readme_login("enterprise representative"))
    browser.fill("#id_password", readme_password())
    form = browser.find("#id_password").find_element("xpath", "./ancestor::form")
    browser.submit_and_wait(form.find_element("css selector", "[type='submit']"))

    assert browser.path != "/accounts/login/"
    assert browser.cookie("sessionid")
