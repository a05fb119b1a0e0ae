"""The public showcase of typical cases and the reviewers' publish / unpublish actions."""

import itertools
import shutil
import subprocess

import pytest
from django.core.cache import cache
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from feedback import services
from feedback.enums import MediaState, ReportStatus
from feedback.models import FeedbackMedia, TypicalCase
from feedback.showcase_views import media_url
from qualitymonth.models import AuditLogEntry
from tests.factories import (
    AdminFactory,
    CampaignFactory,
    CityFactory,
    DepartmentFactory,
    DepartmentMembershipFactory,
    EnterpriseRepresentativeFactory,
    FeedbackReportFactory,
    KeyArrangementFactory,
    ProvinceFactory,
    ReviewerAssignmentFactory,
    TypicalCaseFactory,
    UserFactory,
)
from tests.feedback import corpus

pytestmark = pytest.mark.django_db

SHOWCASE = "/cases/"
_colours = itertools.count(1)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Background processing is queued on commit: run it as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def media_view():
    """The media view (written apart); tests of the addresses wait for it."""
    try:
        reverse("feedback:media_file", args=["00000000-0000-0000-0000-000000000000", "original"])
    except NoReverseMatch:
        pytest.skip("feedback:media_file is not installed yet")


def staff_of(department):
    return DepartmentMembershipFactory(department=department).user


def reviewer_of(region=None):
    return ReviewerAssignmentFactory(region=region).user


def add_picture(case, tmp_path, committed, *, caption="", size=(64, 48)):
    """A picture of the case, through the upload service, processed (thumbnail made)."""
    n = next(_colours)
    # A size of its own: the same file twice in a report would be refused.
    content = corpus.jpeg_bytes(size=(size[0] + n, size[1]), colour=(200, 30, 30))
    with committed():
        media = services.media_add(
            case.report,
            actor=staff_of(case.report.department),
            path=corpus.write(tmp_path, "photo.jpg", content),
            original_name=f"现场照片{n}.jpg",
            case=case,
            caption=caption,
        )
    media.refresh_from_db()
    return media


def video_bytes(tmp_path) -> bytes:
    """A real one-second MP4 when ffmpeg is installed, else one that passes the signature check."""
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        return corpus.mp4_bytes()
    out = tmp_path / "clip.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=1:size=64x48:rate=5",
         "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


def add_video(case, tmp_path, committed):
    content = video_bytes(tmp_path)
    with committed():
        media = services.media_add(
            case.report,
            actor=staff_of(case.report.department),
            path=corpus.write(tmp_path, "upload.mp4", content),
            original_name="现场视频.mp4",
            case=case,
            caption="颁奖现场",
        )
    media.refresh_from_db()
    return media


def accept(report):
    services.report_submit(report, actor=staff_of(report.department))
    services.report_accept(report, actor=reviewer_of())
    return report


def published_case(report=None, **fields) -> TypicalCase:
    """A case of an accepted report, published by a national reviewer."""
    report = report or FeedbackReportFactory()
    case = TypicalCaseFactory(report=report, **fields)
    if report.status != ReportStatus.ACCEPTED:
        accept(report)
    services.case_publish(case, actor=reviewer_of())
    case.refresh_from_db()
    return case


def zh(msgid: str) -> str:
    with translation.override("zh-hans"):
        return gettext(msgid)


def titles_on(response) -> list[str]:
    return [case.title for case in response.context["cases"]]


# --- the list -----------------------------------------------------------------------------------


def test_the_list_shows_published_cases_newest_first_with_their_facts(client):
    older = published_case(title="电动自行车质量提升")
    newer = published_case(title="质量强县培育", body="第一段。\n第二段")
    response = client.get(SHOWCASE)
    assert response.status_code == 200
    assert titles_on(response) == [newer.title, older.title]
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert f"<h1>{zh('Typical cases')}</h1>" in html  # 典型案例, once the catalogue has it
    assert 'for="f-ka">重点安排</label>' in html
    assert newer.key_arrangement.title_zh in html
    assert newer.region.name_zh in html
    assert newer.report.department.name_zh in html
    assert reverse("feedback:case_public", args=[newer.pk]) in html


