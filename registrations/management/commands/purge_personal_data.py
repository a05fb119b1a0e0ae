"""Anonymise personal data past their retention period (also run daily by celery beat)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from registrations.retention import personal_data_purge, retention_cutoff


class Command(BaseCommand):
    help = (
        "Anonymise the contacts and attendees of registrations of campaigns whose feedback "
        "deadline lies more than PERSONAL_DATA_RETENTION_DAYS back, the reporters of fee "
        "complaints closed that long ago, and delete enterprise sign-ups not verified within "
        "UNVERIFIED_SIGNUP_RETENTION_DAYS. Statistics stay the same. Safe to run repeatedly."
    )

    def handle(self, *args, **options):
        erasure = personal_data_purge()
        self.stdout.write(
            f"Retention: {settings.PERSONAL_DATA_RETENTION_DAYS} days after the feedback deadline "
            f"(campaigns with a deadline before {retention_cutoff():%Y-%m-%d}); unverified "
            f"sign-ups {settings.UNVERIFIED_SIGNUP_RETENTION_DAYS} days."
        )
        years = ", ".join(str(year) for year in erasure.campaigns) or "none"
        self.stdout.write(
            self.style.SUCCESS(
                f"Anonymised {erasure.registrations} registrations and {erasure.attendees} "
                f"attendees (campaigns: {years}), the reporters of {erasure.fee_complaints} fee "
                f"complaints; deleted {erasure.sign_ups} unverified sign-ups."
            )
        )
