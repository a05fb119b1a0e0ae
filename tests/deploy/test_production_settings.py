"""Settings the production deployment relies on: the database pool and where sessions live."""

import json

from tests.qualitymonth.test_settings import PRODUCTION_KEY, run

POSTGRES = "postgres://portal:secret@db.internal:5432/quality"
CONNECTION = (
    "{k: s.DATABASES['default'].get(k) for k in ('OPTIONS', 'CONN_MAX_AGE', 'CONN_HEALTH_CHECKS')}"
)


def setting(expression: str, **environment) -> object:
    script = f"import json; from django.conf import settings as s; print(json.dumps({expression}))"
    result = run("-c", script, **environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_pool_is_configurable_and_replaces_persistent_connections():
    database = setting(
        CONNECTION,
        DATABASE_URL=POSTGRES,
        DATABASE_POOL="true",
        DATABASE_POOL_MIN_SIZE="1",
        DATABASE_POOL_MAX_SIZE="8",
        DATABASE_POOL_TIMEOUT="5",
    )

    assert database["OPTIONS"]["pool"] == {
        "min_size": 1,
        "max_size": 8,
        "timeout": 5.0,
        "max_idle": 600.0,
    }
    assert database["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert database["CONN_HEALTH_CHECKS"] is True  # the pool checks a connection before use


def test_without_the_pool_connections_persist_with_health_checks():
    database = setting(
        CONNECTION,
        DATABASE_URL=POSTGRES,
    )

    assert "pool" not in (database["OPTIONS"] or {})
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True


def test_sessions_are_read_through_the_shared_cache_when_there_is_one():
    assert (
        setting("s.SESSION_ENGINE", CACHE_URL="redis://127.0.0.1:6379/1")
        == "django.contrib.sessions.backends.cached_db"
    )
    assert setting("s.SESSION_ENGINE") == "django.contrib.sessions.backends.db"
    assert (
        setting(
            "s.SESSION_ENGINE",
            CACHE_URL="redis://127.0.0.1:6379/1",
            SESSION_ENGINE="django.contrib.sessions.backends.cache",
        )
        == "django.contrib.sessions.backends.cache"
    )


def test_operations_middleware_comes_first():
    middleware = setting(
        "s.MIDDLEWARE",
        PORTAL_MODE="production",
        SECRET_KEY=PRODUCTION_KEY,
        ALLOWED_HOSTS="zlj.example.gov.cn",
    )

    assert middleware[:4] == [
        "qualitymonth.logs.RequestIdMiddleware",
        "qualitymonth.health.OperationsMiddleware",
        "qualitymonth.metrics.PrometheusMiddleware",
        "django.middleware.security.SecurityMiddleware",
    ]
