"""Real headless Chromium (Debian's chromium and chromium-driver) driven by Selenium.

`./portal test` installs the two packages when it can; where Chromium cannot be had the browser
tests skip with the reason (and a skip fails CI). One browser serves the whole session; every
test starts with no cookies, against pytest-django's `live_server` (a transactional database).
"""

import os
import shutil

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PORTAL_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT_SECONDS = 15

CHROMIUM_ARGUMENTS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1366,900",
]


def chromium_unavailable() -> str | None:
    """Why no browser test can run here, or None when Chromium is ready."""
    reason = os.environ.get("PORTAL_BROWSER_UNAVAILABLE")
    if reason:
        return reason
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        return (
            f"{' and '.join(missing)} not found; install Debian's chromium and chromium-driver "
            "(./portal test does so when run as root)"
        )
    return None


@pytest.fixture(scope="session")
def chromium(live_server, tmp_path_factory) -> WebDriver:
    # Asks for the live server first so that Chromium, and its keep-alive connections, are gone
    # before the server stops (its request threads would otherwise outlive a shared SQLite).
    reason = chromium_unavailable()
    if reason:
        pytest.skip(f"no Chromium for the browser tests: {reason}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    profile = tmp_path_factory.mktemp("chromium-profile")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _gone(element: WebElement):
    """Like `ec.staleness_of`, also when Chromium, asked while the old page unloads, answers
    "Node with given id does not belong to the document" instead of "stale element"."""

    def check(_driver) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    return check


class Browser:
    """The few things a test does with a page, in the words of a person using it."""

    def __init__(self, driver: WebDriver, base_url: str):
        self.driver = driver
        self.base_url = base_url

    def visit(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base_url).split("?")[0]

    @property
    def language(self) -> str:
        return self.find("html").get_attribute("lang")

    @property
    def text(self) -> str:
        return self.find("body").text

    def find(self, css: str) -> WebElement:
        return WebDriverWait(self.driver, WAIT_SECONDS).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def submit_and_wait(self, button: WebElement) -> None:
        """Click a button that loads a new page, and wait until it has."""
        old_page = self.find("html")
        button.click()
        WebDriverWait(self.driver, WAIT_SECONDS).until(_gone(old_page))
        self.find("body")

    def cookie(self, name: str) -> str | None:
        found = self.driver.get_cookie(name)
        return found["value"] if found else None


@pytest.fixture
def browser(chromium, live_server) -> Browser:
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    return Browser(chromium, live_server.url)
