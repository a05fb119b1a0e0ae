"""Prepare next year's campaign as a copy of an earlier one."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from activities.models import Campaign
from activities.services import campaign_copy
from qualitymonth.errors import DomainError


class Command(BaseCommand):
    help = (
        "Copy a campaign with its content areas and key arrangements into a new year, e.g. "
        "`copy_campaign 2024 2025 --theme-zh ... --theme-en ...`. The copy starts in the state "
        "“preparing”; activities are not copied."
    )

    def add_arguments(self, parser):
        parser.add_argument("source_year", type=int, help="The year to copy, e.g. 2024.")
        parser.add_argument("year", type=int, help="The new year, e.g. 2025.")
        parser.add_argument(
            "--theme-zh", help="The new year's theme in Chinese (default: the old one)."
        )
        parser.add_argument(
            "--theme-en", help="The new year's theme in English (default: the old one)."
        )
        parser.add_argument(
            "--actor", metavar="EMAIL", help="The administrator recorded in the audit log."
        )

    def handle(self, *args, source_year, year, theme_zh=None, theme_en=None, actor=None, **options):
        source = Campaign.objects.filter(year=source_year).first()
        if source is None:
            raise CommandError(f"There is no campaign for {source_year}.")
        user = None
        if actor:
            user = get_user_model().objects.filter(email__iexact=actor).first()
            if user is None:
                raise CommandError(f"No user with the email address {actor}.")
        try:
            campaign = campaign_copy(
                source, year=year, actor=user, theme_zh=theme_zh, theme_en=theme_en
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Campaign {campaign.year} prepared from {source.year}: "
                f"{campaign.content_areas.count()} content areas, "
                f"{campaign.key_arrangements.count()} key arrangements, "
                f"{campaign.month_start:%Y-%m-%d} to {campaign.month_end:%Y-%m-%d}, "
                f"feedback by {campaign.feedback_deadline:%Y-%m-%d}. Theme: {campaign.theme_zh}"
            )
        )
