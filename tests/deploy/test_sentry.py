"""Error reporting: Sentry is set up only when SENTRY_DSN is set, without personal data."""

import json

from tests.qualitymonth.test_settings import run

SCRIPT = (
    "import json, django; django.setup(); import sentry_sdk; "
    "c = sentry_sdk.get_client(); o = c.options; "
    "print(json.dumps({'active': c.is_active(), 'pii': o.get('send_default_pii'), "
    "'environment': o.get('environment'), 'release': o.get('release'), "
    "'traces': o.get('traces_sample_rate'), "
    "'integrations': sorted(getattr(c, 'integrations', {}))}))"
)


def test_without_a_dsn_nothing_is_reported():
    result = run("-c", SCRIPT)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["active"] is False


def test_with_a_dsn_errors_of_requests_and_tasks_are_reported_without_personal_data():
    result = run(
        "-c",
        SCRIPT,
        SENTRY_DSN="https://public@sentry.example.invalid/3",
        SENTRY_RELEASE="2024.9.1",
        SENTRY_TRACES_SAMPLE_RATE="0.05",
    )

    assert result.returncode == 0, result.stderr
    client = json.loads(result.stdout)
    assert client["active"] is True
    assert client["pii"] is False
    assert client["environment"] == "development"  # PORTAL_MODE unless SENTRY_ENVIRONMENT
    assert client["release"] == "2024.9.1"
    assert client["traces"] == 0.05
    assert {"django", "celery"} <= set(client["integrations"])
