"""Prometheus metrics at /metrics: who may read them, and what they say."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from qualitymonth import metrics
from registrations.enums import RegistrationStatus
from tests import factories

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
OUTSIDE = "203.0.113.9"


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one series in Prometheus's text format, or None."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _space, value = line.rpartition(" ")
        series_name, _brace, rest = series.partition("{")
        found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if series_name == name and found == wanted:
            return float(value)
    return None


def scrape(client, **extra) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_the_url_is_the_documented_one():
    assert reverse("metrics") == "/metrics"


def test_readable_from_the_machine_itself(client):
    response = client.get("/metrics")  # the test client's address is 127.0.0.1

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in (
        "portal_http_requests_total",
        "portal_http_request_duration_seconds",
        "portal_signups_total",
        "portal_feedback_reports",
    ):
        assert f"# TYPE {name} " in text


def test_refused_from_elsewhere(client):
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE)

    assert response.status_code == 403
    assert b"portal_" not in response.content


def test_a_forged_real_ip_header_does_not_open_it(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]

    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_X_REAL_IP="10.0.0.5")

    assert response.status_code == 403


def test_allowed_networks_through_a_trusted_proxy(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.TRUSTED_PROXIES = ["127.0.0.1"]

    inside = client.get("/metrics", HTTP_X_REAL_IP="10.20.30.40")
    outside = client.get("/metrics", HTTP_X_REAL_IP=OUTSIDE)

    assert inside.status_code == 200
    assert outside.status_code == 403


def test_the_token_opens_it_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    good = client.get(
        "/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token"
    )
    bad = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer guessed")

    assert good.status_code == 200
    assert bad.status_code == 403


def test_no_token_configured_means_no_token_accepted(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 403


def test_requests_are_counted_by_view_name_not_path(client):
    activity = factories.ActivityFactory()
    path = f"/activities/{activity.pk}/"
    labels = {"view": "public:activity_detail", "method": "GET"}
    before = scrape(client)
    answer = client.get(path).status_code

    client.get(path)
    client.get("/no-such-page/")

    after = scrape(client)
    counted = sample(after, "portal_http_requests_total", status=str(answer), **labels)
    earlier = sample(before, "portal_http_requests_total", status=str(answer), **labels) or 0
    assert counted - earlier == 2
    timed = sample(after, "portal_http_request_duration_seconds_count", **labels)
    assert (
        timed - (sample(before, "portal_http_request_duration_seconds_count", **labels) or 0) == 2
    )
    assert (
        sample(after, "portal_http_requests_total", view="<unresolved>", method="GET", status="404")
        >= 1
    )
    assert path not in after  # never a raw path


def test_the_metrics_endpoint_does_not_count_itself(client):
    scrape(client)
    text = scrape(client)

    assert "metrics" not in {
        line.split('view="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("portal_http_requests_total{")
    }


def test_signups_are_counted_when_their_transaction_commits(
    client, django_capture_on_commit_callbacks
):
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        factories.RegistrationFactory(status=RegistrationStatus.CONFIRMED)
        factories.RegistrationFactory(status=RegistrationStatus.WAITING)
    with django_capture_on_commit_callbacks(execute=False):
        factories.RegistrationFactory(status=RegistrationStatus.CONFIRMED)  # rolled back, say

    after = scrape(client)
    for status, expected in (("confirmed", 1), ("waiting", 1)):
        previous = sample(before, "portal_signups_total", status=status) or 0
        assert sample(after, "portal_signups_total", status=status) - previous == expected


def test_feedback_reports_are_counted_by_status(client):
    report = factories.FeedbackReportFactory()
    year = str(report.campaign.year)

    text = scrape(client)

    assert sample(text, "portal_feedback_reports", year=year, status="draft") == 1
    assert sample(text, "portal_feedback_reports", year=year, status="accepted") == 0


def test_registration_emails_not_yet_sent_are_counted(client):
    from registrations.enums import NOTICE_ATTEMPTS
    from registrations.models import RegistrationNotice

    registrations = factories.RegistrationFactory.create_batch(3)
    for registration, attempts in zip(registrations, (0, 1, NOTICE_ATTEMPTS), strict=True):
        RegistrationNotice.objects.create(
            registration=registration, template="registration_confirmed", attempts=attempts
        )
    RegistrationNotice.objects.create(
        registration=registrations[0], template="registration_cancelled", sent_at=timezone.now()
    )

    text = scrape(client)

    assert sample(text, "portal_registration_notices_unsent", state="waiting") == 2
    assert sample(text, "portal_registration_notices_unsent", state="given_up") == 1


def test_the_queue_length_is_read_from_a_redis_broker(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://broker.internal:6379/0"

    class Broker:
        def llen(self, name):
            return {"celery": 17}[name]

    monkeypatch.setattr(metrics, "broker_redis", Broker)

    text = scrape(client)

    assert sample(text, "portal_celery_queue_length", queue="celery") == 17


def test_no_queue_length_without_a_broker(client):
    assert "portal_celery_queue_length" not in scrape(client)


def test_an_unreachable_broker_leaves_the_gauge_out_not_the_scrape(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"

    text = scrape(client)

    assert "portal_celery_queue_length" not in text
    assert "portal_http_requests_total" in text


def test_multiprocess_mode_adds_up_the_workers(tmp_path):
    """Two worker processes count requests into PROMETHEUS_MULTIPROC_DIR; a scrape in a third
    sees both (as with several gunicorn workers), and a database it cannot read (here an empty
    one) leaves out only the gauges that need it."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "qualitymonth.settings",
        "DATABASE_URL": "sqlite://:memory:",
    }
    setup = "import django; django.setup(); from qualitymonth import metrics; "
    count = setup + "metrics.REQUESTS.labels('home', 'GET', '200').inc(3)"
    show = setup + "print(metrics.exposition().decode())"
    for _worker in range(2):
        subprocess.run([sys.executable, "-c", count], cwd=BASE_DIR, env=env, check=True)
    result = subprocess.run(
        [sys.executable, "-c", show],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )

    labels = {"view": "home", "method": "GET", "status": "200"}
    assert sample(result.stdout, "portal_http_requests_total", **labels) == 6
    assert "portal_feedback_reports" not in result.stdout


def test_static_files_are_counted_under_one_name(client):
    client.get("/static/css/portal.css")

    text = scrape(client)

    assert (
        sample(text, "portal_http_requests_total", view="<static>", method="GET", status="200") >= 1
    )
    assert "portal.css" not in text
