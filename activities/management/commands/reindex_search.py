"""Recompute the search text of activities (after a bulk load, or a change of the tokeniser)."""

import time

from django.core.management.base import BaseCommand
from django.db import connection

from activities.models import Activity
from activities.search import search_reindex


class Command(BaseCommand):
    help = (
        "Recompute Activity.search_text (characters and character pairs of the title, summary "
        "and description) for every activity, or for those of one campaign year."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", type=int, metavar="YEAR", help="Only this year's.")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, **options):
        started = time.monotonic()
        activities = Activity.objects.all()
        if options["campaign"]:
            activities = activities.filter(campaign__year=options["campaign"])
        count = search_reindex(activities, batch_size=options["batch_size"])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(Activity._meta.db_table)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Search text of {count} activities rewritten in "
                f"{time.monotonic() - started:.1f} s."
            )
        )
