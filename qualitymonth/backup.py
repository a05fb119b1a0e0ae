"""Backing up a whole installation and restoring it into an empty one.

A backup is a directory:

    manifest.json          what was backed up, to verify a restore against (see `Manifest`)
    database.dump          PostgreSQL: ``pg_dump --format=custom`` of the configured database
    database.sqlite3       SQLite: a copy made with SQLite's online backup API
    media/default/...      every file of the default storage (public uploads)
    media/private/...      every file of the private storage (evidence, feedback media)

The manifest records the time, the portal's version and git commit, the migrations applied per
app, the rows per model and every file with its size and SHA-256. The counts are taken in the same
database snapshot the dump is made from (PostgreSQL exports the snapshot to pg_dump; SQLite counts
the copy), so a restore must reproduce them exactly, even of a portal in use during the backup.

Files go through the Storage API (so an S3 bucket works as well as a folder) and are streamed in
chunks, never held in memory whole.

A restore goes into an EMPTY installation only: a database without tables and storages without
files. It never deletes anything: emptying a database is an operator's deliberate act (the audit
log's append-only triggers refuse TRUNCATE and DELETE anyway), and the dump recreates the schema
exactly as it was, triggers included, so the data never meet a schema of another version. The
dump's data are loaded by COPY, which fires no UPDATE/DELETE/TRUNCATE trigger; the triggers
themselves are created after the data, as pg_restore always orders them.
"""

import hashlib
import json
import os
import posixpath
import shutil
import sqlite3
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import connections
from django.utils import timezone

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
MEDIA = "media"
STORAGE_ALIASES = ("default", "private")
CHUNK = 1024 * 1024

# libpq connection keywords Django's OPTIONS may carry, and the environment variables that set
# them for pg_dump and pg_restore (the password never appears on a command line).
_LIBPQ_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",  # not a password: the name of libpq's variable  # nosec B105
    "dbname": "PGDATABASE",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


class BackupError(Exception):
    """A backup or restore that cannot be made or does not verify; the message says why."""


# --- where things are ----------------------------------------------------------------------------


def database_settings(alias: str = "default") -> dict[str, Any]:
    return connections[alias].settings_dict


def _vendor(settings_dict: dict[str, Any]) -> str:
    engine = settings_dict["ENGINE"]
    if engine.endswith("postgresql"):
        return "postgresql"
    if engine.endswith("sqlite3"):
        return "sqlite"
    raise BackupError(f"Backups support PostgreSQL and SQLite, not {engine}.")


def libpq_params(settings_dict: dict[str, Any]) -> dict[str, str]:
    params = {
        "dbname": settings_dict.get("NAME"),
        "user": settings_dict.get("USER"),
        "password": settings_dict.get("PASSWORD"),
        "host": settings_dict.get("HOST"),
        "port": settings_dict.get("PORT"),
    }
    for key, value in (settings_dict.get("OPTIONS") or {}).items():
        if key in _LIBPQ_ENV and key not in params:
            params[key] = value
    return {k: str(v) for k, v in params.items() if v not in (None, "")}


def _libpq_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in libpq_params(settings_dict).items():
        env[_LIBPQ_ENV[key]] = value
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools (Debian: "
            f"postgresql-client) of the server's major version or newer."
        )
    return path


