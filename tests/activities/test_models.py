"""Every database constraint of the campaign data and activities, and the messages `full_clean`
gives for the same mistakes (what the admin and every form show)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.functional import Promise

from activities.enums import ActivityStatus, CampaignStatus, DepartmentLevel, RegionLevel
from activities.models import Activity, Campaign, Region
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    CityFactory,
    ContentAreaFactory,
    CountyFactory,
    DepartmentFactory,
    KeyArrangementFactory,
    NationalDepartmentFactory,
    ProvinceFactory,
)

pytestmark = pytest.mark.django_db

PROVINCE, CITY, COUNTY = RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY


def refused(build):
    """The database itself refuses what `build` writes (the ORM checks nothing on save)."""
    with pytest.raises(IntegrityError), transaction.atomic():
        build()


def field_errors(obj) -> dict[str, list[str]]:
    """`obj.full_clean()`'s messages per field, read in English."""
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        obj.full_clean()
    with translation.override("en"):
        return {field: [str(m) for m in messages] for field, messages in caught.value}


def first_message(obj, field):
    """The lazily translated message object `full_clean` gives for `field`."""
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    return caught.value.error_dict[field][0].message


def at(year, month, day, hour=9):
    return timezone.make_aware(dt.datetime(year, month, day, hour))


def changed(obj, **attrs):
    """`obj` with `attrs` changed in memory only, as a form would before validating."""
    for name, value in attrs.items():
        setattr(obj, name, value)
    return obj


# --- Campaign ---------------------------------------------------------------------------------


def test_a_well_formed_campaign_is_stored():
    campaign = CampaignFactory(year=2024)
    assert Campaign.objects.get(year=2024) == campaign


@pytest.mark.parametrize("year", [1977, 2101])
def test_database_refuses_an_implausible_year(year):
    refused(lambda: CampaignFactory(year=year))


def test_database_refuses_a_second_campaign_for_the_same_year():
    CampaignFactory(year=2024)
    refused(
        lambda: Campaign.objects.create(
            year=2024,
            name_zh="重复",
            theme_zh="重复",
            month_start=dt.date(2024, 9, 1),
            month_end=dt.date(2024, 9, 30),
            feedback_deadline=dt.date(2024, 10, 31),
        )
    )


def test_database_refuses_a_month_that_ends_before_it_starts():
    refused(
        lambda: CampaignFactory(
            year=2024, month_start=dt.date(2024, 9, 30), month_end=dt.date(2024, 9, 1)
        )
    )


def test_database_refuses_a_feedback_deadline_before_the_month_ends():
    refused(lambda: CampaignFactory(year=2024, feedback_deadline=dt.date(2024, 9, 15)))


def test_database_refuses_an_unknown_campaign_status():
    refused(lambda: CampaignFactory(year=2024, status="archived"))


def test_a_one_day_month_with_feedback_the_same_day_is_allowed():
    campaign = CampaignFactory(
        year=2024,
        month_start=dt.date(2024, 9, 1),
        month_end=dt.date(2024, 9, 1),
        feedback_deadline=dt.date(2024, 9, 1),
        status=CampaignStatus.CLOSED,
    )
    campaign.full_clean()


def test_full_clean_explains_campaign_mistakes_on_their_fields():
    campaign = CampaignFactory.build(
        year=1977,
        month_start=dt.date(1977, 9, 30),
        month_end=dt.date(1977, 9, 1),
        feedback_deadline=dt.date(1977, 10, 31),
    )
    errors = field_errors(campaign)
    assert errors["year"] == ["Ensure this value is greater than or equal to 1978."]
    assert errors["month_end"] == ["The month cannot end before it starts."]
    assert "__all__" not in errors  # one message per mistake, not a second from the constraint


def test_full_clean_puts_an_early_feedback_deadline_on_that_field():
    campaign = CampaignFactory.build(year=2024, feedback_deadline=dt.date(2024, 9, 20))
    assert field_errors(campaign) == {
        "feedback_deadline": ["The feedback deadline cannot fall before the month ends."]
    }
    assert isinstance(first_message(campaign, "feedback_deadline"), Promise)


# --- Content areas and key arrangements ---------------------------------------------------------


@pytest.mark.parametrize("factory", [ContentAreaFactory, KeyArrangementFactory])
def test_database_refuses_two_headings_with_one_number_in_a_campaign(factory):
    campaign = CampaignFactory()
    factory(campaign=campaign, number=3)
    refused(lambda: factory(campaign=campaign, number=3))


