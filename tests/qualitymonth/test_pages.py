"""The layout, the home page and the error pages, as a visitor sees them."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from activities.enums import ActivityStatus, CampaignStatus
from qualitymonth import views
from tests import factories

THEME_ZH = "加强质量支撑 建设质量强国"
THEME_EN = "Strengthen quality support and build a strong quality country"

CONTENT_AREAS = [
    ("坚定推进《质量强国建设纲要》实施", "Firmly promote the implementation of the Outline"),
    ("发挥质量对企业做强做优做大的作用", "Better play the role of quality in making enterprises bigger and stronger"),  # noqa: E501
    ("发挥质量对产业强链的支撑作用", "Better play the role of quality in supporting strong industrial chains"),  # noqa: E501
    ("发挥质量对城市可持续发展的促进作用", "Better play the role of quality in sustainable urban development"),  # noqa: E501
    ("推动质量社会共治", "Promote social co-governance of quality"),
]
KEY_ARRANGEMENTS = [
    ("第五届中国质量奖颁奖和质量强国建设专家论坛", "Fifth China Quality Award ceremony and National Quality Power Expert Forum"),  # noqa: E501
    ("质量强企系列活动", "Series of activities to strengthen quality enterprises"),
    ("质量强链行动", "Action of strong quality chains"),
    ("质量强县（区、镇）培育建设", "Cultivating counties (districts, towns) with strong quality"),
    ("重点领域质量提升", "Quality improvement in key areas"),
    ("重点产品质量安全保障", "Quality and safety assurance of key products"),
    ("打击侵权假冒违法犯罪", "Cracking down on infringement and counterfeiting"),
    ("质量惠民行动", "Quality benefiting the people"),
    ("群众性质量活动", "Mass quality activities"),
]


def campaign_2024():
    """The 2024 campaign as the circular sets it: theme, five content areas, nine arrangements."""
    campaign = factories.CampaignFactory(
        year=2024,
        name_zh="2024年全国“质量月”活动",
        name_en="2024 National Quality Month",
        theme_zh=THEME_ZH,
        theme_en=THEME_EN,
        month_start=dt.date(2024, 9, 1),
        month_end=dt.date(2024, 9, 30),
        feedback_deadline=dt.date(2024, 10, 31),
        status=CampaignStatus.OPEN,
    )
    areas = [
        factories.ContentAreaFactory(campaign=campaign, number=n, title_zh=zh, title_en=en)
        for n, (zh, en) in enumerate(CONTENT_AREAS, start=1)
    ]
    arrangements = [
        factories.KeyArrangementFactory(campaign=campaign, number=n, title_zh=zh, title_en=en)
        for n, (zh, en) in enumerate(KEY_ARRANGEMENTS, start=1)
    ]
    return campaign, areas, arrangements


def add_activities(campaign, arrangement, areas, count, status=ActivityStatus.APPROVED):
    activities = factories.ActivityFactory.create_batch(
        count, campaign=campaign, key_arrangement=arrangement, status=status
    )
    for activity in activities:
        activity.content_areas.set(areas)
    return activities


def item_for(html: str, title: str) -> str:
    """The list item (card) of the home page that carries `title`."""
    for item in re.findall(r"<li[^>]*>.*?</li>", html, flags=re.S):
        if title in item:
            return item
    raise AssertionError(f"no item shows {title!r}")


@pytest.fixture
def world():
    campaign, areas, arrangements = campaign_2024()
    # Arrangement 2 (strengthen quality enterprises): 3 published, 1 draft that must not count.
    add_activities(campaign, arrangements[1], [areas[1]], 3)
    add_activities(campaign, arrangements[1], [areas[1]], 1, status=ActivityStatus.DRAFT)
    # Arrangement 9 (mass quality activities): 2 published, under content areas 1 and 5.
    add_activities(campaign, arrangements[8], [areas[0], areas[4]], 2)
    return campaign, areas, arrangements


@pytest.mark.django_db
def test_home_shows_the_campaign_in_chinese_by_default(client, world):
    response = client.get("/")
    html = response.content.decode()

    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert THEME_ZH in html
    assert "2024年全国“质量月”活动" in html
    assert "2024年9月1日" in html and "2024年9月30日" in html  # the month, in Chinese dates
    assert "2024年10月31日" in html  # feedback deadline
    for zh, en in KEY_ARRANGEMENTS + CONTENT_AREAS:
        assert zh in html
        assert en not in html
    assert len(response.context["key_arrangements"]) == 9
    assert len(response.context["content_areas"]) == 5


@pytest.mark.django_db
def test_home_counts_published_activities_per_arrangement_and_area(client, world):
    html = client.get("/").content.decode()

    assert "<strong>3</strong>" in item_for(html, KEY_ARRANGEMENTS[1][0])  # the draft not counted
    assert "<strong>2</strong>" in item_for(html, KEY_ARRANGEMENTS[8][0])
    assert "<strong>0</strong>" in item_for(html, KEY_ARRANGEMENTS[0][0])
    assert "<strong>2</strong>" in item_for(html, CONTENT_AREAS[0][0])
    assert "<strong>3</strong>" in item_for(html, CONTENT_AREAS[1][0])
    assert "<strong>0</strong>" in item_for(html, CONTENT_AREAS[2][0])
    assert "<strong>2</strong>" in item_for(html, CONTENT_AREAS[4][0])
    counts = {a.number: a.published_count for a in client.get("/").context["key_arrangements"]}
    assert counts == {1: 0, 2: 3, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 2}


@pytest.mark.django_db
def test_home_speaks_english_after_the_language_switch(client, world):
    switched = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    html = switched.content.decode()

    assert switched.redirect_chain[-1][0] == "/"
    assert '<html lang="en">' in html
    assert THEME_EN in html
    assert "2024 National Quality Month" in html
    assert "Sept. 1, 2024" in html  # English dates
    for zh, en in KEY_ARRANGEMENTS + CONTENT_AREAS:
        assert en in html
        assert zh not in html
    assert "<strong>3</strong> published activities" in item_for(html, KEY_ARRANGEMENTS[1][1])

    back = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}, follow=True)
    assert THEME_ZH in back.content.decode()


@pytest.mark.django_db
def test_home_says_participation_is_voluntary_and_free(client, world):
    client.cookies["django_language"] = "en"
    html = client.get("/").content.decode()

    assert "Voluntary and free of charge" in html
    assert "strictly forbids charging enterprises any fee" in html
    assert "Taking part is voluntary and free of charge." in html  # footer, on every page


def _home_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True])
def test_home_query_count_does_not_grow_with_activities(client, signed_in):
    campaign, areas, arrangements = campaign_2024()
    if signed_in:
        client.force_login(factories.UserFactory())
    add_activities(campaign, arrangements[0], areas[:1], 1)
    with_one = _home_queries(client)

    for arrangement in arrangements:
        add_activities(campaign, arrangement, areas, 3)
    assert _home_queries(client) == with_one


@pytest.mark.django_db
def test_home_without_a_campaign_explains_what_comes(client):
    response = client.get("/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "下一年度质量月活动尚未发布" in html  # Chinese by default
    assert "自愿参加、免费" in html
    assert "Key arrangements" not in html


@pytest.mark.django_db
def test_home_prefers_the_open_campaign_over_a_newer_one_in_preparation(client, world):
    factories.CampaignFactory(year=2025, theme_zh="下一年的主题", status=CampaignStatus.PREPARING)
    html = client.get("/").content.decode()

    assert THEME_ZH in html
    assert "下一年的主题" not in html


# --- the layout -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_layout_for_a_visitor(client, world):
    html = client.get("/").content.decode()

    assert 'class="skip-link" href="#main"' in html
    assert '<main id="main"' in html
    assert THEME_ZH in html.split("</header>")[0]  # the theme in the header
    assert f'href="{reverse("accounts:login")}"' in html
    assert f'href="{reverse("api-docs")}"' in html
    assert reverse("admin:index") not in html
    assert "Log out" not in html
    # The language switch is a plain link: it works without JavaScript and carries no CSRF
    # token, so public pages can be cached whole for visitors.
    assert f'href="{reverse("switch_language", args=["en"])}?next=/"' in html
    assert "csrfmiddlewaretoken" not in html


@pytest.mark.django_db
def test_the_language_link_switches_and_returns_to_the_page(client, world):
    response = client.get(reverse("switch_language", args=["en"]), {"next": "/calendar/"})
    assert response.status_code == 302
    assert response["Location"] == "/calendar/"
    assert client.cookies["django_language"].value == "en"
    assert '<html lang="en">' in client.get("/").content.decode()


@pytest.mark.django_db
def test_the_language_link_refuses_to_send_visitors_elsewhere(client, world):
    response = client.get(
        reverse("switch_language", args=["en"]), {"next": "https://evil.example.com/"}
    )
    assert response["Location"] == "/"
    unknown = client.get(reverse("switch_language", args=["xx"]), {"next": "/"})
    assert unknown.status_code == 302
    assert "django_language" not in unknown.cookies


@pytest.mark.django_db
def test_layout_for_a_signed_in_person_without_admin_rights(client, world):
    client.force_login(factories.UserFactory(full_name="王小明"))
    html = client.get("/").content.decode()

    assert "王小明" in html
    assert f'href="{reverse("accounts:profile")}"' in html
    assert f'<form action="{reverse("accounts:logout")}" method="post">' in html
    assert reverse("admin:index") not in html
    assert f'href="{reverse("accounts:login")}"' not in html


@pytest.mark.django_db
def test_layout_for_an_administrator_links_the_site_administration(client, world):
    client.force_login(factories.AdminFactory())
    html = client.get("/").content.decode()

    assert f'href="{reverse("admin:index")}"' in html


@pytest.mark.django_db
def test_logout_from_the_layout_form_signs_out(client, world):
    client.force_login(factories.UserFactory())
    client.post(reverse("accounts:logout"))

    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_pages_have_no_inline_scripts_or_styles(client, world):
    """A strict Content-Security-Policy must not break the portal."""
    client.force_login(factories.AdminFactory())
    for path in ("/", "/no-such-page/"):
        html = client.get(path).content.decode()
        assert " style=" not in html
        assert "<style" not in html
        for script in re.findall(r"<script[^>]*>", html):
            assert " src=" in script
        assert re.search(r"<script[^>]*>\s*[^<\s]", html) is None  # no inline script bodies
        assert "://" not in "".join(re.findall(r'(?:src|href)="([^"]+\.(?:css|js))"', html))


def test_stylesheet_script_and_emblem_are_served_from_our_static_files():
    for name in ("css/portal.css", "js/portal.js", "images/emblem.svg", "css/admin.css"):
        assert finders.find(name), name
    css = Path(finders.find("css/portal.css")).read_text(encoding="utf-8")
    assert "@import" not in css and "url(http" not in css
    for selector in (".card", ".form", ".field", ".errors", ".help", ".button.primary", ".table"):
        assert selector in css


# --- error pages --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_404_page_is_friendly_and_keeps_the_layout(client, world):
    response = client.get("/no-such-page/")
    html = response.content.decode()

    assert response.status_code == 404
    assert "找不到该页面" in html
    assert f'href="{reverse("home")}"' in html
    assert THEME_ZH in html  # the ordinary layout, with the campaign
    assert '<html lang="zh-hans">' in html


@pytest.mark.django_db
def test_404_page_in_english(client, world):
    client.cookies["django_language"] = "en"
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert '<html lang="en">' in response.content.decode()
    assert THEME_EN in response.content.decode()


@pytest.mark.django_db
def test_403_page_is_friendly(rf, world):
    request = rf.get("/somewhere/")
    request.user = AnonymousUser()
    response = views.permission_denied(request)
    html = response.content.decode()

    assert response.status_code == 403
    assert "您无权访问此页面" in html  # Chinese by default
    assert "next=/somewhere/" in html  # a way to log in and come back


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_500_page_renders_without_the_database(rf, language):
    """No `django_db` mark: any query would fail this test."""
    request = rf.get("/broken/")
    with translation.override(language):
        response = views.server_error(request)
    html = response.content.decode()

    assert response.status_code == 500
    assert f'<html lang="{language}">' in html
    assert {"zh-hans": "系统出现错误", "en": "Something went wrong on our side"}[language] in html
    assert 'href="/"' in html
    assert "css/portal.css" in html


@pytest.mark.django_db
def test_navigation_follows_the_roles(client, world):
    representative = factories.EnterpriseRepresentativeFactory().user
    client.force_login(representative)
    html = client.get("/").content.decode()
    assert f'href="{reverse("accounts:my_enterprise")}"' in html
    assert f'href="{reverse("accounts:staff_list")}"' not in html

    client.force_login(factories.AdminFactory())
    html = client.get("/").content.decode()
    assert f'href="{reverse("accounts:staff_list")}"' in html
    assert f'href="{reverse("accounts:claim_list")}"' in html
    assert f'href="{reverse("accounts:my_enterprise")}"' not in html
