import pytest

from tests import factories

pytestmark = pytest.mark.browser


def test_an_administrator_logs_into_the_admin_and_opens_a_changelist(browser):
    factories.AdminFactory(email="admin@samr.gov.cn")
    campaign = factories.CampaignFactory(year=2024)

    browser.visit("/admin/")
    assert browser.path == "/admin/login/"
    browser.fill("#id_username", "admin@samr.gov.cn")
    browser.fill("#id_password", "correct-horse-battery")
    browser.submit_and_wait(browser.find("#login-form [type='submit']"))

    assert browser.path == "/admin/"
    browser.submit_and_wait(browser.find("#content-main a[href$='/admin/activities/campaign/']"))

    assert browser.path == "/admin/activities/campaign/"
    assert campaign.name_zh in browser.find("#result_list").text  # the admin speaks Chinese
