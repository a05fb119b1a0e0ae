"""Back the whole installation up: the database, both storages' files and a manifest."""

from django.core.management.base import BaseCommand, CommandError

from qualitymonth.backup import BackupError, backup_create, database_settings


class Command(BaseCommand):
    help = (
        "Back the database and every stored file (default and private storage) up into a new "
        "directory, with a manifest (migrations, rows per model, files with SHA-256) that "
        "`manage.py restore` verifies against. See docs/deploy.md, “Backup and restore”."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="A new (or empty) directory for the backup.")
        parser.add_argument(
            "--database", default="default", help="The database alias to back up (default)."
        )

    def handle(self, *args, directory, database, **options):
        try:
            manifest = backup_create(
                directory,
                settings_dict=database_settings(database),
                progress=lambda message: self.stdout.write(message),
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        files = sum(len(listed) for listed in manifest.files.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up into {directory}: {manifest.rows} rows in {len(manifest.counts)} "
                f"tables ({manifest.database['size']} bytes dumped), {files} files."
            )
        )
