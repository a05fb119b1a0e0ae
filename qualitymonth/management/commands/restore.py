"""Restore a backup made by `manage.py backup` into an empty installation, and verify it."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from qualitymonth.backup import (
    BackupError,
    Manifest,
    backup_restore,
    backup_verify,
    database_settings,
)


class Command(BaseCommand):
    help = (
        "Restore a backup into an EMPTY installation (a database without tables, storages "
        "without files), then compare rows per model, migrations and every file's SHA-256 with "
        "the backup's manifest. With --verify-only, restore nothing and only compare."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="A directory made by `manage.py backup`.")
        parser.add_argument(
            "--database", default="default", help="The database alias to restore into (default)."
        )
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="Compare the installation with the backup without restoring anything.",
        )

    def handle(self, *args, directory, database, verify_only, **options):
        settings_dict = database_settings(database)
        try:
            if verify_only:
                result = backup_verify(Manifest.read(Path(directory)), settings_dict=settings_dict)
            else:
                result = backup_restore(
                    directory,
                    settings_dict=settings_dict,
                    progress=lambda message: self.stdout.write(message),
                )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for line in result.summary():
            self.stdout.write(line)
        if not result.ok:
            raise CommandError("The installation does not match the backup (see above).")
        self.stdout.write(
            self.style.SUCCESS(
                "Verified: the installation matches the backup."
                if verify_only
                else "Restored and verified."
            )
        )