def _run(args: list[str], settings_dict: dict[str, Any]) -> None:
    result = subprocess.run(  # noqa: S603 - fixed tool, arguments built here, no shell  # nosec B603
        args, env=_libpq_env(settings_dict), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tool = Path(args[0]).name
        raise BackupError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def model_tables() -> dict[str, str]:
    """Every table the portal's models own (many-to-many tables too), by model label."""
    tables = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.managed and not meta.proxy and not meta.swapped:
            tables[meta.label] = meta.db_table
    return dict(sorted(tables.items()))


def _connect(settings_dict: dict[str, Any]):
    """A DB-API connection of our own (never Django's, which may sit in a test's transaction)."""
    if _vendor(settings_dict) == "postgresql":
        import psycopg

        return psycopg.connect(**libpq_params(settings_dict), autocommit=True)
    return sqlite3.connect(str(settings_dict["NAME"]), isolation_level=None)


def _table_names(conn, vendor: str) -> set[str]:
    if vendor == "postgresql":
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return {row[0] for row in conn.execute(sql).fetchall()}


def _database_state(conn, vendor: str) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Rows per model and migrations per app, as `conn` sees them."""
    existing = _table_names(conn, vendor)
    counts = {}
    for label, table in model_tables().items():
        if table in existing:
            counts[label] = conn.execute(f"SELECT COUNT(*) FROM {_quote(table)}").fetchone()[0]  # noqa: S608 - table names from the models  # nosec B608
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in existing:
        rows = conn.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in rows.fetchall():
            migrations.setdefault(app, []).append(name)
    return counts, migrations


def database_state(settings_dict: dict[str, Any]) -> tuple[dict[str, int], dict[str, list[str]]]:
    vendor = _vendor(settings_dict)
    conn = _connect(settings_dict)
    try:
        return _database_state(conn, vendor)
    finally:
        conn.close()


# --- files ---------------------------------------------------------------------------------------


class _HashingWriter:
    """Writes to a file while counting and hashing. Deliberately not seekable, so that boto3
    writes an S3 object's parts in order."""

    def __init__(self, target):
        self.target = target
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.target.write(data) if self.target is not None else len(data)


def _stream(storage: Storage, name: str, target) -> tuple[int, str]:
    """Copy one stored file into `target` (None: only hash it) in chunks: its size and SHA-256."""
    writer = _HashingWriter(target)
    with storage.open(name, "rb") as source:
        s3_object = getattr(source, "obj", None)
        if s3_object is not None and hasattr(s3_object, "download_fileobj"):
            # django-storages' S3File would first download the whole object into memory.
            s3_object.download_fileobj(writer)
        else:
            for chunk in source.chunks(CHUNK):
                writer.write(chunk)
    return writer.size, writer.digest.hexdigest()


def stored_files(storage: Storage, path: str = "") -> Iterator[str]:
    """Every file name in `storage`, depth first, in name order."""
    try:
        directories, files = storage.listdir(path)
    except FileNotFoundError:  # a local storage whose folder does not exist yet: empty
        return
    for name in sorted(files):
        yield posixpath.join(path, name) if path else name
    for directory in sorted(directories):
        yield from stored_files(storage, posixpath.join(path, directory) if path else directory)


def _local_path(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise BackupError(f"The file name {name!r} in the manifest leaves the backup directory.")
    return path


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- the manifest --------------------------------------------------------------------------------


@dataclass
class Manifest:
    created_at: str
    portal: dict[str, Any]
    database: dict[str, Any]
    migrations: dict[str, list[str]]
    counts: dict[str, int]
    files: dict[str, list[dict[str, Any]]]
    format: int = FORMAT

    @classmethod
    def read(cls, directory: Path) -> "Manifest":
        path = directory / MANIFEST
        if not path.is_file():
            raise BackupError(f"{directory} is not a backup: it has no {MANIFEST}.")
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise BackupError(f"Unknown backup format {data.get('format')!r} (expected {FORMAT}).")
        return cls(**data)

    def write(self, directory: Path) -> None:
        text = json.dumps(self.__dict__, ensure_ascii=False, indent=1, sort_keys=True)
        (directory / MANIFEST).write_text(text + "\n", encoding="utf-8")

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def portal_version() -> dict[str, Any]:
    base = Path(settings.BASE_DIR)
    version = None
    try:
        with (base / "pyproject.toml").open("rb") as f:
            version = tomllib.load(f)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        pass
    commit = None
    git = shutil.which("git")
    if git and (base / ".git").exists():
        result = subprocess.run(  # noqa: S603 - fixed arguments  # nosec B603
            [git, "-C", str(base), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        commit = (result.stdout.strip() or None) if result.returncode == 0 else None
    return {"version": version, "git_commit": commit}


# --- backup --------------------------------------------------------------------------------------


def backup_create(
    directory: Path | str,
    *,
    settings_dict: dict[str, Any] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> Manifest:
    """Back the database and both storages up into `directory` (new, or an empty folder).

    Steps: dump the database (PostgreSQL: a REPEATABLE READ snapshot exported to
    ``pg_dump --format=custom``, counted and its migrations read in that same snapshot; SQLite: the
    online backup API, counted in the copy); stream every file of both storages into
    ``media/<storage>/`` hashing it on the way; write the manifest last, so a directory without
    one is an unfinished backup. Raises BackupError.
    """
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty: back up into a new directory.")
    directory.mkdir(parents=True, exist_ok=True)
    settings_dict = settings_dict or database_settings()
    vendor = _vendor(settings_dict)
    created_at = timezone.now()

    progress("Dumping the database …")
    if vendor == "postgresql":
        dump = directory / PG_DUMP
        counts, migrations = _pg_dump(settings_dict, dump)
    else:
        dump = directory / SQLITE_COPY
        counts, migrations = _sqlite_backup(settings_dict, dump)
    database = {
        "vendor": vendor,
        "file": dump.name,
        "size": dump.stat().st_size,
        "sha256": _sha256_of(dump),
    }

    files = {}
    for alias in STORAGE_ALIASES:
        storage = storages[alias]
        root = directory / MEDIA / alias
        listed = []
        for name in stored_files(storage):
            target = _local_path(root, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                size, sha256 = _stream(storage, name, out)
            listed.append({"name": name, "size": size, "sha256": sha256})
        files[alias] = listed
        progress(f"Copied {len(listed)} files of the {alias} storage.")

    manifest = Manifest(
        created_at=created_at.isoformat(),
        portal=portal_version(),
        database=database,
        migrations=migrations,
        counts=counts,
        files=files,
    )
    manifest.write(directory)
    return manifest


def _pg_dump(settings_dict, dump: Path):
    conn = _connect(settings_dict)
    try:
        # The counts and pg_dump see one and the same moment of a database in use.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        counts, migrations = _database_state(conn, "postgresql")
        _run(
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot}",
                f"--file={dump}",
            ],
            settings_dict,
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return counts, migrations


def _sqlite_backup(settings_dict, dump: Path):
    source = sqlite3.connect(str(settings_dict["NAME"]))
    target = sqlite3.connect(str(dump))
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    conn = sqlite3.connect(str(dump))
    try:
        return _database_state(conn, "sqlite")
    finally:
        conn.close()


# --- restore -------------------------------------------------------------------------------------


@dataclass
class Verification:
    """What a restored installation holds compared with the manifest."""

    manifest: Manifest
    count_mismatches: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    migration_mismatches: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    extra_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.count_mismatches
            or self.migration_mismatches
            or self.missing_files
            or self.extra_files
            or self.changed_files
        )

    def summary(self) -> list[str]:
        m = self.manifest
        lines = [
            f"Backup of {m.created_at} (portal {m.portal.get('version')}, "
            f"commit {(m.portal.get('git_commit') or 'unknown')[:12]}).",
            f"Database: {len(m.counts)} tables, {m.rows} rows; "
            + (
                "every count matches."
                if not self.count_mismatches
                else f"{len(self.count_mismatches)} tables differ."
            ),
            "Migrations: "
            + ("as recorded." if not self.migration_mismatches else "differ from the backup."),
        ]
        for alias, listed in m.files.items():
            size = sum(f["size"] for f in listed)
            lines.append(f"Files in the {alias} storage: {len(listed)} ({size} bytes).")
        problems = len(self.missing_files) + len(self.extra_files) + len(self.changed_files)
        lines.append(
            "Every file present with its size and SHA-256."
            if not problems
            else f"{problems} files missing, extra or changed."
        )
        for label, (expected, found) in sorted(self.count_mismatches.items()):
            lines.append(f"  {label}: {expected} rows in the backup, {found} restored")
        lines += [f"  migrations: {app}" for app in self.migration_mismatches]
        lines += [f"  missing: {name}" for name in self.missing_files]
        lines += [f"  extra: {name}" for name in self.extra_files]
        lines += [f"  changed: {name}" for name in self.changed_files]
        return lines


def _refuse_unless_empty(settings_dict, vendor: str) -> None:
    if vendor == "sqlite" and not Path(str(settings_dict["NAME"])).exists():
        return
    conn = _connect(settings_dict)
    try:
        tables = sorted(_table_names(conn, vendor))
    finally:
        conn.close()
    if tables:
        shown = ", ".join(tables[:5]) + (" …" if len(tables) > 5 else "")
        raise BackupError(
            f"The database {settings_dict.get('NAME')} is not empty ({len(tables)} tables: "
            f"{shown}). A restore goes into an empty database only: create a new one and do not "
            f"run migrate before restoring."
        )
    for alias in STORAGE_ALIASES:
        first = next(stored_files(storages[alias]), None)
        if first is not None:
            raise BackupError(
                f"The {alias} storage is not empty (it holds {first}). A restore goes into empty "
                f"storages only."
            )


def _check_backup(directory: Path, manifest: Manifest) -> None:
    """Refuse a damaged backup before anything is restored."""
    dump = directory / manifest.database["file"]
    if not dump.is_file() or _sha256_of(dump) != manifest.database["sha256"]:
        raise BackupError(f"The database dump {dump} is missing or damaged (SHA-256 differs).")
    for alias, listed in manifest.files.items():
        root = directory / MEDIA / alias
        for entry in listed:
            path = _local_path(root, entry["name"])
            if not path.is_file() or _sha256_of(path) != entry["sha256"]:
                raise BackupError(f"The backed-up file {path} is missing or damaged.")


def backup_restore(
    directory: Path | str,
    *,
    settings_dict: dict[str, Any] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> Verification:
    """Restore the backup in `directory` into an empty installation, then verify it.

    Steps: read the manifest and check the dump's and every file's SHA-256 (a damaged backup is
    refused before anything is written); refuse a database of another kind, a database with
    tables, or a storage with files (BackupError); restore the database (PostgreSQL: pg_restore
    in one transaction, objects owned by the connecting role; SQLite: the backup API); save every
    file through its storage under its recorded name; verify counts, migrations and files against
    the manifest (`backup_verify`).
    """
    directory = Path(directory)
    manifest = Manifest.read(directory)
    settings_dict = settings_dict or database_settings()
    vendor = _vendor(settings_dict)
    if manifest.database["vendor"] != vendor:
        raise BackupError(
            f"This is a {manifest.database['vendor']} backup; the configured database is {vendor}."
        )
    progress("Checking the backup's checksums …")
    _check_backup(directory, manifest)
    _refuse_unless_empty(settings_dict, vendor)

    progress("Restoring the database …")
    dump = directory / manifest.database["file"]
    if vendor == "postgresql":
        _run(
            [
                _tool("pg_restore"),
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                "--no-password",
                f"--dbname={libpq_params(settings_dict).get('dbname', '')}",
                str(dump),
            ],
            settings_dict,
        )
    else:
        source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
        target = sqlite3.connect(str(settings_dict["NAME"]))
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()

    for alias, listed in manifest.files.items():
        storage = storages[alias]
        root = directory / MEDIA / alias
        for entry in listed:
            with _local_path(root, entry["name"]).open("rb") as f:
                saved = storage.save(entry["name"], File(f, name=entry["name"]))
            if saved != entry["name"]:
                raise BackupError(f"The {alias} storage saved {entry['name']} as {saved}.")
        progress(f"Restored {len(listed)} files of the {alias} storage.")

    progress("Verifying …")
    return backup_verify(manifest, settings_dict=settings_dict)


def backup_verify(manifest: Manifest, *, settings_dict: dict[str, Any] | None = None):
    """Compare an installation with a backup's manifest: rows per model, migrations, and every
    file's presence, size and SHA-256 (read back through the storage)."""
    settings_dict = settings_dict or database_settings()
    counts, migrations = database_state(settings_dict)
    result = Verification(manifest)
    for label in sorted(set(manifest.counts) | set(counts)):
        expected, found = manifest.counts.get(label), counts.get(label)
        if expected != found:
            result.count_mismatches[label] = (expected, found)
    for app in sorted(set(manifest.migrations) | set(migrations)):
        if manifest.migrations.get(app) != migrations.get(app):
            result.migration_mismatches.append(app)
    for alias, listed in manifest.files.items():
        storage = storages[alias]
        expected = {f["name"]: f for f in listed}
        present = set(stored_files(storage))
        result.missing_files += [f"{alias}:{n}" for n in sorted(set(expected) - present)]
        result.extra_files += [f"{alias}:{n}" for n in sorted(present - set(expected))]
        for name in sorted(present & set(expected)):
            size, sha256 = _stream(storage, name, None)
            if (size, sha256) != (expected[name]["size"], expected[name]["sha256"]):
                result.changed_files.append(f"{alias}:{name}")
    return result
