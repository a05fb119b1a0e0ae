"""Every string a person reads is translated, in both catalogues, and the compiled files match."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.utils import translation

from qualitymonth.management.commands.update_catalogues import (
    LANGUAGES,
    catalogue_path,
    missing_entries,
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete(language):
    po = polib.pofile(str(catalogue_path(language)))
    assert len(po) > 500
    assert [e.msgid for e in missing_entries(po)] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_its_source(language):
    path = catalogue_path(language)
    source = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural for e in polib.pofile(str(path))}
    compiled = {
        (e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural
        for e in polib.mofile(str(path.with_suffix(".mo")))
        if e.msgid
    }
    assert compiled == source, "run `manage.py update_catalogues` and commit the .mo files"


def test_chinese_is_served_by_default_and_english_on_request():
    with translation.override("zh-hans"):
        assert str(translation.gettext("Voluntary and free of charge")) == "自愿参加、免费"
    with translation.override("en"):
        english = translation.gettext("Voluntary and free of charge")
        assert english == "Voluntary and free of charge"


@pytest.mark.skipif(not shutil.which("xgettext"), reason="GNU gettext (xgettext) is not installed")
def test_no_string_in_the_code_is_missing_from_the_catalogues(tmp_path):
    """Extract afresh in a copy of the source tree: no new message may appear."""
    root = Path(__file__).resolve().parents[2]
    copy = tmp_path / "src"
    shutil.copytree(
        root,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "media", "staticfiles", "screenshots", "*.sqlite3", "__pycache__"
        ),
    )
    subprocess.run(
        [sys.executable, "manage.py", "update_catalogues"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={**os.environ, "DATABASE_URL": "sqlite://:memory:"},
    )
    for language in LANGUAGES:
        relative = catalogue_path(language).relative_to(root)
        before = {e.msgid for e in polib.pofile(str(root / relative))}
        after = polib.pofile(str(copy / relative))
        new = {e.msgid for e in after} - before
        assert new == set(), f"strings missing from the catalogues: {sorted(new)[:20]}"
        assert missing_entries(after) == []
