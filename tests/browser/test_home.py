import pytest

from tests import factories

pytestmark = pytest.mark.browser

THEME_ZH = "加强质量支撑 建设质量强国"
THEME_EN = "Strengthen quality support and build a strong quality country"


def switch_language(browser, language: str) -> None:
    """Use the layout's language switch (a plain link per language) like a visitor would."""
    link = browser.find(f".language-switch a[hreflang='{language}']")
    browser.submit_and_wait(link)


@pytest.fixture
def campaign():
    return factories.CampaignFactory(year=2024, theme_zh=THEME_ZH, theme_en=THEME_EN)


def test_home_page_shows_the_campaign_theme(browser, campaign):
    browser.visit("/")

    assert browser.language == "zh-hans"
    assert THEME_ZH in browser.text


def test_language_switch_turns_the_page_to_english_and_back(browser, campaign):
    browser.visit("/")

    switch_language(browser, "en")
    assert browser.language == "en"
    assert THEME_EN in browser.text
    assert THEME_ZH not in browser.text

    browser.visit("/")  # the choice is remembered on the next page
    assert browser.language == "en"

    switch_language(browser, "zh-hans")
    assert browser.language == "zh-hans"
    assert THEME_ZH in browser.text
