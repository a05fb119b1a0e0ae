"""Fixtures and rules for the whole suite (see DEVELOPERS.md, "Tests").

- Tests marked ``postgres`` need PostgreSQL. Where ``./portal test`` had to fall back to SQLite
  (``PORTAL_TEST_DB=sqlite-fallback``), or on any SQLite run, they are skipped and the summary
  says so loudly.
- In CI (``CI=true``) a skipped test is a failure: CI must run every test.
"""

import os

import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files go to a fresh folder per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private-media"), "base_url": None},
        },
    }


@pytest.fixture(autouse=True)
def _fast_and_quiet(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The public list's cache would carry one test's activities into the next.
    settings.PUBLIC_LIST_CACHE_SECONDS = 0
    settings.PUBLIC_DETAIL_CACHE_SECONDS = 0
    settings.CURRENT_CAMPAIGN_CACHE_SECONDS = 0


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """No persistent connections in tests: the live server's request threads would otherwise
    keep sessions open and PostgreSQL would refuse to drop the test database at the end."""
    from django.db import connections

    for connection in connections.all():
        connection.settings_dict["CONN_MAX_AGE"] = 0


@pytest.fixture(scope="session", autouse=True)
def _flush_may_empty_the_audit_log():
    """Transactional tests (live_server) end with Django's flush, which empties every table. The
    audit log's append-only triggers refuse that, so they are lifted for exactly the flush, in
    the same transaction, and put back. Nothing else in a test can empty the audit log."""
    from django.db import transaction
    from django.db.backends.base.operations import BaseDatabaseOperations

    from qualitymonth.models import AuditLogEntry

    table = AuditLogEntry._meta.db_table
    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        if not any(table in sql for sql in sql_list):
            return original(self, sql_list)
        vendor = self.connection.vendor
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            if vendor == "postgresql":
                cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
                restore = [f'ALTER TABLE "{table}" ENABLE TRIGGER USER']
            elif vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                    [table],
                )
                triggers = cursor.fetchall()
                for name, _sql in triggers:
                    cursor.execute(f'DROP TRIGGER "{name}"')
                restore = [sql for _name, sql in triggers]
            else:
                restore = []
            for sql in sql_list:
                cursor.execute(sql)
            for sql in restore:
                cursor.execute(sql)
        return None

    patch = pytest.MonkeyPatch()
    patch.setattr(BaseDatabaseOperations, "execute_sql_flush", execute_sql_flush)
    yield
    patch.undo()


_SKIPPED = pytest.StashKey[list]()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def _on_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _skip_reason(report) -> str:
    if isinstance(report.longrepr, tuple):  # (path, line, "Skipped: reason")
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)


def pytest_configure(config):
    config.stash[_SKIPPED] = []


def pytest_report_header(config):
    from django.conf import settings

    database = settings.DATABASES["default"]
    where = os.environ.get("PORTAL_TEST_DB", "settings")
    lines = [f"database: {database['ENGINE'].rsplit('.', 1)[-1]} ({where})"]
    if _in_ci():
        lines.append("CI=true: every skipped test counts as a failure")
    return lines


def pytest_collection_modifyitems(config, items):
    if _on_postgres():
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL, this run uses SQLite: run ./portal test where the PostgreSQL "
        "server is installed, or set DATABASE_URL"
    )
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        item.config.stash[_SKIPPED].append((item.nodeid, reason))
        if _in_ci():
            report.outcome = "failed"
            report.longrepr = f"A skipped test fails in CI (CI=true): {reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    if report.skipped:
        collector.config.stash[_SKIPPED].append((report.nodeid, _skip_reason(report)))
        if _in_ci():
            report.outcome = "failed"
            report.longrepr = "A skipped module fails in CI (CI=true): " + _skip_reason(report)
    return report


def pytest_sessionfinish(session, exitstatus):
    if _in_ci() and session.config.stash.get(_SKIPPED, []) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = config.stash.get(_SKIPPED, [])
    fallback = os.environ.get("PORTAL_TEST_DB") == "sqlite-fallback"
    if not skipped and not fallback:
        return
    write = terminalreporter.write_line
    if fallback:
        terminalreporter.section("SQLITE FALLBACK, NOT POSTGRESQL", sep="!", red=True, bold=True)
        write("No PostgreSQL was available, so this run used SQLite: tests marked", red=True)
        write("'postgres' were SKIPPED and this run proves nothing about PostgreSQL.", red=True)
    if skipped:
        title = f"{len(skipped)} TEST(S) SKIPPED" + (": A FAILURE IN CI" if _in_ci() else "")
        terminalreporter.section(title, sep="!", red=True, bold=True)
        for nodeid, reason in skipped:
            write(f"{nodeid}: {reason}", yellow=True)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the portal's default language, whatever the one before left active."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)
