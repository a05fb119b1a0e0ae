"""`manage.py backup` and `manage.py restore`: a seeded installation round-trips into an empty
one with the same rows per model and the same files, byte for byte."""

import hashlib
import io
import json
import sqlite3
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.management import CommandError, call_command
from django.db import connections
from psycopg import sql

from qualitymonth.backup import (
    Manifest,
    backup_create,
    backup_restore,
    backup_verify,
    libpq_params,
    model_tables,
)

TARGET = "restore_target"

# Files a real installation holds: nested folders, a Chinese name, an empty file.
DEFAULT_FILES = {
    "activities/2024/poster.jpg": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40,
    "campaigns/主题海报.txt": "加强质量支撑 建设质量强国".encode(),
}
PRIVATE_FILES = {
    "complaints/2024/09/receipt.pdf": b"%PDF-1.4\n" + b"x" * 5000,
    "complaints/2024/09/empty.txt": b"",
}


def run(command: str, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def files_on_disk(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def media_roots(settings) -> tuple[Path, Path]:
    return Path(settings.MEDIA_ROOT), Path(settings.STORAGES["private"]["OPTIONS"]["location"])


def empty_storages(settings, root: Path) -> None:
    """Point both storages at new, empty folders: the installation restored into."""
    settings.MEDIA_ROOT = root / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root / "private-media"), "base_url": None},
        },
    }


def counts_by_orm() -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.label in model_tables()
    }


def counts_by_sql(settings_dict) -> dict[str, int]:
    count = sql.SQL("SELECT COUNT(*) FROM {}")
    with psycopg.connect(**libpq_params(settings_dict)) as conn:
        return {
            label: conn.execute(count.format(sql.Identifier(table))).fetchone()[0]
            for label, table in model_tables().items()
        }


@pytest.fixture
def target_database():
    """A second, empty PostgreSQL database beside the test database, known to Django as
    `restore_target`, dropped afterwards."""
    source = connections["default"].settings_dict
    name = f"{source['NAME']}_restore"
    server = {**libpq_params(source), "dbname": "postgres"}
    with psycopg.connect(**server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    connections.settings[TARGET] = {**source, "NAME": name}
    try:
        yield connections[TARGET].settings_dict
    finally:
        if hasattr(connections._connections, TARGET):
            connections[TARGET].close()
            delattr(connections._connections, TARGET)
        del connections.settings[TARGET]
        with psycopg.connect(**server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_seeded_installation_round_trips_with_identical_counts_and_files(
    settings, tmp_path, target_database
):
    run("seed_demo", "--activities", "30", "--enterprises", "20", "--registrations", "50")
    for name, content in DEFAULT_FILES.items():
        assert default_storage.save(name, ContentFile(content)) == name
    for name, content in PRIVATE_FILES.items():
        assert storages["private"].save(name, ContentFile(content)) == name
    counts = counts_by_orm()
    public_root, private_root = media_roots(settings)
    files = {"default": files_on_disk(public_root), "private": files_on_disk(private_root)}
    assert counts["registrations.Registration"] == 50
    assert counts["qualitymonth.AuditLogEntry"] > 0
    assert set(DEFAULT_FILES) <= set(files["default"])
    assert set(PRIVATE_FILES) <= set(files["private"])

    output = run("backup", str(tmp_path / "backup"))

    assert f"{sum(counts.values())} rows in {len(counts)} tables" in output
    manifest = Manifest.read(tmp_path / "backup")
    assert manifest.counts == counts
    assert manifest.portal["version"]
    assert manifest.migrations["registrations"]
    assert {f["name"]: f["sha256"] for f in manifest.files["private"]} == files["private"]

    empty_storages(settings, tmp_path / "restored")
    output = run("restore", str(tmp_path / "backup"), "--database", TARGET)

    assert "every count matches" in output
    assert "Every file present with its size and SHA-256." in output
    assert "Restored and verified." in output
    assert counts_by_sql(target_database) == counts
    public_root, private_root = media_roots(settings)
    assert files_on_disk(public_root) == files["default"]
    assert files_on_disk(private_root) == files["private"]
    # The audit log is still append-only in the restored database.
    with (
        psycopg.connect(**libpq_params(target_database)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("DELETE FROM qualitymonth_auditlogentry")

    # A second restore into the now-filled installation is refused, and nothing changes.
    with pytest.raises(CommandError, match="is not empty"):
        run("restore", str(tmp_path / "backup"), "--database", TARGET)
    assert counts_by_sql(target_database) == counts

    # --verify-only notices a file changed after the restore.
    (private_root / "complaints/2024/09/receipt.pdf").write_bytes(b"%PDF-1.4\nchanged")
    with pytest.raises(CommandError, match="does not match"):
        run("restore", str(tmp_path / "backup"), "--database", TARGET, "--verify-only")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_damaged_backup_is_refused_before_anything_is_restored(
    settings, tmp_path, target_database
):
    storages["private"].save("evidence/a.pdf", ContentFile(b"%PDF-1.4 original"))
    backup_create(tmp_path / "backup")
    (tmp_path / "backup" / "media" / "private" / "evidence" / "a.pdf").write_bytes(b"tampered")
    empty_storages(settings, tmp_path / "restored")

    with pytest.raises(CommandError, match="missing or damaged"):
        run("restore", str(tmp_path / "backup"), "--database", TARGET)

    with psycopg.connect(**libpq_params(target_database)) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone()[0] == 0
    assert not (tmp_path / "restored").exists()


def test_backing_up_into_a_directory_with_files_is_refused(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text("{}")

    with pytest.raises(CommandError, match="not empty"):
        run("backup", str(tmp_path / "old"))


def test_a_sqlite_installation_round_trips(settings, tmp_path):
    source = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "source.sqlite3")}
    target = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "target.sqlite3")}
    with sqlite3.connect(source["NAME"]) as conn:
        conn.execute("CREATE TABLE django_migrations (id integer, app text, name text)")
        conn.execute("INSERT INTO django_migrations VALUES (1, 'registrations', '0001_initial')")
        conn.execute("CREATE TABLE registrations_enterprise (id integer primary key)")
        conn.executemany("INSERT INTO registrations_enterprise VALUES (?)", [(1,), (2,), (3,)])
    for name, content in PRIVATE_FILES.items():
        storages["private"].save(name, ContentFile(content))
    files = files_on_disk(media_roots(settings)[1])

    manifest = backup_create(tmp_path / "backup", settings_dict=source)
    empty_storages(settings, tmp_path / "restored")
    result = backup_restore(tmp_path / "backup", settings_dict=target)

    assert result.ok, result.summary()
    assert manifest.counts == {"registrations.Enterprise": 3}
    assert manifest.migrations == {"registrations": ["0001_initial"]}
    with sqlite3.connect(target["NAME"]) as conn:
        assert conn.execute("SELECT count(*) FROM registrations_enterprise").fetchone() == (3,)
    assert files_on_disk(media_roots(settings)[1]) == files
    assert (
        json.loads((tmp_path / "backup" / "manifest.json").read_text())["database"]["vendor"]
        == "sqlite"
    )

    # Another row in the restored database: verification names the table.
    with sqlite3.connect(target["NAME"]) as conn:
        conn.execute("INSERT INTO registrations_enterprise VALUES (4)")
    verification = backup_verify(manifest, settings_dict=target)
    assert verification.count_mismatches == {"registrations.Enterprise": (3, 4)}
    assert "  registrations.Enterprise: 3 rows in the backup, 4 restored" in (
        verification.summary()
    )
