"""Reference data: campaigns, headings, regions and departments, readable by anyone."""

import pytest

from activities.enums import CampaignStatus, DepartmentLevel, RegionLevel
from tests import factories

from .world import KEY_ARRANGEMENTS_2024, codes, make_campaign

pytestmark = pytest.mark.django_db


def test_api_root_lists_every_endpoint(api):
    response = api.get("/api/v1/")

    assert response.status_code == 200
    assert set(response.json()) == {
        "activities",
        "campaigns",
        "content-areas",
        "departments",
        "enterprises",
        "feedback-overview",
        "feedback-reminders",
        "feedback-reports",
        "key-arrangements",
        "me",
        "regions",
        "registrations",
        "review-queue",
        "tokens",
        "typical-cases",
    }
    assert response.json()["me"].endswith("/api/v1/me/")


# --- campaigns ---------------------------------------------------------------------------------

def test_campaigns_newest_first_with_theme_dates_and_status(api, world):
    make_campaign(2023)
    factories.CampaignFactory(year=2025, status=CampaignStatus.PREPARING)

    response = api.get("/api/v1/campaigns/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [c["year"] for c in body["results"]] == [2025, 2024, 2023]
    campaign = body["results"][1]
    assert campaign["theme_zh"] == "加强质量支撑 建设质量强国"
    assert campaign["theme"] == "Strengthen quality support and build a strong quality country"
    assert campaign["month_start"] == "2024-09-01"
    assert campaign["month_end"] == "2024-09-30"
    assert campaign["feedback_deadline"] == "2024-10-31"
    assert campaign["status"] == "open"
    assert campaign["status_display"] == "Open"


def test_campaign_by_year_with_its_nine_arrangements_and_five_areas_in_order(api, world):
    response = api.get("/api/v1/campaigns/2024/")

    assert response.status_code == 200
    body = response.json()
    assert body["year"] == 2024
    assert [a["number"] for a in body["key_arrangements"]] == list(range(1, 10))
    assert [a["number"] for a in body["content_areas"]] == [1, 2, 3, 4, 5]
    assert body["key_arrangements"][8]["title"] == "群众性质量活动"


def test_unknown_campaign_year_is_404(api, world):
    assert api.get("/api/v1/campaigns/1999/").status_code == 404


def test_campaigns_filter_by_status(api, world):
    factories.CampaignFactory(year=2025, status=CampaignStatus.PREPARING)

    response = api.get("/api/v1/campaigns/", {"status": "preparing"})

    assert [c["year"] for c in response.json()["results"]] == [2025]


def test_reference_data_cannot_be_written(api, world):
    user = factories.AdminFactory()
    api.force_login(user)

    assert api.post("/api/v1/campaigns/", {"year": 2030}).status_code == 405
    assert api.delete("/api/v1/regions/440000/").status_code == 405


# --- key arrangements and content areas ------------------------------------------------------

def test_key_arrangements_of_one_year(api, world):
    make_campaign(2023)

    response = api.get("/api/v1/key-arrangements/", {"campaign": 2024})

    body = response.json()
    assert body["count"] == 9
    assert [a["campaign"] for a in body["results"]] == [2024] * 9
    assert [a["title_zh"] for a in body["results"]] == [zh for zh, _en in KEY_ARRANGEMENTS_2024]


def test_key_arrangement_by_campaign_and_number(api, world):
    response = api.get("/api/v1/key-arrangements/", {"campaign": 2024, "number": 7})

    [arrangement] = response.json()["results"]
    assert arrangement["title_zh"] == "打击侵权假冒违法犯罪"
    detail = api.get(f"/api/v1/key-arrangements/{arrangement['id']}/")
    assert detail.json()["title_zh"] == "打击侵权假冒违法犯罪"


def test_content_areas_of_one_year(api, world):
    make_campaign(2023)

    response = api.get("/api/v1/content-areas/", {"campaign": 2024})

    body = response.json()
    assert body["count"] == 5
    assert body["results"][4]["title_zh"] == "推动质量社会共治"


def test_campaign_filter_must_be_a_year(api, world):
    response = api.get("/api/v1/content-areas/", {"campaign": "twenty"})

    assert response.status_code == 400
    assert "campaign" in response.json()


# --- regions -----------------------------------------------------------------------------------

def test_regions_by_level(api, world):
    response = api.get("/api/v1/regions/", {"level": "province"})

    assert codes(response) == ["110000", "330000", "440000"]


def test_regions_children_of_a_parent(api, world):
    response = api.get("/api/v1/regions/", {"parent": "440000"})

    assert codes(response) == ["440100"]


def test_regions_within_a_province_include_cities_and_counties(api, world):
    response = api.get("/api/v1/regions/", {"within": "440000"})

    assert codes(response) == ["440000", "440100", "440106"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [("广", ["440000", "440100"]), ("guang", ["440000", "440100"]), ("4401", ["440100", "440106"])],
)
def test_regions_search_by_code_or_name(api, world, q, expected):
    assert codes(api.get("/api/v1/regions/", {"q": q})) == expected


def test_region_by_code(api, world):
    response = api.get("/api/v1/regions/440106/")

    assert response.status_code == 200
    assert response.json() == {
        "code": "440106",
        "name": "天河区",
        "name_zh": "天河区",
        "name_en": "Tianhe District",
        "level": "county",
        "level_display": response.json()["level_display"],
        "parent": "440100",
    }
    assert api.get("/api/v1/regions/440000/").json()["parent"] is None
    assert api.get("/api/v1/regions/999999/").status_code == 404


def test_regions_are_paginated(api, db):
    province = factories.ProvinceFactory(code="650000", name_zh="新疆维吾尔自治区")
    for n in range(1, 61):
        factories.ProvinceFactory(
            code=f"65{n:02d}00", level=RegionLevel.CITY, parent=province, name_zh=f"市{n}"
        )

    first = api.get("/api/v1/regions/").json()
    small = api.get("/api/v1/regions/", {"page_size": 20, "page": 2}).json()

    assert first["count"] == 61
    assert len(first["results"]) == 50
    assert first["next"].endswith("/api/v1/regions/?page=2")
    assert [r["code"] for r in small["results"]][:2] == ["652000", "652100"]
    capped = api.get("/api/v1/regions/", {"page_size": 10_000}).json()
    assert len(capped["results"]) == 61  # at most 200 per page, and all 61 fit


def test_unknown_region_code_in_a_filter_is_400(api, world):
    response = api.get("/api/v1/regions/", {"within": "999999"})

    assert response.status_code == 400
    assert "within" in response.json()


# --- departments -------------------------------------------------------------------------------

def test_departments_filter_by_level(api, world):
    response = api.get("/api/v1/departments/", {"level": DepartmentLevel.NATIONAL})

    assert [d["name_zh"] for d in response.json()["results"]] == ["国家市场监督管理总局"]


def test_departments_filter_by_region_includes_those_below(api, world):
    response = api.get("/api/v1/departments/", {"region": "440000"})

    assert {d["name_zh"] for d in response.json()["results"]} == {
        "广东省市场监督管理局",
        "广州市市场监督管理局",
    }


def test_departments_filter_lead(api, world):
    lead = api.get("/api/v1/departments/", {"is_lead": "true"}).json()["results"]
    others = api.get("/api/v1/departments/", {"is_lead": "false"}).json()["results"]

    assert [d["short_name_en"] for d in lead] == ["SAMR"]
    assert lead[0]["region"] is None
    assert len(others) == 3


def test_department_detail_shows_region_and_level(api, world):
    response = api.get(f"/api/v1/departments/{world.gz_amr.pk}/", HTTP_ACCEPT_LANGUAGE="en")

    body = response.json()
    assert body["name"] == "Guangzhou Administration for Market Regulation"
    assert body["level"] == "city"
    assert body["region"] == {"code": "440100", "name": "Guangzhou", "level": "city"}


def test_inactive_departments_are_not_listed(api, world):
    world.zj_amr.is_active = False
    world.zj_amr.save()

    names = [d["name_zh"] for d in api.get("/api/v1/departments/").json()["results"]]

    assert "浙江省市场监督管理局" not in names
    assert api.get(f"/api/v1/departments/{world.zj_amr.pk}/").status_code == 404


# --- languages ---------------------------------------------------------------------------------

THEME_ZH = "加强质量支撑 建设质量强国"
THEME_EN = "Strengthen quality support and build a strong quality country"


@pytest.mark.parametrize(
    ("language", "region_name", "theme"),
    [
        ("zh-hans", "广东省", THEME_ZH),
        ("zh-CN,zh;q=0.9", "广东省", THEME_ZH),
        ("en", "Guangdong", THEME_EN),
        ("en-GB,en;q=0.8", "Guangdong", THEME_EN),
    ],
)
def test_localized_names_follow_accept_language(api, world, language, region_name, theme):
    region = api.get("/api/v1/regions/440000/", HTTP_ACCEPT_LANGUAGE=language)
    campaign = api.get("/api/v1/campaigns/2024/", HTTP_ACCEPT_LANGUAGE=language)

    assert region.json()["name"] == region_name
    assert region.json()["name_zh"] == "广东省"
    assert region.json()["name_en"] == "Guangdong"
    assert campaign.json()["theme"] == theme


def test_chinese_is_the_default_language(api, world):
    arrangement = api.get("/api/v1/key-arrangements/", {"campaign": 2024, "number": 1})

    assert arrangement.json()["results"][0]["title"] == "第五届中国质量奖颁奖和质量强国建设专家论坛"


def test_english_readers_see_the_chinese_name_when_no_english_one_exists(api, world):
    response = api.get(f"/api/v1/departments/{world.zj_amr.pk}/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.json()["name"] == "浙江省市场监督管理局"
    assert response.json()["name_en"] == ""


def test_english_headings(api, world):
    response = api.get(
        "/api/v1/key-arrangements/", {"campaign": 2024, "number": 9}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.json()["results"][0]["title"] == "Mass quality activities"
    assert response["Content-Language"] == "en"
