"""Refresh the translation catalogues and compile them, without needing msgfmt at run time.

    manage.py update_catalogues          # extract (needs GNU gettext), fill English, compile
    manage.py update_catalogues --check  # fail if any message lacks a Chinese or English text

Source strings are English. The English catalogue repeats them (so it is complete); the
Chinese one is translated by us.
Compiled .mo files are committed, so a deployment needs no gettext tools.
"""

from pathlib import Path

import polib
from django.conf import settings
from django.core.management import BaseCommand, CommandError, call_command

LANGUAGES = ("zh_Hans", "en")
IGNORE = [".venv/*", "venv/*", "staticfiles/*", "media/*", "node_modules/*", "tests/*", "bench/*"]


def catalogue_path(language: str) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po"


def missing_entries(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if not e.obsolete and ("fuzzy" in e.flags or not _translated(e))]


def _translated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


class Command(BaseCommand):
    help = "Extract messages, fill the English catalogue, compile both catalogues."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only check completeness.")
        parser.add_argument(
            "--no-extract", action="store_true", help="Skip makemessages (no gettext needed)."
        )

    def handle(self, *args, check=False, no_extract=False, **options):
        if not check and not no_extract:
            call_command(
                "makemessages",
                locale=list(LANGUAGES),
                ignore_patterns=IGNORE,
                no_obsolete=True,
                verbosity=0,
            )
        problems = []
        for language in LANGUAGES:
            path = catalogue_path(language)
            if not path.exists():
                raise CommandError(f"{path} is missing: run makemessages first.")
            po = polib.pofile(str(path), wrapwidth=100)
            if language == "en" and not check:
                # The English text is the source text itself (never a fuzzy guess).
                for entry in po:
                    if "fuzzy" in entry.flags:
                        entry.flags.remove("fuzzy")
                    entry.previous_msgid = entry.previous_msgid_plural = None
                    if entry.msgid_plural:
                        entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
                    else:
                        entry.msgstr = entry.msgid
            if language == "zh_Hans":
                po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
            missing = missing_entries(po)
            problems += [f"{language}: {e.msgid!r}" for e in missing]
            if not check:
                po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
                po.save(str(path))
                po.save_as_mofile(str(path.with_suffix(".mo")))
            self.stdout.write(f"{language}: {len(po)} messages, {len(missing)} untranslated")
        if problems:
            message = "Untranslated messages:\n" + "\n".join(problems[:200])
            if check:
                raise CommandError(message)
            self.stderr.write(message)
