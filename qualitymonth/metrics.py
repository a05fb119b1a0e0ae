"""Prometheus metrics at /metrics (docs/deploy.md, "Metrics").

- ``portal_http_requests_total{view,method,status}`` and
  ``portal_http_request_duration_seconds{view,method}``: every request the site answers, by the
  URL pattern's name (never the raw path: ids and junk URLs would make unbounded series).
- ``portal_signups_total{status}``: registrations created (confirmed or waiting), counted when
  their transaction commits. A counter rather than a count at scrape time: ``rate()`` shows a
  sign-up burst as it happens, and a scrape never counts a million-row table.
- ``portal_feedback_reports{status}`` and ``portal_celery_queue_length{queue}``: read when
  scraped (a COUNT … GROUP BY status over one row per department and campaign; Redis LLEN).

With several gunicorn workers each keeps its own counters; set PROMETHEUS_MULTIPROC_DIR (an
empty directory, e.g. on /dev/shm) and the workers write them to files there that a scrape adds
up (prometheus_client's multi-process mode; the gunicorn configuration cleans up after workers).

Only METRICS_ALLOWED_IPS (addresses or networks; the client address as the audit log sees it)
or a request with ``Authorization: Bearer <METRICS_TOKEN>`` may read them.
"""

import hmac
import ipaddress
import logging
import os
import time
from functools import cache

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from .middleware import client_ip

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "portal_http_requests_total",
    "Requests answered, by URL pattern name, method and status code.",
    ["view", "method", "status"],
)
LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer a request, by URL pattern name and method.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SIGNUPS = Counter(
    "portal_signups_total",
    "Registrations created (sign-ups), by the status they started in.",
    ["status"],
)

UNRESOLVED = "<unresolved>"
STATIC = "<static>"


class PrometheusMiddleware:
    """Counts and times every request below it (everything but the operations endpoints)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        if match:
            view = match.view_name or UNRESOLVED
        elif request.path_info.startswith(settings.STATIC_URL):
            view = STATIC  # WhiteNoise answers these without URL routing
        else:
            view = UNRESOLVED
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        LATENCY.labels(view, method).observe(elapsed)
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def count_signup(sender, instance, created, raw=False, **kwargs):
    """post_save of Registration: a new one counts once its transaction commits."""
    if created and not raw:
        status = str(instance.status)
        transaction.on_commit(lambda: SIGNUPS.labels(status).inc())


def connect_signals() -> None:
    from django.db.models.signals import post_save

    from registrations.models import Registration

    post_save.connect(count_signup, sender=Registration, dispatch_uid="metrics.count_signup")


# --- read at scrape time ----------------------------------------------------------------------


def broker_redis():
    """A Redis client on the Celery broker (health checks and the queue length)."""
    return _redis(settings.CELERY_BROKER_URL)


@cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def broker_is_redis() -> bool:
    return not settings.CELERY_TASK_ALWAYS_EAGER and settings.CELERY_BROKER_URL.startswith(
        ("redis://", "rediss://")
    )


class PortalCollector:
    """Gauges computed when Prometheus scrapes; a failing source is left out, never an error."""

    def collect(self):
        yield from self._feedback_reports()
        yield from self._queue_length()
        yield from self._registration_notices()

    def _feedback_reports(self):
        from feedback.enums import ReportStatus
        from feedback.models import FeedbackReport

        family = GaugeMetricFamily(
            "portal_feedback_reports",
            "Feedback reports by campaign year and status.",
            labels=["year", "status"],
        )
        try:
            rows = (
                FeedbackReport.objects.values_list("campaign__year", "status")
                .annotate(n=Count("pk"))
                .order_by()
            )
            counts = {(str(year), status): n for year, status, n in rows}
        except Exception:
            logger.warning("metrics: feedback reports could not be counted", exc_info=True)
            return
        for year in sorted({year for year, _status in counts}):
            for status in ReportStatus.values:
                family.add_metric([year, status], counts.get((year, status), 0))
        yield family

    def _registration_notices(self):
        from registrations.enums import NoticeState
        from registrations.models import RegistrationNotice, notice_state_q

        family = GaugeMetricFamily(
            "portal_registration_notices_unsent",
            "Registration emails in the outbox not sent yet: waiting (sent by celery beat's next "
            "run; a growing number means beat or the workers are not running) or given up after "
            "their last attempt failed.",
            labels=["state"],
        )
        states = (NoticeState.WAITING, NoticeState.GIVEN_UP)
        try:
            counts = RegistrationNotice.objects.filter(sent_at__isnull=True).aggregate(
                **{state.value: Count("pk", filter=notice_state_q(state)) for state in states}
            )
        except Exception:
            logger.warning("metrics: registration notices could not be counted", exc_info=True)
            return
        for state in states:
            family.add_metric([state.value], counts[state.value])
        yield family

    def _queue_length(self):
        if not broker_is_redis():
            return
        queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
        try:
            length = broker_redis().llen(queue)
        except Exception:
            logger.warning("metrics: the broker's queue length could not be read", exc_info=True)
            return
        family = GaugeMetricFamily(
            "portal_celery_queue_length", "Tasks waiting in the Celery queue.", labels=["queue"]
        )
        family.add_metric([queue], length)
        yield family


class _Registries:
    def __init__(self, *registries):
        self.registries = registries

    def collect(self):
        for registry in self.registries:
            yield from registry.collect()


def exposition() -> bytes:
    """Every metric in Prometheus's text format: this process's, or with PROMETHEUS_MULTIPROC_DIR
    all workers' added up."""
    portal = CollectorRegistry()
    portal.register(PortalCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)
        return generate_latest(_Registries(workers, portal))
    return generate_latest(_Registries(REGISTRY, portal))


# --- access -------------------------------------------------------------------------------------


def _allowed_networks():
    networks = []
    for entry in settings.METRICS_ALLOWED_IPS:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS: %r is not an address or network", entry)
    return networks


def may_read_metrics(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        offered = request.META.get("HTTP_AUTHORIZATION", "")
        if offered.startswith("Bearer ") and hmac.compare_digest(
            offered.removeprefix("Bearer ").strip().encode(), token.encode()
        ):
            return True
    address = client_ip(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _allowed_networks())


@never_cache
def metrics(request):
    if not may_read_metrics(request):
        return HttpResponse(
            "Metrics are readable from METRICS_ALLOWED_IPS or with the METRICS_TOKEN only.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
