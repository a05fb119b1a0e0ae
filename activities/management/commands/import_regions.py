"""Import or correct regions from a CSV file (format in docs/regions.md)."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from activities.reference_data import import_regions


class Command(BaseCommand):
    help = (
        "Create or update regions from a UTF-8 CSV file with the header "
        "code,name_zh,name_en,parent_code (see docs/regions.md). Nothing is written if any row "
        "has an error."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file, or - for standard input.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and write nothing."
        )
        parser.add_argument(
            "--actor", metavar="EMAIL", help="The administrator recorded in the audit log."
        )

    def handle(self, *args, file, dry_run=False, actor=None, **options):
        user = None
        if actor:
            user = get_user_model().objects.filter(email__iexact=actor).first()
            if user is None:
                raise CommandError(f"No user with the email address {actor}.")
        try:
            if file == "-":
                stdin = options.get("stdin") or sys.stdin
                result = import_regions(stdin, actor=user, dry_run=dry_run, source="stdin")
            else:
                # utf-8-sig: spreadsheet programs start their CSV files with a byte-order mark.
                with Path(file).open(encoding="utf-8-sig", newline="") as stream:
                    result = import_regions(
                        stream, actor=user, dry_run=dry_run, source=Path(file).name
                    )
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not UTF-8 text: save it as “CSV UTF-8”.") from exc
        for error in result.errors:
            self.stderr.write(error)
        if result.errors:
            raise CommandError(
                f"{len(result.errors)} error(s) in {result.rows} row(s); nothing was imported."
            )
        if dry_run:
            self.stdout.write(
                f"{result.rows} row(s) checked, no errors; nothing written (--dry-run)."
            )
            return
        self.stdout.write(self.style.SUCCESS(str(result.tally)))