def test_the_list_speaks_english(client):
    published_case()
    client.cookies["django_language"] = "en"
    html = client.get(SHOWCASE).content.decode()
    assert "<h1>Typical cases</h1>" in html
    assert "1 typical case" in html
    assert 'for="f-ka">Key arrangement' in html


def test_unpublished_not_consented_and_not_accepted_cases_are_never_shown(client):
    shown = published_case(title="已发布案例")
    accepted = accept(FeedbackReportFactory())
    TypicalCaseFactory(report=accepted, title="未发布案例")
    TypicalCaseFactory(report=accepted, title="未同意公开案例", publication_consent=False)
    # A case published earlier whose report is no longer accepted (only by a direct write:
    # reopening a report unpublishes its cases).
    TypicalCaseFactory(
        report=FeedbackReportFactory(status=ReportStatus.RETURNED),
        title="报告未通过案例",
        published_at=timezone.now(),
    )
    response = client.get(SHOWCASE)
    assert titles_on(response) == [shown.title]
    html = response.content.decode()
    for hidden in ("未发布案例", "未同意公开案例", "报告未通过案例"):
        assert hidden not in html


def test_the_list_filters_by_key_arrangement_of_the_year(client):
    campaign = CampaignFactory(year=2031)
    first, second = KeyArrangementFactory.create_batch(2, campaign=campaign)
    report = accept(FeedbackReportFactory(campaign=campaign))
    wanted = published_case(report=report, key_arrangement=first, title="甲")
    published_case(report=report, key_arrangement=second, title="乙")
    response = client.get(SHOWCASE, {"year": 2031, "key_arrangement": first.pk})
    assert titles_on(response) == [wanted.title]
    html = response.content.decode()
    assert f'<option value="{first.pk}" selected>' in html


def test_the_list_filters_by_year(client):
    in_2031 = published_case(report=FeedbackReportFactory(campaign=CampaignFactory(year=2031)))
    published_case(report=FeedbackReportFactory(campaign=CampaignFactory(year=2032)))
    response = client.get(SHOWCASE, {"year": 2031})
    assert titles_on(response) == [in_2031.title]
    assert '<option value="2031" selected>2031</option>' in response.content.decode()
    # The arrangements offered are the chosen year's only.
    assert [year for year, _ in response.context["arrangement_groups"]] == [2031]


def test_the_list_filters_by_province_then_city(client):
    province = ProvinceFactory(code="440000", name_zh="广东省")
    guangzhou = CityFactory(parent=province, code="440100", name_zh="广州市")
    shenzhen = CityFactory(parent=province, code="440300", name_zh="深圳市")
    elsewhere = ProvinceFactory(code="320000", name_zh="江苏省")
    report = accept(FeedbackReportFactory(department=DepartmentFactory(region=province)))
    in_guangzhou = published_case(report=report, region=guangzhou, title="广州案例")
    in_shenzhen = published_case(report=report, region=shenzhen, title="深圳案例")
    published_case(region=elsewhere, title="江苏案例")

    response = client.get(SHOWCASE, {"province": "440000"})
    assert sorted(titles_on(response)) == sorted([in_guangzhou.title, in_shenzhen.title])
    html = response.content.decode()
    assert '<option value="440100">广州市</option>' in html  # the province's cities to choose

    response = client.get(SHOWCASE, {"province": "440000", "city": "440100"})
    assert titles_on(response) == [in_guangzhou.title]
    assert "广州市 · " not in response.content.decode()  # the card's place: province · city
    assert "广东省 · 广州市" in response.content.decode()

    # A city outside the chosen province is left out rather than finding nothing.
    response = client.get(SHOWCASE, {"province": "440000", "city": "320100"})
    assert sorted(titles_on(response)) == sorted([in_guangzhou.title, in_shenzhen.title])


