"""Writes about campaigns. Each service runs in a transaction and writes the audit log."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from qualitymonth.audit import audit_log
from qualitymonth.errors import DomainError

from .enums import CampaignStatus
from .models import Campaign, ContentArea, KeyArrangement

FIRST_YEAR, LAST_YEAR = 1978, 2100


def _shift_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def campaign_copy(
    source: Campaign,
    *,
    year: int,
    actor,
    theme_zh: str | None = None,
    theme_en: str | None = None,
) -> Campaign:
    """Prepare the campaign of `year` as a copy of `source`, with its content areas and key
    arrangements, for administrators to adapt.

    Steps: refuse a year outside 1978–2100 or one that has a campaign already; create the campaign
    in the state "preparing" with its dates moved by the difference in years, the year in its names
    replaced, and the new theme (or the old one until it is known); copy the headings with their
    numbers, titles and descriptions; write the audit log. Activities are not copied.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DomainError(
            _("The year must lie between %(first)d and %(last)d.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR},
            code="campaign_year_implausible",
            field="year",
        )
    exists = DomainError(
        _("There is already a campaign for %(year)d.") % {"year": year},
        code="campaign_year_taken",
        field="year",
    )
    if Campaign.objects.filter(year=year).exists():
        raise exists
    shift = year - source.year
    old, new = str(source.year), str(year)
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(
                year=year,
                name_zh=source.name_zh.replace(old, new),
                name_en=source.name_en.replace(old, new),
                theme_zh=source.theme_zh if theme_zh is None else theme_zh,
                theme_en=source.theme_en if theme_en is None else theme_en,
                month_start=_shift_years(source.month_start, shift),
                month_end=_shift_years(source.month_end, shift),
                feedback_deadline=_shift_years(source.feedback_deadline, shift),
                status=CampaignStatus.PREPARING,
            )
            headings = {}
            for model in (ContentArea, KeyArrangement):
                copies = [
                    model(
                        campaign=campaign,
                        number=h.number,
                        title_zh=h.title_zh,
                        title_en=h.title_en,
                        description_zh=h.description_zh,
                        description_en=h.description_en,
                    )
                    for h in model.objects.filter(campaign=source).order_by("number")
                ]
                model.objects.bulk_create(copies)
                headings[model._meta.model_name] = len(copies)
            audit_log(
                campaign,
                "activities.campaign.copied",
                actor=actor,
                changes={
                    "source": source.year,
                    "year": year,
                    "theme_zh": campaign.theme_zh,
                    "theme_en": campaign.theme_en,
                    "content_areas": headings["contentarea"],
                    "key_arrangements": headings["keyarrangement"],
                },
            )
    except IntegrityError as exc:
        # Another administrator copied into the same year at the same moment.
        if Campaign.objects.filter(year=year).exists():
            raise exists from exc
        raise
    return campaign
