"""A feedback report from start to submission in a real browser: department staff start the
report, fill in the summary and figures, add a typical case, upload two pictures and a video in
resumable chunks (progress bars shown), and submit; the reviewer sees the pictures, accepts and
publishes the case, and a visitor plays its video on the showcase."""

import os
import subprocess
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from activities.enums import CampaignStatus
from feedback.demo import demo_picture
from feedback.enums import MediaKind, MediaState, ReportStatus
from feedback.media_checks import find_executable
from feedback.models import FeedbackMedia, FeedbackReport
from tests import factories

from .test_activity_review_flow import click, log_in_as, messages, press

pytestmark = pytest.mark.browser


def make_video(path) -> None:
    """A real three-second H.264 clip of about 300 KB (ffmpeg is installed by ./portal test)."""
    ffmpeg = find_executable("ffmpeg")
    assert ffmpeg, "ffmpeg is needed for the video (./portal test installs it)"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
         "testsrc2=size=640x360:rate=25:duration=3", "-pix_fmt", "yuv420p",
         "-c:v", "libx264", "-b:v", "800k", str(path)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def world():
    campaign = factories.CampaignFactory(year=2030, status=CampaignStatus.OPEN)
    arrangement = factories.KeyArrangementFactory(
        campaign=campaign, number=1, title_en="Mass quality activities"
    )
    zhejiang = factories.ProvinceFactory(code="330000", name_zh="浙江省", name_en="Zhejiang")
    bureau = factories.DepartmentFactory(
        region=zhejiang, name_en="Zhejiang Administration for Market Regulation"
    )
    activity = factories.ActivityFactory(
        campaign=campaign, key_arrangement=arrangement, organiser=bureau, title="质量开放日"
    )
    staff = factories.DepartmentMembershipFactory(
        department=bureau, user__full_name="Chen Staff"
    ).user
    reviewer = factories.ReviewerAssignmentFactory(user__full_name="Wang Reviewer").user
    return {"campaign": campaign, "activity": activity, "staff": staff, "reviewer": reviewer}


def test_staff_upload_pictures_and_a_video_with_progress_and_submit_the_report(
    browser, world, tmp_path, settings
):
    # Small chunks, so that every file goes up in several requests and the bars move.
    settings.FEEDBACK_UPLOAD_CHUNK_BYTES = 64 * 1024
    pictures = []
    for n in range(2):
        path = tmp_path / f"site-photo-{n + 1}.jpg"
        path.write_bytes(demo_picture(n))
        pictures.append(path)
    video = tmp_path / "open-day.mp4"
    make_video(video)

    log_in_as(browser, world["staff"])
    browser.visit("/workspace/feedback/2030/")
    press(browser, "button[name='action'][value='start']")
    browser.fill("#id_summary", "Twelve activities for 3,400 people in September.")
    for name, value in (
        ("activities_held", "12"),
        ("participants", "3400"),
        ("enterprises_involved", "310"),
        ("media_reports", "25"),
    ):
        browser.fill(f"#id_{name}", value)
    click(browser, f"input[name='activities'][value='{world['activity'].pk}']")
    press(browser, "button[name='action'][value='save']:not(.default-action)")
    assert "saved" in messages(browser).lower()

    # A typical case, then its pictures and video.
    browser.visit("/workspace/feedback/2030/cases/new/")
    browser.fill("#id_title", "Open day at the testing centre")
    click(browser, "input[name='key_arrangement']")
    browser.fill("#id_body", "Four thousand visitors saw how products are tested.")
    click(browser, "#id_publication_consent")
    press(browser, "form button[name='action'][value='save'].primary")
    file_input = browser.find("form[data-uploader] input[type='file']")
    file_input.send_keys("\n".join(str(p) for p in [*pictures, video]))
    click(browser, "form[data-uploader] button[type='submit']")
    # The uploader takes over the form: a progress bar per file, then the files in the list.
    WebDriverWait(browser.driver, 10).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-upload-list] progress")) == 3
    )
    WebDriverWait(browser.driver, 60).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-media-list] [data-media-item]")) == 3
    )
    report = FeedbackReport.objects.get()
    media = list(FeedbackMedia.objects.filter(report=report).order_by("kind"))
    assert sorted(m.kind for m in media) == [MediaKind.PICTURE, MediaKind.PICTURE, MediaKind.VIDEO]
    assert all(m.case_id is not None for m in media)
    assert report.uploads.filter(state="complete").count() == 3
    # Thumbnails and the poster frame are made in the background (eagerly here).
    deadline = time.monotonic() + 30
    while FeedbackMedia.objects.exclude(state=MediaState.READY).exists():
        assert time.monotonic() < deadline, "media still being processed"
        time.sleep(0.2)
    assert FeedbackMedia.objects.get(kind=MediaKind.VIDEO).poster

    browser.visit("/workspace/feedback/2030/")
    press(browser, "button[name='action'][value='submit']")
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED, messages(browser)

    # The reviewer sees the case's pictures (served through the permission check) and accepts.
    log_in_as(browser, world["reviewer"])
    browser.visit(f"/review/feedback/{report.pk}/")
    statuses = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const urls = Array.from(document.images).map(i => i.src)"
        "  .filter(u => u.includes('/feedback/media/'));"
        "Promise.all(urls.map(u => fetch(u).then(r => r.status))).then(done);"
    )
    assert statuses and set(statuses) == {200}, statuses
    press(browser, "button[name='action'][value='accept']")
    report.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED

    # Published, the case is public: anyone plays its video (seeking uses Range requests).
    press(browser, "form[action*='/publish/'] button[type='submit']")
    case = report.cases.get()
    assert case.published_at is not None
    browser.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.visit(f"/cases/{case.pk}/")
    WebDriverWait(browser.driver, 20).until(
        lambda d: d.execute_script(
            "const v = document.querySelector('video'); return v && v.readyState >= 1;"
        )
    )
    duration = browser.driver.execute_script("return document.querySelector('video').duration;")
    assert 2.5 < duration < 3.5
    assert os.path.exists(video)