def test_unreadable_filters_are_ignored_and_said_so(client):
    shown = published_case()
    response = client.get(SHOWCASE, {"year": "abc", "province": "<script>", "page": "x"})
    assert response.status_code == 200
    assert titles_on(response) == [shown.title]
    html = response.content.decode()
    assert "<script>" not in html.split("<main", 1)[-1]
    assert "notice warning" in html


def test_the_empty_showcase_explains_what_comes(client):
    response = client.get(SHOWCASE)
    assert response.status_code == 200
    assert response.context["cases"] == []
    html = response.content.decode()
    assert 'class="case-cards"' not in html
    assert "notice" in html
    client.cookies["django_language"] = "en"
    html = client.get(SHOWCASE).content.decode()
    assert "No typical case has been published yet." in html


def test_the_list_is_paginated(client, monkeypatch):
    monkeypatch.setattr("feedback.showcase_views.PER_PAGE", 2)
    report = accept(FeedbackReportFactory())
    cases = [published_case(report=report, title=f"案例{n}") for n in range(3)]
    first = client.get(SHOWCASE, {"province": report.department.region.code})
    assert titles_on(first) == [cases[2].title, cases[1].title]
    html = first.content.decode()
    assert f'href="?province={report.department.region.code}&amp;page=2"' in html
    second = client.get(SHOWCASE, {"province": report.department.region.code, "page": 2})
    assert titles_on(second) == [cases[0].title]


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_list_reads_a_fixed_number_of_queries(client, tmp_path, committed, signed_in):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if signed_in:
        client.force_login(UserFactory())

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(SHOWCASE).status_code == 200
        return len(captured)

    report = FeedbackReportFactory()
    case = TypicalCaseFactory(report=report)
    add_picture(case, tmp_path, committed)
    accept(report)
    services.case_publish(case, actor=reviewer_of())
    with_one = queries()

    report = FeedbackReportFactory(department=DepartmentFactory(region=report.department.region))
    more = TypicalCaseFactory.create_batch(2, report=report)
    for case in more:
        add_picture(case, tmp_path, committed)
        add_picture(case, tmp_path, committed)
    accept(report)
    for case in more:
        services.case_publish(case, actor=reviewer_of())
    assert queries() == with_one


def test_the_list_counts_queries_exactly(client, django_assert_num_queries):
    """Choices (2), count, page, media, and the layout's current campaign: six queries for an
    anonymous visitor."""
    published_case()
    with django_assert_num_queries(6):
        client.get(SHOWCASE)


def test_cards_show_the_first_pictures_thumbnail(client, tmp_path, committed, media_view):
    report = FeedbackReportFactory()
    case = TypicalCaseFactory(report=report)
    first = add_picture(case, tmp_path, committed, caption="第一张")
    add_picture(case, tmp_path, committed)
    accept(report)
    services.case_publish(case, actor=reviewer_of())
    html = client.get(SHOWCASE).content.decode()
    assert first.thumbnail.name
    assert f'src="{media_url(first, "thumbnail")}"' in html
    # Published media is public: the anonymous visitor gets the picture.
    thumbnail = client.get(media_url(first, "thumbnail"))
    assert thumbnail.status_code == 200
    assert thumbnail["Content-Type"] == "image/jpeg"


def test_a_card_of_a_case_with_only_a_video_shows_its_poster(
    client, tmp_path, committed, media_view
):
    report = FeedbackReportFactory()
    case = TypicalCaseFactory(report=report)
    video = add_video(case, tmp_path, committed)
    if not video.poster:
        pytest.skip("no poster frame without ffmpeg")
    accept(report)
    services.case_publish(case, actor=reviewer_of())
    html = client.get(SHOWCASE).content.decode()
    assert media_url(video, "thumbnail") in html or media_url(video, "poster") in html


# --- the anonymous page cache -------------------------------------------------------------------


