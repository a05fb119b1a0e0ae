"""Health endpoints for load balancers and orchestrators.

- ``/health/live``: the process answers. Touches nothing else: a database outage must not make
  every web node look dead and get restarted.
- ``/health/ready``: the node can serve: each database, each cache, the Celery broker (when one
  is configured) and both storages answer. 200 ``{"status": "ok"}``, or 503
  ``{"status": "unavailable"}`` when any fails, so the balancer stops sending requests until it
  recovers. Each check's status and latency (which name the node's parts) are added only for a
  request from the node itself (loopback) or with ``Authorization: Bearer
  <HEALTH_DETAILS_TOKEN>``.

``OperationsMiddleware`` answers these (and ``/metrics``) before anything else runs: no host
check (a balancer probes a node by its address), no HTTPS redirect, no session, no language, no
cache. The URL patterns in qualitymonth/urls.py name the same views for ``reverse()``.
"""

import hmac
import ipaddress
import logging
import time
import uuid

from django.conf import settings
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from .middleware import client_ip

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 3


@never_cache
def live(request):
    return JsonResponse({"status": "ok"})


def _check_database(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache(alias: str) -> None:
    cache = caches[alias]
    key = f"health:probe:{uuid.uuid4().hex}"
    cache.set(key, "1", 30)
    try:
        if cache.get(key) != "1":
            raise RuntimeError("the cache did not return what was just stored")
    finally:
        cache.delete(key)


def broker_configured() -> bool:
    return not settings.CELERY_TASK_ALWAYS_EAGER


def _check_broker() -> None:
    from .metrics import broker_is_redis, broker_redis

    if broker_is_redis():
        broker_redis().ping()
        return
    from .celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)


def _check_storage(alias: str) -> None:
    """Local disks: write and delete a small file (a full, read-only or unmounted disk fails).
    Object storage: ask whether a probe object exists (one HEAD request; no writes that a
    versioned bucket would keep for ever)."""
    storage = storages[alias]
    if isinstance(storage, FileSystemStorage):
        name = storage.save(f"health/probe-{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
        storage.delete(name)
    else:
        storage.exists("health/probe.txt")


def checks() -> list[tuple[str, object]]:
    """(name, zero-argument callable) for every dependency this node needs; None: not configured."""
    found = [(f"database:{alias}", _bind(_check_database, alias)) for alias in settings.DATABASES]
    found += [(f"cache:{alias}", _bind(_check_cache, alias)) for alias in settings.CACHES]
    found.append(("broker", _check_broker if broker_configured() else None))
    found += [
        (f"storage:{alias}", _bind(_check_storage, alias)) for alias in ("default", "private")
    ]
    return found


def _bind(function, argument):
    return lambda: function(argument)


def run_checks() -> tuple[bool, dict]:
    results, healthy = {}, True
    for name, check in checks():
        if check is None:
            results[name] = {"status": "skipped", "detail": "not configured"}
            continue
        started = time.perf_counter()
        try:
            check()
        except Exception as error:
            healthy = False
            # The exception's class only: this answer is public, its message may name hosts.
            results[name] = {"status": "error", "error": type(error).__name__}
            logger.warning("readiness check %s failed", name, exc_info=True)
        else:
            results[name] = {"status": "ok"}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return healthy, results


def may_see_details(request) -> bool:
    """The node itself (the client address as the audit log sees it: X-Real-IP only from
    TRUSTED_PROXIES), or whoever has the HEALTH_DETAILS_TOKEN."""
    token = settings.HEALTH_DETAILS_TOKEN
    offered = request.META.get("HTTP_AUTHORIZATION", "")
    if (
        token
        and offered.startswith("Bearer ")
        and hmac.compare_digest(offered.removeprefix("Bearer ").strip().encode(), token.encode())
    ):
        return True
    try:
        ip = ipaddress.ip_address(client_ip(request) or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1
    return ip.is_loopback


@never_cache
def ready(request):
    healthy, results = run_checks()
    body = {"status": "ok" if healthy else "unavailable"}
    if may_see_details(request):
        body["checks"] = results
    return JsonResponse(body, status=200 if healthy else 503)


class OperationsMiddleware:
    """Answers /health/live, /health/ready and /metrics ahead of the site's middleware."""

    def __init__(self, get_response):
        from .metrics import metrics

        self.get_response = get_response
        self.endpoints = {"/health/live": live, "/health/ready": ready, "/metrics": metrics}

    def __call__(self, request):
        view = self.endpoints.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)