@pytest.mark.parametrize("factory", [ContentAreaFactory, KeyArrangementFactory])
def test_the_same_number_is_free_in_another_campaign(factory):
    factory(campaign=CampaignFactory(year=2024), number=3)
    other = factory(campaign=CampaignFactory(year=2025), number=3)
    assert other.pk is not None


@pytest.mark.parametrize("factory", [ContentAreaFactory, KeyArrangementFactory])
def test_database_refuses_heading_number_zero(factory):
    refused(lambda: factory(number=0))


def test_full_clean_names_a_duplicate_arrangement_number():
    campaign = CampaignFactory()
    KeyArrangementFactory(campaign=campaign, number=9)
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        KeyArrangementFactory.build(campaign=campaign, number=9).full_clean()
    with translation.override("en"):
        assert caught.value.messages == [
            "This campaign already has a key arrangement with this number."
        ]


# --- Regions --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["44000", "040000", "44000A", "44 000"])
def test_database_refuses_a_malformed_region_code(code):
    refused(lambda: Region.objects.create(code=code, name_zh="错", level=PROVINCE))


def test_database_refuses_a_duplicate_region_code():
    ProvinceFactory(code="440000")
    refused(lambda: Region.objects.create(code="440000", name_zh="重复", level=PROVINCE))


def test_database_refuses_a_province_with_a_parent():
    parent = ProvinceFactory(code="440000")
    refused(
        lambda: Region.objects.create(code="450000", name_zh="广西", level=PROVINCE, parent=parent)
    )


@pytest.mark.parametrize("level", [CITY, COUNTY])
def test_database_refuses_a_city_or_county_without_parent(level):
    refused(lambda: Region.objects.create(code="440300", name_zh="深圳", level=level))


def test_database_refuses_a_province_whose_code_is_not_a_provincial_code():
    refused(lambda: Region.objects.create(code="440300", name_zh="深圳", level=PROVINCE))


def test_database_refuses_a_city_with_a_provincial_code():
    parent = ProvinceFactory(code="440000")
    refused(lambda: Region.objects.create(code="450000", name_zh="错", level=CITY, parent=parent))


def test_database_refuses_an_unknown_region_level():
    refused(lambda: Region.objects.create(code="440000", name_zh="广东", level="planet"))


def test_gb2260_hierarchy_decides_what_a_region_covers():
    guangdong = ProvinceFactory(code="440000")
    shenzhen = CityFactory(code="440300", parent=guangdong)
    futian = CountyFactory(code="440304", parent=shenzhen)
    guangzhou = CityFactory(code="440100", parent=guangdong)
    guangxi = ProvinceFactory(code="450000")
    assert guangdong.covers(shenzhen) and guangdong.covers(futian) and guangdong.covers(guangdong)
    assert shenzhen.covers(futian) and not shenzhen.covers(guangzhou)
    assert not guangdong.covers(guangxi) and not futian.covers(shenzhen)
    assert not guangdong.covers(None)


def test_a_county_level_city_under_a_province_covers_only_itself():
    # Common data sets load 济源市 (419001) as a city directly under Henan.
    henan = ProvinceFactory(code="410000")
    jiyuan = CityFactory(code="419001", parent=henan)
    sibling = CityFactory(code="419002", parent=henan)
    assert jiyuan.scope_prefix == "419001"
    assert not jiyuan.covers(sibling)


def test_full_clean_explains_region_mistakes_on_their_fields():
    guangdong = ProvinceFactory(code="440000", name_en="Guangdong")
    assert field_errors(Region(code="4403", name_zh="深圳", level=CITY, parent=guangdong)) == {
        "code": ["A region code has six digits (GB/T 2260), e.g. 110000."]
    }
    assert field_errors(Region(code="450300", name_zh="桂林", level=CITY, parent=guangdong)) == {
        "parent": ["The code 450300 does not lie in Guangdong."]
    }
    hainan = Region(code="460000", name_zh="海南", level=PROVINCE, parent=guangdong)
    assert field_errors(hainan) == {"parent": ["A province has no parent region."]}
    assert field_errors(Region(code="440300", name_zh="深圳", level=PROVINCE)) == {
        "code": ["A provincial code ends in 0000, e.g. 440000."]
    }
    shenzhen = CityFactory(code="440300", parent=guangdong)
    assert field_errors(Region(code="440301", name_zh="区", level=CITY, parent=shenzhen)) == {
        "parent": ["The parent region must be of a higher level."]
    }