def test_the_cached_list_changes_at_once_when_a_case_is_published_or_withdrawn(client, settings):
    settings.PUBLIC_LIST_CACHE_SECONDS = 60
    first = published_case(title="第一例")
    assert titles_on(client.get(SHOWCASE)) == [first.title]
    assert "第一例" in client.get(SHOWCASE).content.decode()  # from the cache: no context

    second = published_case(title="第二例")
    html = client.get(SHOWCASE).content.decode()
    assert "第二例" in html and "第一例" in html

    services.case_unpublish(first, actor=reviewer_of(), reason="内容需更新")
    html = client.get(SHOWCASE).content.decode()
    assert "第一例" not in html and second.title in html


# --- a case's page ------------------------------------------------------------------------------


def test_the_case_page_shows_the_case_with_escaped_text(client):
    case = published_case(
        title="<b>标题</b>",
        body="第一段<script>alert(1)</script>\n第二段\n\n<img src=x onerror=alert(2)>",
    )
    response = client.get(reverse("feedback:case_public", args=[case.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "第一段&lt;script&gt;alert(1)&lt;/script&gt;<br>第二段" in html
    assert "<b>标题</b>" not in html
    assert "&lt;b&gt;标题&lt;/b&gt;</h1>" in html
    assert case.report.department.name_zh in html
    assert case.report.campaign.name_zh in html
    assert case.key_arrangement.title_zh in html
    assert f'<link rel="canonical" href="{response.context["canonical_url"]}">' in html
    assert response.context["canonical_url"].endswith(f"/cases/{case.pk}/")
    assert '<meta property="og:title" content="&lt;b&gt;标题&lt;/b&gt;">' in html


def test_the_case_page_speaks_english(client):
    case = published_case()
    client.cookies["django_language"] = "en"
    html = client.get(reverse("feedback:case_public", args=[case.pk])).content.decode()
    assert "About this case" in html
    assert "<dt>Key arrangement</dt>" in html
    assert case.key_arrangement.title_en in html


def test_the_case_page_shows_its_region_path(client):
    province = ProvinceFactory(code="330000", name_zh="浙江省")
    city = CityFactory(parent=province, code="330100", name_zh="杭州市")
    report = accept(FeedbackReportFactory(department=DepartmentFactory(region=province)))
    case = published_case(report=report, region=city)
    html = client.get(reverse("feedback:case_public", args=[case.pk])).content.decode()
    assert ">浙江省</a> › <a" in html
    assert ">杭州市</a>" in html


@pytest.mark.parametrize("who", ["anonymous", "national_reviewer", "admin", "staff"])
def test_an_unpublished_case_is_not_found_for_anyone(client, who):
    report = accept(FeedbackReportFactory())
    case = TypicalCaseFactory(report=report)
    user = {
        "anonymous": None,
        "national_reviewer": reviewer_of(),
        "admin": AdminFactory(),
        "staff": staff_of(report.department),
    }[who]
    if user:
        client.force_login(user)
    assert client.get(reverse("feedback:case_public", args=[case.pk])).status_code == 404


def test_the_gallery_and_the_video_player(client, tmp_path, committed, media_view):
    report = FeedbackReportFactory()
    case = TypicalCaseFactory(report=report)
    big = add_picture(case, tmp_path, committed, caption="颁奖<典礼>", size=(2400, 1200))
    plain = add_picture(case, tmp_path, committed)
    video = add_video(case, tmp_path, committed)
    broken = add_picture(case, tmp_path, committed, caption="坏图")
    accept(report)
    services.case_publish(case, actor=reviewer_of())
    FeedbackMedia.objects.filter(pk=broken.pk).update(state=MediaState.FAILED)
    html = client.get(reverse("feedback:case_public", args=[case.pk])).content.decode()

    assert big.web_copy.name  # a large picture gets a web-size copy; a small one shows itself
    assert f'src="{media_url(big, "web")}" alt="颁奖&lt;典礼&gt;"' in html
    assert f'href="{media_url(big, "original")}"' in html
    assert f'src="{media_url(plain, "thumbnail")}" alt="{plain.original_name}"' in html
    assert f'data-web="{media_url(plain, "original")}"' in html
    assert '<video controls preload="metadata"' in html
    assert f'<source src="{media_url(video, "original")}" type="video/mp4">' in html
    if video.poster:
        assert f'poster="{media_url(video, "poster")}"' in html
    assert f'download="{video.original_name}"' in html
    assert media_url(broken, "original") not in html
    assert "坏图" not in html
    assert '<meta property="og:image" content="http' in html


def test_a_picture_still_processing_shows_its_original(client, tmp_path, committed, media_view):
    report = FeedbackReportFactory()
    case = TypicalCaseFactory(report=report)
    picture = add_picture(case, tmp_path, committed)
    accept(report)
    services.case_publish(case, actor=reviewer_of())
    FeedbackMedia.objects.filter(pk=picture.pk).update(
        state=MediaState.PROCESSING, thumbnail="", web_copy=""
    )
    html = client.get(reverse("feedback:case_public", args=[case.pk])).content.decode()
    assert f'src="{media_url(picture, "original")}"' in html
    assert media_url(picture, "thumbnail") not in html
    cards = client.get(SHOWCASE).content.decode()
    assert f'src="{media_url(picture, "original")}"' in cards


def test_the_case_page_reads_a_fixed_number_of_queries(
    client, tmp_path, committed, django_assert_num_queries
):
    report = FeedbackReportFactory()
    case = TypicalCaseFactory(report=report)
    for _ in range(3):
        add_picture(case, tmp_path, committed)
    accept(report)
    services.case_publish(case, actor=reviewer_of())
    # The case with its relations, its media, and the layout's current campaign.
    with django_assert_num_queries(3):
        client.get(reverse("feedback:case_public", args=[case.pk]))


# --- publish and unpublish ----------------------------------------------------------------------


def publish_url(case):
    return reverse("feedback:case_publish", args=[case.pk])


def unpublish_url(case):
    return reverse("feedback:case_unpublish", args=[case.pk])


@pytest.fixture
def province():
    return ProvinceFactory(code="510000", name_zh="四川省")


@pytest.fixture
def ready_case(province):
    """An accepted report's case, with consent, not yet published."""
    report = accept(FeedbackReportFactory(department=DepartmentFactory(region=province)))
    return TypicalCaseFactory(report=report, title="川渝质量协同")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("who", ["national", "provincial", "admin"])
def test_reviewers_of_the_region_publish_and_unpublish(client, ready_case, province, who):
    user = {
        "national": reviewer_of,
        "provincial": lambda: reviewer_of(province),
        "admin": AdminFactory,
    }[who]()
    client.force_login(user)
    response = client.post(publish_url(ready_case), follow=False)
    assert response.status_code == 302
    assert response["Location"] == reverse("feedback:report_review", args=[ready_case.report_id])
    ready_case.refresh_from_db()
    assert ready_case.published_at is not None and ready_case.published_by == user
    assert AuditLogEntry.objects.filter(action="feedback.case.published").count() == 1
    assert client.get(reverse("feedback:case_public", args=[ready_case.pk])).status_code == 200

    response = client.post(unpublish_url(ready_case), {"reason": "图片需替换"})
    assert response.status_code == 302
    ready_case.refresh_from_db()
    assert ready_case.published_at is None
    entry = AuditLogEntry.objects.get(action="feedback.case.unpublished")
    assert entry.comment == "图片需替换"
    assert client.get(reverse("feedback:case_public", args=[ready_case.pk])).status_code == 404


def test_the_action_says_what_it_did_and_returns_to_next(client, ready_case):
    client.force_login(reviewer_of())
    client.cookies["django_language"] = "en"
    back = reverse("feedback:showcase") + "?year=2030"
    response = client.post(publish_url(ready_case), {"next": back}, follow=True)
    assert response.redirect_chain[0][0] == back
    assert messages_of(response) == [
        "“川渝质量协同” is published in the typical cases for everyone to see."
    ]
    response = client.post(unpublish_url(ready_case), {"next": back}, follow=True)
    assert messages_of(response) == ["“川渝质量协同” is withdrawn from the typical cases."]


def test_an_outside_next_is_not_followed(client, ready_case):
    client.force_login(reviewer_of())
    response = client.post(publish_url(ready_case), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("feedback:report_review", args=[ready_case.report_id])


@pytest.mark.parametrize("who", ["other_province", "staff", "enterprise", "plain"])
def test_others_may_not_publish_or_unpublish(client, ready_case, who):
    user = {
        "other_province": lambda: reviewer_of(ProvinceFactory(code="520000")),
        "staff": lambda: staff_of(ready_case.report.department),
        "enterprise": lambda: EnterpriseRepresentativeFactory().user,
        "plain": UserFactory,
    }[who]()
    client.force_login(user)
    # Only the department's staff may see the unpublished case; to the others it is not there.
    hidden = 403 if who == "staff" else 404
    assert client.post(publish_url(ready_case)).status_code == hidden
    ready_case.refresh_from_db()
    assert ready_case.published_at is None

    services.case_publish(ready_case, actor=reviewer_of())
    assert client.post(unpublish_url(ready_case)).status_code == 403
    ready_case.refresh_from_db()
    assert ready_case.published_at is not None


def test_anonymous_visitors_are_sent_to_log_in_and_only_post_is_accepted(client, ready_case):
    response = client.post(publish_url(ready_case))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    ready_case.refresh_from_db()
    assert ready_case.published_at is None

    client.force_login(reviewer_of())
    assert client.get(publish_url(ready_case)).status_code == 405
    assert client.get(unpublish_url(ready_case)).status_code == 405
    ready_case.refresh_from_db()
    assert ready_case.published_at is None


def test_publishing_a_case_of_a_report_not_accepted_is_refused_with_a_message(client):
    report = FeedbackReportFactory()
    services.report_submit(report, actor=staff_of(report.department))
    case = TypicalCaseFactory(report=report, title="待审案例")
    client.force_login(reviewer_of())
    response = client.post(publish_url(case), follow=True)
    assert messages_of(response) == [
        zh("“%(title)s” was not published: %(reason)s")
        % {"title": "待审案例", "reason": zh("Only cases of accepted reports can be published.")}
    ]
    case.refresh_from_db()
    assert case.published_at is None
    assert not AuditLogEntry.objects.filter(action="feedback.case.published").exists()


def test_publishing_without_the_departments_consent_is_refused_with_a_message(client):
    report = accept(FeedbackReportFactory())
    case = TypicalCaseFactory(report=report, title="内部案例", publication_consent=False)
    client.force_login(reviewer_of())
    client.cookies["django_language"] = "en"
    response = client.post(publish_url(case), follow=True)
    assert messages_of(response) == [
        "“内部案例” was not published: The department has not consented to publishing this case."
    ]
    case.refresh_from_db()
    assert case.published_at is None


def test_an_overlong_reason_is_refused_and_the_case_stays_published(client, ready_case):
    services.case_publish(ready_case, actor=reviewer_of())
    client.force_login(reviewer_of())
    client.cookies["django_language"] = "en"
    response = client.post(unpublish_url(ready_case), {"reason": "长" * 501}, follow=True)
    assert "at most 500 are allowed" in messages_of(response)[0]
    ready_case.refresh_from_db()
    assert ready_case.published_at is not None


def test_an_unknown_case_is_not_found(client):
    client.force_login(reviewer_of())
    assert client.post(reverse("feedback:case_publish", args=[999999])).status_code == 404


# --- the home page ------------------------------------------------------------------------------


def test_the_home_page_features_the_latest_published_cases(client):
    cases = [published_case(title=f"首页案例{n}") for n in range(4)]
    html = client.get("/").content.decode()
    for case in cases[1:]:
        assert case.title in html
    assert cases[0].title not in html
    assert reverse("feedback:showcase") in html
