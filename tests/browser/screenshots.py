"""Screenshots of portal pages at phone and desktop widths, in Chinese and English.

Run by hand against a running portal, to look at the pages (not a test):

    .venv/bin/python tests/browser/screenshots.py http://127.0.0.1:8000 / /no-such-page/ \\
        /accounts/login/ --admin-pages /admin/ /admin/activities/activity/ \\
        --login admin@example.cn:password

PNGs go to ./screenshots/ (ignored by git), named [signed-in-]<page>-<language>-<width>.png.
Uses the system's Chromium and chromedriver (Debian packages chromium, chromium-driver) via
Selenium.
"""

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import urljoin

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
LANGUAGES = ("zh-hans", "en")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1366,900",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def page_name(path: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return name or "home"


def log_in(driver, base_url: str, credentials: str) -> None:
    """Sign in through the portal's own login form (works for every role, unlike the admin's)."""
    email, _, password = credentials.partition(":")
    driver.get(urljoin(base_url, "/accounts/login/"))
    driver.find_element(By.NAME, "username").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "main [type=submit]").click()
    try:
        WebDriverWait(driver, 10).until(lambda d: "/accounts/login/" not in d.current_url)
    except TimeoutException:
        sys.exit(f"Could not log in as {email}: check the credentials.")


def set_language(driver, base_url: str, language: str) -> None:
    driver.get(urljoin(base_url, "/static/css/portal.css"))  # any page on the portal's origin
    driver.delete_cookie("django_language")
    driver.add_cookie({"name": "django_language", "value": language, "path": "/"})


def shoot(driver, url: str, size: tuple[int, int], target: Path, full_page: bool) -> None:
    width, height = size
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.get(url)
    if full_page:
        full = driver.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
        )
        metrics["height"] = max(height, min(int(full), 8000))
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    target.write_bytes(driver.get_screenshot_as_png())
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="the running portal, e.g. http://127.0.0.1:8000")
    parser.add_argument("pages", nargs="*", default=["/"], help="paths to photograph")
    parser.add_argument("--admin-pages", nargs="*", default=[], help="paths shot after login")
    parser.add_argument("--login", help="email:password of an administrator for --admin-pages")
    parser.add_argument("--out", default="screenshots", type=Path, help="folder for the PNGs")
    parser.add_argument("--viewport-only", action="store_true", help="not the whole page")
    parser.add_argument("--sizes", nargs="*", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--languages", nargs="*", default=list(LANGUAGES), choices=LANGUAGES)
    args = parser.parse_args(argv)
    if args.admin_pages and not args.login:
        parser.error("--admin-pages needs --login")

    args.out.mkdir(parents=True, exist_ok=True)
    driver = browser()
    written = []
    try:
        batches = [(args.pages, None), (args.admin_pages, args.login)]
        for pages, credentials in batches:
            if not pages:
                continue
            if credentials:
                log_in(driver, args.base_url, credentials)
            for language in args.languages:
                set_language(driver, args.base_url, language)
                for path in pages:
                    for size_name in args.sizes:
                        who = "signed-in-" if credentials else ""
                        name = f"{who}{page_name(path)}-{language}-{size_name}.png"
                        target = args.out / name
                        shoot(
                            driver,
                            urljoin(args.base_url, path),
                            SIZES[size_name],
                            target,
                            full_page=not args.viewport_only,
                        )
                        written.append(target)
    finally:
        driver.quit()
    for target in written:
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