# --- Departments -----------------------------------------------------------------------------


def test_database_refuses_a_national_department_with_a_region():
    refused(lambda: NationalDepartmentFactory(region=ProvinceFactory()))


@pytest.mark.parametrize(
    "level", [DepartmentLevel.PROVINCIAL, DepartmentLevel.CITY, DepartmentLevel.COUNTY]
)
def test_database_refuses_a_regional_department_without_a_region(level):
    refused(lambda: DepartmentFactory(level=level, region=None))


def test_database_refuses_an_unknown_department_level():
    refused(lambda: DepartmentFactory(level="galactic"))


def test_database_refuses_a_second_lead_department():
    NationalDepartmentFactory(name_zh="国家市场监督管理总局", is_lead=True)
    refused(lambda: NationalDepartmentFactory(name_zh="工业和信息化部", is_lead=True))


def test_many_departments_are_not_the_lead():
    NationalDepartmentFactory(is_lead=True)
    NationalDepartmentFactory(is_lead=False)
    NationalDepartmentFactory(is_lead=False)


def test_database_refuses_a_regional_lead_department():
    refused(lambda: DepartmentFactory(is_lead=True))


def test_database_refuses_two_national_departments_of_one_name():
    NationalDepartmentFactory(name_zh="农业农村部")
    refused(lambda: NationalDepartmentFactory(name_zh="农业农村部"))


def test_database_refuses_two_departments_of_one_name_in_one_region():
    guangdong = ProvinceFactory(code="440000")
    DepartmentFactory(name_zh="广东省市场监督管理局", region=guangdong)
    refused(lambda: DepartmentFactory(name_zh="广东省市场监督管理局", region=guangdong))


def test_one_name_may_recur_in_other_regions_and_nationally():
    name = "市场监督管理局"
    DepartmentFactory(name_zh=name, region=ProvinceFactory(code="440000"))
    DepartmentFactory(name_zh=name, region=ProvinceFactory(code="450000"))
    NationalDepartmentFactory(name_zh=name)


def test_full_clean_explains_department_mistakes_on_their_fields():
    shenzhen = CityFactory(code="440300", parent=ProvinceFactory(code="440000"))
    provincial_in_a_city = DepartmentFactory.build(
        level=DepartmentLevel.PROVINCIAL, region=shenzhen
    )
    assert field_errors(provincial_in_a_city) == {
        "region": ["A provincial department serves a province."]
    }
    national_lead = NationalDepartmentFactory(name_zh="国家市场监督管理总局", is_lead=True)
    second = NationalDepartmentFactory.build(name_zh="海关总署", is_lead=True)
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        second.full_clean()
    with translation.override("en"):
        assert caught.value.messages == ["Another department already leads the campaign."]
    assert national_lead.is_lead


# --- Activities ------------------------------------------------------------------------------


def test_the_factory_activity_is_valid():
    activity = ActivityFactory()
    activity.full_clean()
    assert Activity.objects.get() == activity


@pytest.mark.parametrize("hours", [0, -2])
def test_database_refuses_an_activity_that_does_not_end_after_it_starts(hours):
    refused(
        lambda: ActivityFactory(
            starts_at=at(2030, 9, 10), ends_at=at(2030, 9, 10) + dt.timedelta(hours=hours)
        )
    )


def test_database_refuses_capacity_zero():
    refused(lambda: ActivityFactory(capacity=0))


def test_an_empty_capacity_means_no_limit():
    activity = ActivityFactory(capacity=None)
    activity.full_clean()


def test_database_refuses_sign_up_without_a_window():
    refused(lambda: ActivityFactory(signup_enabled=True, signup_opens_at=None))
    refused(lambda: ActivityFactory(signup_enabled=True, signup_closes_at=None))


def test_an_activity_without_sign_up_needs_no_window():
    ActivityFactory(signup_enabled=False, signup_opens_at=None, signup_closes_at=None).full_clean()


@pytest.mark.parametrize("signup_enabled", [True, False])
def test_database_refuses_a_window_that_closes_before_it_opens(signup_enabled):
    refused(
        lambda: ActivityFactory(
            signup_enabled=signup_enabled,
            signup_opens_at=at(2030, 9, 5),
            signup_closes_at=at(2030, 9, 1),
        )
    )


