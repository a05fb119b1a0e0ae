"""Preparing next year's campaign by copying this year's (service and command)."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from activities.enums import CampaignStatus
from activities.models import Campaign
from activities.services import campaign_copy
from qualitymonth.errors import DomainError
from qualitymonth.models import AuditLogEntry
from tests.factories import AdminFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign_2024():
    call_command("load_reference_data", stdout=io.StringIO())
    return Campaign.objects.get(year=2024)


def test_copy_brings_the_nine_arrangements_and_five_content_areas_into_the_new_year(campaign_2024):
    admin = AdminFactory()

    copy = campaign_copy(
        campaign_2024,
        year=2025,
        actor=admin,
        theme_zh="质量强国 质量惠民",
        theme_en="Quality for a strong country and for the people",
    )

    assert copy.year == 2025
    assert copy.status == CampaignStatus.PREPARING
    assert copy.name_zh == "2025年全国“质量月”活动"
    assert copy.name_en == '2025 National "Quality Month"'
    assert (copy.theme_zh, copy.theme_en) == (
        "质量强国 质量惠民",
        "Quality for a strong country and for the people",
    )
    assert (copy.month_start, copy.month_end, copy.feedback_deadline) == (
        dt.date(2025, 9, 1),
        dt.date(2025, 9, 30),
        dt.date(2025, 10, 31),
    )

    def headings(campaign, relation):
        return list(
            getattr(campaign, relation)
            .order_by("number")
            .values_list("number", "title_zh", "title_en", "description_zh", "description_en")
        )

    assert len(headings(copy, "key_arrangements")) == 9
    assert len(headings(copy, "content_areas")) == 5
    assert headings(copy, "key_arrangements") == headings(campaign_2024, "key_arrangements")
    assert headings(copy, "content_areas") == headings(campaign_2024, "content_areas")
    # The source year is untouched.
    campaign_2024.refresh_from_db()
    assert campaign_2024.status == CampaignStatus.OPEN
    assert campaign_2024.key_arrangements.count() == 9


def test_copy_keeps_the_old_theme_until_the_new_one_is_known(campaign_2024):
    copy = campaign_copy(campaign_2024, year=2026, actor=None)
    assert copy.theme_zh == campaign_2024.theme_zh
    assert copy.month_start == dt.date(2026, 9, 1)


def test_copy_is_recorded_in_the_audit_log(campaign_2024):
    admin = AdminFactory()

    copy = campaign_copy(campaign_2024, year=2025, actor=admin)

    entry = AuditLogEntry.objects.for_object(copy).get()
    assert entry.action == "activities.campaign.copied"
    assert entry.actor == admin
    assert entry.changes["source"] == 2024
    assert (entry.changes["key_arrangements"], entry.changes["content_areas"]) == (9, 5)


def test_copy_refuses_a_year_that_has_a_campaign(campaign_2024):
    campaign_copy(campaign_2024, year=2025, actor=None)
    entries = AuditLogEntry.objects.count()

    with pytest.raises(DomainError) as refused:
        campaign_copy(campaign_2024, year=2025, actor=None, theme_zh="另一个主题")

    assert str(refused.value) == "2025年质量月活动已存在。"  # in the portal's default language
    assert refused.value.code == "campaign_year_taken"
    assert Campaign.objects.filter(year=2025).count() == 1
    assert Campaign.objects.get(year=2025).theme_zh == campaign_2024.theme_zh
    assert AuditLogEntry.objects.count() == entries


def test_copy_refuses_its_own_year_and_implausible_years(campaign_2024):
    with pytest.raises(DomainError):
        campaign_copy(campaign_2024, year=2024, actor=None)
    with pytest.raises(DomainError):
        campaign_copy(campaign_2024, year=2101, actor=None)
    assert list(Campaign.objects.values_list("year", flat=True)) == [2024]


def test_command_copies_with_the_new_theme(campaign_2024):
    admin = AdminFactory(email="admin@example.cn")
    out = io.StringIO()

    call_command(
        "copy_campaign",
        "2024",
        "2025",
        "--theme-zh",
        "新主题",
        "--theme-en",
        "A new theme",
        "--actor",
        "admin@example.cn",
        stdout=out,
    )

    copy = Campaign.objects.get(year=2025)
    assert (copy.theme_zh, copy.theme_en) == ("新主题", "A new theme")
    assert "9 key arrangements" in out.getvalue()
    assert AuditLogEntry.objects.for_object(copy).get().actor == admin


def test_command_refuses_an_existing_year_and_an_unknown_source(campaign_2024):
    call_command("copy_campaign", "2024", "2025", stdout=io.StringIO())
    with pytest.raises(CommandError, match="2025年质量月活动已存在"):
        call_command("copy_campaign", "2024", "2025", stdout=io.StringIO())
    with pytest.raises(CommandError, match="no campaign for 2019"):
        call_command("copy_campaign", "2019", "2030", stdout=io.StringIO())

