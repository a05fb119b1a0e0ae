"""Request ids and structured logs: every answer carries an id, every log line of the request
carries the same one, and only a trusted proxy may choose it."""

import io
import json
import logging
import queue
import re

import pytest

from qualitymonth import logs
from tests import factories

pytestmark = pytest.mark.django_db

HEX32 = re.compile(r"^[0-9a-f]{32}$")
PROXY_ID = "6f1c2a9be0d34b6f8a7d5e4c3b2a1f00"


@pytest.fixture
def json_log():
    """The root logger's lines, as the production handler writes them, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RequestContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_every_answer_carries_a_new_request_id(client):
    first = client.get("/")
    second = client.get("/no-such-page/")

    assert HEX32.match(first["X-Request-ID"])
    assert HEX32.match(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_trusted_proxys_request_id_is_kept(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]

    response = client.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_REQUEST_ID=PROXY_ID)

    assert response["X-Request-ID"] == PROXY_ID


def test_anyone_elses_request_id_is_replaced(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]

    response = client.get("/", REMOTE_ADDR="203.0.113.7", HTTP_X_REQUEST_ID=PROXY_ID)

    assert response["X-Request-ID"] != PROXY_ID
    assert HEX32.match(response["X-Request-ID"])


def test_a_malformed_id_even_from_the_proxy_is_replaced(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]

    response = client.get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_REQUEST_ID='x" injected\n{"level": "CRITICAL"}'
    )

    assert HEX32.match(response["X-Request-ID"])


def test_log_lines_of_a_request_are_json_with_its_id(client, json_log):
    response = client.get("/no-such-page/")

    lines = [line for line in json_log() if line["logger"] == "django.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == response["X-Request-ID"]
    assert line["level"] == "WARNING"
    assert line["method"] == "GET"
    assert line["path"] == "/no-such-page/"
    assert line["status"] == 404
    assert line["duration_ms"] >= 0
    assert "Not Found" in line["message"]
    assert line["time"].endswith("+00:00")


def test_log_lines_name_the_signed_in_person(client, json_log):
    user = factories.UserFactory()
    client.force_login(user)

    client.get("/no-such-page/")

    line = next(line for line in json_log() if line["logger"] == "django.request")
    assert line["user_id"] == user.pk


def test_an_exception_is_logged_with_its_traceback(json_log):
    try:
        raise ValueError("broken import row")
    except ValueError:
        logging.getLogger("activities.imports").exception("import failed")

    (line,) = [line for line in json_log() if line["logger"] == "activities.imports"]
    assert line["message"] == "import failed"
    assert "ValueError: broken import row" in line["exc_info"]
    assert "request_id" not in line  # outside a request: no id invented


def test_plain_lines_carry_the_request_id_too():
    record = logging.LogRecord("portal", logging.INFO, __file__, 1, "hello", None, None)
    record.request_id = PROXY_ID

    assert logs.PlainFormatter().format(record).endswith(f"hello [{PROXY_ID}]")


def test_a_slow_request_is_logged_with_its_view(client, settings, json_log):
    settings.LOG_SLOW_REQUEST_MS = 0.000001

    response = client.get("/")

    line = next(line for line in json_log() if line["logger"] == "qualitymonth.request")
    assert line["message"] == "slow request: home"
    assert line["status"] == 200
    assert line["request_id"] == response["X-Request-ID"]


# --- Celery ------------------------------------------------------------------------------------


class FakeTask:
    name = "feedback.tasks.process_media"

    def __init__(self, **request):
        self.request = type("Request", (), request)()


def test_a_task_queued_in_a_request_carries_its_id_into_the_workers_logs(json_log):
    headers = {}
    token = logs.current_context.set(logs.RequestContext(request_id=PROXY_ID))
    try:
        logs._before_task_publish(headers=headers)  # in the web process
    finally:
        logs.current_context.reset(token)
    assert headers == {logs.TASK_HEADER: PROXY_ID}

    task = FakeTask(**headers)  # in the worker: message headers become the task's request
    logs._task_prerun(task_id="t-1", task=task)
    logging.getLogger("feedback.tasks").warning("video probe failed")
    logs._task_postrun(task_id="t-1")

    (line,) = [line for line in json_log() if line["logger"] == "feedback.tasks"]
    assert line["request_id"] == PROXY_ID
    assert line["task"] == "feedback.tasks.process_media"
    assert logs.current_context.get() is None


def test_a_periodic_task_logs_with_its_own_task_id(json_log):
    logs._task_prerun(task_id="beat-7", task=FakeTask())
    logging.getLogger("feedback.tasks").info("reminders sent")
    logs._task_postrun(task_id="beat-7")

    (line,) = [line for line in json_log() if line["logger"] == "feedback.tasks"]
    assert line["request_id"] == "beat-7"


def test_the_signals_are_connected():
    from celery.signals import before_task_publish, task_prerun

    assert logs._before_task_publish in [
        receiver for _key, receiver in before_task_publish.receivers
    ]
    assert logs._task_prerun in [receiver for _key, receiver in task_prerun.receivers]


def test_production_logs_json_and_development_plain_text():
    from tests.qualitymonth.test_settings import PRODUCTION_KEY, run

    script = (
        "from django.conf import settings as s; "
        "print(s.LOGGING['handlers']['console']['formatter'])"
    )
    production = run(
        "-c", script, PORTAL_MODE="production", SECRET_KEY=PRODUCTION_KEY, ALLOWED_HOSTS="x.cn"
    )
    development = run("-c", script)
    chosen = run("-c", script, LOG_FORMAT="json")

    assert production.stdout.strip() == "json", production.stderr
    assert development.stdout.strip() == "plain", development.stderr
    assert chosen.stdout.strip() == "json", chosen.stderr


def test_a_real_worker_sees_the_id_of_the_request_that_queued_the_task():
    """Through Celery itself: an in-memory broker and a worker thread (no Redis needed). The
    task hands what it saw back through a queue, not a result backend: other tests may have
    made the app's (thread-local, cached) backend already."""
    from celery.contrib.testing.worker import start_worker

    from qualitymonth.celery import app

    seen: queue.Queue = queue.Queue()

    @app.task(name="tests.deploy.request_id_probe")
    def request_id_probe():
        logging.getLogger("tests.deploy").warning("in the task")
        seen.put(logs.current_request_id())

    saved = app.conf["task_always_eager"]
    app.conf.update(task_always_eager=False)
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
            token = logs.current_context.set(logs.RequestContext(request_id=PROXY_ID))
            try:
                request_id_probe.delay()
            finally:
                logs.current_context.reset(token)
            assert seen.get(timeout=30) == PROXY_ID
    finally:
        app.conf.update(task_always_eager=saved)