@pytest.mark.parametrize("signup_enabled", [True, False])
def test_database_refuses_a_window_that_closes_after_the_activity_ends(signup_enabled):
    refused(
        lambda: ActivityFactory(
            signup_enabled=signup_enabled,
            starts_at=at(2030, 9, 10, 9),
            ends_at=at(2030, 9, 10, 12),
            signup_opens_at=at(2030, 9, 1),
            signup_closes_at=at(2030, 9, 10, 13),
        )
    )


def test_database_refuses_a_window_that_opens_after_the_activity_ends():
    refused(
        lambda: ActivityFactory(
            signup_enabled=False,
            starts_at=at(2030, 9, 10, 9),
            ends_at=at(2030, 9, 10, 12),
            signup_opens_at=at(2030, 9, 11),
            signup_closes_at=None,
        )
    )


def test_sign_up_may_stay_open_until_the_activity_ends():
    activity = ActivityFactory(
        starts_at=at(2030, 9, 10, 9),
        ends_at=at(2030, 9, 10, 12),
        signup_opens_at=at(2030, 9, 1),
        signup_closes_at=at(2030, 9, 10, 12),
    )
    activity.full_clean()


def test_database_refuses_an_activity_with_neither_venue_nor_link():
    refused(lambda: ActivityFactory(venue="", online_url=""))


def test_an_online_activity_needs_no_venue():
    ActivityFactory(venue="", online_url="https://live.example.cn/quality-month").full_clean()


@pytest.mark.parametrize("status", [s for s in ActivityStatus.values if s != ActivityStatus.DRAFT])
def test_database_refuses_an_activity_beyond_draft_without_the_no_fee_declaration(status):
    refused(lambda: ActivityFactory(status=status, no_fee_declared=False))


def test_a_draft_may_wait_for_the_no_fee_declaration():
    ActivityFactory(status=ActivityStatus.DRAFT, no_fee_declared=False).full_clean()


def test_database_refuses_an_attendee_limit_below_one():
    refused(lambda: ActivityFactory(attendees_per_enterprise=0))


def test_database_refuses_an_unknown_activity_status():
    refused(lambda: ActivityFactory(status="published"))


def test_full_clean_explains_activity_mistakes_on_their_fields():
    activity = changed(
        ActivityFactory(),
        starts_at=at(2030, 9, 10, 12),
        ends_at=at(2030, 9, 10, 9),
        signup_opens_at=at(2030, 9, 5),
        signup_closes_at=at(2030, 9, 1),
        capacity=0,
        attendees_per_enterprise=0,
        venue="",
        online_url="",
        no_fee_declared=False,
        status=ActivityStatus.SUBMITTED,
    )
    errors = field_errors(activity)
    assert errors == {
        "ends_at": ["An activity must end after it starts."],
        "signup_closes_at": ["Sign-up must open before it closes."],
        "capacity": ["Ensure this value is greater than or equal to 1."],
        "attendees_per_enterprise": ["Ensure this value is greater than or equal to 1."],
        "venue": ["Give a venue, an online link, or both."],
        "no_fee_declared": [
            "Declare that enterprises are charged no fee before the activity leaves the draft."
        ],
    }
    assert isinstance(first_message(activity, "ends_at"), Promise)


def test_full_clean_asks_for_the_sign_up_window_when_sign_up_is_enabled():
    activity = changed(
        ActivityFactory(), signup_enabled=True, signup_opens_at=None, signup_closes_at=None
    )
    assert field_errors(activity) == {
        "signup_opens_at": ["Say when sign-up opens."],
        "signup_closes_at": ["Say when sign-up closes."],
    }


def test_full_clean_refuses_a_window_closing_after_the_end():
    activity = changed(
        ActivityFactory(),
        starts_at=at(2030, 9, 10, 9),
        ends_at=at(2030, 9, 10, 12),
        signup_opens_at=at(2030, 9, 1),
        signup_closes_at=at(2030, 9, 11),
    )
    assert field_errors(activity) == {
        "signup_closes_at": ["Sign-up must close by the time the activity ends."]
    }


def test_full_clean_refuses_an_arrangement_of_another_year():
    activity = changed(
        ActivityFactory(campaign=CampaignFactory(year=2024)),
        key_arrangement=KeyArrangementFactory(campaign=CampaignFactory(year=2025)),
    )
    assert field_errors(activity) == {
        "key_arrangement": ["Choose a key arrangement of this activity's campaign."]
    }
