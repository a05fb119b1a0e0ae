"""A small 2024-like world for the API tests: the real headings, a few real regions, departments
in two provinces, and helpers to put people in every role."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from activities.enums import ActivityStatus, DepartmentLevel, RegionLevel
from activities.models import Activity, Campaign, Department, Region
from tests import factories

CONTENT_AREAS_2024 = [
    ("坚定推进《质量强国建设纲要》实施", "Firmly promote the implementation of the Outline"),
    (
        "发挥质量对企业做强做优做大的作用",
        "Better play the role of quality in making enterprises bigger and stronger",
    ),
    (
        "发挥质量对产业强链的支撑作用",
        "Better play the role of quality in supporting strong industrial chains",
    ),
    (
        "发挥质量对城市可持续发展的促进作用",
        "Better play the role of quality in sustainable urban development",
    ),
    ("推动质量社会共治", "Promote social co-governance of quality"),
]

KEY_ARRANGEMENTS_2024 = [
    (
        "第五届中国质量奖颁奖和质量强国建设专家论坛",
        "Fifth China Quality Award ceremony and National Quality Power Expert Forum",
    ),
    ("质量强企系列活动", "Series of activities to strengthen quality enterprises"),
    ("质量强链行动", "Action of strong quality chains"),
    ("质量强县（区、镇）培育建设", "Cultivating counties (districts, towns) with strong quality"),
    ("重点领域质量提升", "Quality improvement in key areas"),
    ("重点产品质量安全保障", "Quality and safety assurance of key products"),
    ("打击侵权假冒违法犯罪", "Cracking down on infringement and counterfeiting"),
    ("质量惠民行动", "Quality benefiting the people"),
    ("群众性质量活动", "Mass quality activities"),
]


def make_campaign(year: int) -> Campaign:
    campaign = factories.CampaignFactory(
        year=year,
        name_zh=f"{year}年全国“质量月”活动",
        name_en=f"{year} National Quality Month",
        theme_zh="加强质量支撑 建设质量强国",
        theme_en="Strengthen quality support and build a strong quality country",
        month_start=dt.date(year, 9, 1),
        month_end=dt.date(year, 9, 30),
        feedback_deadline=dt.date(year, 10, 31),
    )
    for number, (zh, en) in enumerate(CONTENT_AREAS_2024, start=1):
        factories.ContentAreaFactory(campaign=campaign, number=number, title_zh=zh, title_en=en)
    for number, (zh, en) in enumerate(KEY_ARRANGEMENTS_2024, start=1):
        factories.KeyArrangementFactory(campaign=campaign, number=number, title_zh=zh, title_en=en)
    return campaign


def region(code, name_zh, name_en, level=RegionLevel.PROVINCE, parent=None) -> Region:
    return factories.ProvinceFactory(
        code=code, name_zh=name_zh, name_en=name_en, level=level, parent=parent
    )


@dataclass
class World:
    campaign: Campaign
    beijing: Region
    guangdong: Region
    guangzhou: Region
    tianhe: Region
    zhejiang: Region
    hangzhou: Region
    samr: Department
    gd_amr: Department
    gz_amr: Department
    zj_amr: Department

    def arrangement(self, number: int):
        return self.campaign.key_arrangements.get(number=number)

    def activity(self, organiser: Department, **kwargs) -> Activity:
        kwargs.setdefault("campaign", self.campaign)
        kwargs.setdefault("key_arrangement", kwargs["campaign"].key_arrangements.get(number=1))
        kwargs.setdefault("region", organiser.region or self.beijing)
        return factories.ActivityFactory(organiser=organiser, **kwargs)

    def draft(self, organiser: Department, **kwargs) -> Activity:
        return self.activity(organiser, status=ActivityStatus.DRAFT, **kwargs)


def build_world() -> World:
    beijing = region("110000", "北京市", "Beijing")
    guangdong = region("440000", "广东省", "Guangdong")
    guangzhou = region("440100", "广州市", "Guangzhou", RegionLevel.CITY, guangdong)
    tianhe = region("440106", "天河区", "Tianhe District", RegionLevel.COUNTY, guangzhou)
    zhejiang = region("330000", "浙江省", "Zhejiang")
    hangzhou = region("330100", "杭州市", "Hangzhou", RegionLevel.CITY, zhejiang)
    return World(
        campaign=make_campaign(2024),
        beijing=beijing,
        guangdong=guangdong,
        guangzhou=guangzhou,
        tianhe=tianhe,
        zhejiang=zhejiang,
        hangzhou=hangzhou,
        samr=factories.NationalDepartmentFactory(
            name_zh="国家市场监督管理总局",
            name_en="State Administration for Market Regulation",
            short_name_zh="市场监管总局",
            short_name_en="SAMR",
            is_lead=True,
        ),
        gd_amr=factories.DepartmentFactory(
            name_zh="广东省市场监督管理局",
            name_en="Guangdong Administration for Market Regulation",
            region=guangdong,
        ),
        gz_amr=factories.DepartmentFactory(
            name_zh="广州市市场监督管理局",
            name_en="Guangzhou Administration for Market Regulation",
            level=DepartmentLevel.CITY,
            region=guangzhou,
        ),
        zj_amr=factories.DepartmentFactory(
            name_zh="浙江省市场监督管理局",
            name_en="",  # no English name yet: English readers see the Chinese one
            region=zhejiang,
        ),
    )


def fresh(user: User) -> User:
    """The person as a new request sees them (roles not yet looked up)."""
    return User.objects.get(pk=user.pk)


def client_as(user: User | None, **kwargs) -> APIClient:
    """A client signed in with a browser session (None: anonymous)."""
    client = APIClient(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def staff_of(department: Department) -> User:
    return factories.DepartmentMembershipFactory(department=department).user


def reviewer_for(region_: Region | None) -> User:
    return factories.ReviewerAssignmentFactory(region=region_).user


def representative_of(enterprise) -> User:
    return factories.EnterpriseRepresentativeFactory(enterprise=enterprise).user


def ids(response) -> list[int]:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [row["id"] for row in rows]


def codes(response) -> list[str]:
    return [row["code"] for row in response.json()["results"]]


def in_a_year(days: int = 365):
    return timezone.now() + dt.timedelta(days=days)
