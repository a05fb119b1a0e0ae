"""The settings module, as an operator meets it: each case starts a fresh process with its own
environment, because settings are read once at start-up."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_KEY = "k7Qp2vXz9LmN4rT8wYb3cFhJ6sDg1aEu5iOo0PqRtUyWxZ-_vBnMqLkJhGfDsAzXc"

# Variables the settings read: a test starts from none of them, whatever the caller exported.
SETTINGS_VARIABLES = {
    "PORTAL_MODE",
    "PORTAL_TESTING",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "DATABASE_POOL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
}


def run(*args: str, **environment: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(environment, DJANGO_SETTINGS_MODULE="qualitymonth.settings")
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def database_settings(**environment: str) -> dict:
    script = (
        "import json; from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(json.dumps({k: str(db.get(k)) for k in ('ENGINE', 'NAME', 'HOST', 'PORT')}))"
    )
    result = run("-c", script, **environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(autouse=True)
def _no_dotenv():
    if (BASE_DIR / ".env").exists():
        pytest.skip("a .env file sets variables these tests control: move it away to run them")


def test_production_mode_passes_the_deployment_checks():
    result = run(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        PORTAL_MODE="production",
        SECRET_KEY=PRODUCTION_KEY,
        ALLOWED_HOSTS="zlj.samr.gov.cn",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_production_mode_turns_debug_off_and_cookies_secure():
    script = (
        "import json; from django.conf import settings as s; print(json.dumps([s.DEBUG, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.ALLOWED_HOSTS]))"
    )
    result = run(
        "-c",
        script,
        PORTAL_MODE="production",
        SECRET_KEY=PRODUCTION_KEY,
        ALLOWED_HOSTS="zlj.samr.gov.cn",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, True, True, True, ["zlj.samr.gov.cn"]]


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = run("manage.py", "check", PORTAL_MODE="production", ALLOWED_HOSTS="zlj.samr.gov.cn")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_database_url_selects_postgresql():
    database = database_settings(DATABASE_URL="postgres://portal:secret@db.internal:5433/quality")

    assert database == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "quality",
        "HOST": "db.internal",
        "PORT": "5433",
    }


def test_the_default_database_is_the_sqlite_file_in_the_project():
    database = database_settings()

    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(BASE_DIR / "db.sqlite3")


def test_development_mode_is_the_default_and_needs_no_configuration():
    result = run("manage.py", "check")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_every_environment_variable_is_documented():
    source = (BASE_DIR / "qualitymonth" / "settings.py").read_text()
    read = set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    documented = (BASE_DIR / "docs" / "settings.md").read_text()

    assert "DATABASE_URL" in read
    assert {name for name in read if f"`{name}`" not in documented} == set()
