"""Health endpoints, as a load balancer meets them: /health/live and /health/ready.

The test client asks from 127.0.0.1, the node itself, which is told each check; others get the
status only (the tests at the end)."""

import pytest
from django.db import OperationalError, connections
from django.urls import reverse

from qualitymonth import health, metrics

pytestmark = pytest.mark.django_db

BROKEN_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing answers there
OUTSIDE = "203.0.113.7"
TOKEN = "s3cret-health-token"


def test_the_urls_are_the_documented_ones():
    assert reverse("health-live") == "/health/live"
    assert reverse("health-ready") == "/health/ready"


def test_live_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_ready_is_200_with_every_check_when_everything_answers(client):
    response = client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert set(checks) == {
        "database:default",
        "cache:default",
        "cache:ratelimit",
        "broker",
        "storage:default",
        "storage:private",
    }
    for name, check in checks.items():
        if name == "broker":  # the test settings run tasks in-process
            assert check["status"] == "skipped"
        else:
            assert check["status"] == "ok", name
            assert check["latency_ms"] >= 0
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_ready_leaves_no_probe_files_behind(client, settings, tmp_path):
    client.get("/health/ready")

    leftovers = [p for p in (tmp_path / "private-media").rglob("*") if p.is_file()]
    leftovers += [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    assert leftovers == []


def test_ready_is_503_when_the_cache_is_down(client, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": BROKEN_REDIS,
        },
    }

    response = client.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache:default"]["status"] == "error"
    assert body["checks"]["database:default"]["status"] == "ok"
    # The public answer names the kind of failure, not the host it could not reach.
    assert "127.0.0.1" not in response.content.decode()


def test_ready_is_503_when_the_database_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)

    response = client.get("/health/ready")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database:default"] == {
        "status": "error",
        "error": "OperationalError",
        "latency_ms": checks["database:default"]["latency_ms"],
    }
    assert checks["cache:default"]["status"] == "ok"


def test_ready_checks_the_broker_once_one_is_configured(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = BROKEN_REDIS

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "error"


def test_ready_is_200_with_a_broker_that_answers(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://broker.internal:6379/0"

    class AnsweringRedis:
        def ping(self):
            return True

    monkeypatch.setattr(metrics, "broker_redis", AnsweringRedis)

    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["status"] == "ok"


def test_ready_is_503_when_a_storage_cannot_be_written(client, settings, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the media folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocked), "base_url": None},
        },
    }

    response = client.get("/health/ready")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["storage:private"]["status"] == "error"
    assert checks["storage:default"]["status"] == "ok"


def test_object_storage_is_asked_whether_a_probe_exists_not_written(monkeypatch):
    asked = []

    class Bucket:
        def exists(self, name):
            asked.append(name)
            return False

        def save(self, name, content):  # pragma: no cover - must not be called
            raise AssertionError("a readiness check must not write to object storage")

    monkeypatch.setattr(health, "storages", {"default": Bucket()})

    health._check_storage("default")

    assert asked == ["health/probe.txt"]


def test_health_is_answered_before_host_checks_and_https_redirects(client, settings):
    """A balancer probes a node by its address, over plain HTTP, without a session."""
    settings.ALLOWED_HOSTS = ["zlj.example.gov.cn"]
    settings.SECURE_SSL_REDIRECT = True

    live = client.get("/health/live", HTTP_HOST="10.0.1.12:8000")
    ready = client.get("/health/ready", HTTP_HOST="10.0.1.12:8000")
    page = client.get("/", HTTP_HOST="10.0.1.12:8000")

    assert live.status_code == 200
    assert ready.status_code == 200
    assert page.status_code == 400  # the site itself still refuses an unknown host
    assert live["X-Request-ID"]


def test_health_ignores_a_session_cookie(client, django_assert_num_queries):
    client.cookies["sessionid"] = "0" * 32

    with django_assert_num_queries(0):
        response = client.get("/health/live")

    assert response.status_code == 200
    assert "Set-Cookie" not in str(response.serialize_headers())


# --- who is told the details ------------------------------------------------------------------


def break_the_cache(settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": BROKEN_REDIS,
        },
    }


def test_anyone_else_is_told_only_the_status(client, settings):
    ready = client.get("/health/ready", REMOTE_ADDR=OUTSIDE)
    break_the_cache(settings)
    down = client.get("/health/ready", REMOTE_ADDR=OUTSIDE)

    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
    assert (down.status_code, down.json()) == (503, {"status": "unavailable"})
    assert "no-store" in down["Cache-Control"]


def test_the_node_itself_is_told_the_details_also_over_ipv6(client):
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        response = client.get("/health/ready", REMOTE_ADDR=address)
        assert "database:default" in response.json()["checks"], address


def test_a_forged_real_ip_header_does_not_open_the_details(client):
    response = client.get("/health/ready", REMOTE_ADDR=OUTSIDE, HTTP_X_REAL_IP="127.0.0.1")

    assert response.json() == {"status": "ok"}


def test_a_client_behind_the_local_nginx_is_not_the_node(client, settings):
    """nginx on the same machine connects from 127.0.0.1 and says who asked in X-Real-IP."""
    settings.TRUSTED_PROXIES = ["127.0.0.1"]

    outside = client.get("/health/ready", HTTP_X_REAL_IP=OUTSIDE)
    local = client.get("/health/ready", HTTP_X_REAL_IP="127.0.0.1")

    assert outside.json() == {"status": "ok"}
    assert "checks" in local.json()


def test_the_token_opens_the_details_from_anywhere(client, settings):
    settings.HEALTH_DETAILS_TOKEN = TOKEN

    good = client.get("/health/ready", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    wrong = client.get("/health/ready", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer guess")
    bare = client.get("/health/ready", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=TOKEN)

    assert good.json()["checks"]["database:default"]["status"] == "ok"
    assert wrong.json() == bare.json() == {"status": "ok"}


def test_without_a_token_configured_no_bearer_opens_the_details(client, settings):
    settings.HEALTH_DETAILS_TOKEN = ""

    response = client.get("/health/ready", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer ")

    assert response.json() == {"status": "ok"}
