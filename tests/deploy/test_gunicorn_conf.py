"""The gunicorn configuration (qualitymonth/gunicorn_conf.py): it loads, its values are sane,
the environment changes them, and its hooks and access log do what docs/deploy.md says."""

import datetime as dt
import json
import logging
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from gunicorn.config import Config

BASE_DIR = Path(__file__).resolve().parents[2]
CONF = BASE_DIR / "qualitymonth" / "gunicorn_conf.py"
GUNICORN_VARIABLES = [
    "GUNICORN_BIND",
    "GUNICORN_WORKERS",
    "GUNICORN_THREADS",
    "GUNICORN_WORKER_CLASS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_MAX_REQUESTS_JITTER",
    "GUNICORN_PRELOAD",
    "GUNICORN_ACCESS_LOG",
    "GUNICORN_CONTROL_SOCKET",
    "PROMETHEUS_MULTIPROC_DIR",
]


def load(monkeypatch, **environment) -> dict:
    for name in GUNICORN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def gunicorn_config(values: dict) -> Config:
    """The values as gunicorn itself validates them."""
    config = Config()
    for name, value in values.items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_the_defaults_are_the_measured_ones(monkeypatch):
    conf = load(monkeypatch)
    cpus = len(os.sched_getaffinity(0))

    assert conf["worker_class"] == "gthread"
    assert conf["workers"] == cpus + 1
    assert conf["threads"] == 4
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["wsgi_app"] == "qualitymonth.wsgi:application"
    assert conf["preload_app"] is True


def test_the_values_are_sane_for_gunicorn(monkeypatch):
    config = gunicorn_config(load(monkeypatch))

    assert config.worker_class_str == "gthread"
    assert 2 <= config.workers <= 64
    assert config.max_requests >= 1000
    assert 0 < config.max_requests_jitter < config.max_requests
    assert 30 <= config.timeout <= 120
    # nginx's proxy_read_timeout (75 s) is longer, so gunicorn gives up first.
    assert config.timeout < 75
    assert config.graceful_timeout <= config.timeout
    assert config.keepalive >= 2
    assert config.preload_app
    assert config.accesslog == "-"
    assert config.control_socket_disable


def test_the_environment_chooses(monkeypatch):
    conf = load(
        monkeypatch,
        GUNICORN_BIND="0.0.0.0:8080,unix:/run/qualitymonth/web.sock",
        GUNICORN_WORKERS="9",
        GUNICORN_THREADS="2",
        GUNICORN_WORKER_CLASS="sync",
        GUNICORN_TIMEOUT="45",
        GUNICORN_MAX_REQUESTS="5000",
        GUNICORN_ACCESS_LOG="",
    )

    assert conf["bind"] == ["0.0.0.0:8080", "unix:/run/qualitymonth/web.sock"]
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (9, 2, "sync")
    assert (conf["timeout"], conf["max_requests"]) == (45, 5000)
    assert conf["accesslog"] is None


def test_gunicorn_accepts_the_configuration_and_loads_the_portal(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in GUNICORN_VARIABLES},
        "PORTAL_MODE": "production",
        "SECRET_KEY": "k7Qp2vXz9LmN4rT8wYb3cFhJ6sDg1aEu5iOo0PqRtUyWxZ-_vBnMqLkJhGfDsAzXc",
        "ALLOWED_HOSTS": "zlj.example.gov.cn",
        "STATIC_ROOT": str(tmp_path),
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--check-config", "-c", str(CONF)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_multiprocess_directory_is_emptied_at_start_and_workers_marked_dead(
    monkeypatch, tmp_path
):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_4242.db").write_bytes(b"stale")
    conf = load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(directory))

    conf["on_starting"](server=None)
    assert list(directory.iterdir()) == []

    (directory / "gauge_livesum_4242.db").write_bytes(b"")
    marked = []
    monkeypatch.setattr("prometheus_client.multiprocess.mark_process_dead", marked.append)
    conf["child_exit"](server=None, worker=type("Worker", (), {"pid": 4242})())
    assert marked == [4242]


def test_without_a_multiprocess_directory_the_hooks_do_nothing(monkeypatch):
    conf = load(monkeypatch)
    monkeypatch.setattr(
        "prometheus_client.multiprocess.mark_process_dead",
        lambda pid: pytest.fail("no directory, nothing to mark"),
    )

    conf["on_starting"](server=None)
    conf["child_exit"](server=None, worker=type("Worker", (), {"pid": 1})())


def test_the_access_log_is_one_json_object_with_the_request_id(monkeypatch):
    conf = load(monkeypatch)
    config = gunicorn_config(conf)
    logger = conf["JsonAccessLogger"](config)
    lines = []

    class Capture(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    logger.access_log.addHandler(Capture())
    response = type(
        "Response",
        (),
        {"status": "200 OK", "sent": 2048, "headers": [("X-Request-ID", "ab" * 16)]},
    )()
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": '/activities/?q="quoted"',
        "PATH_INFO": "/activities/",
        "QUERY_STRING": 'q="quoted"',
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_REAL_IP": "203.0.113.9",
        "HTTP_USER_AGENT": 'Mozilla/5.0 "quoted"',
    }

    logger.access(response, None, environ, dt.timedelta(milliseconds=123))

    (line,) = lines
    entry = json.loads(line)
    assert entry["request_id"] == "ab" * 16
    assert entry["status"] == 200
    assert entry["path"] == "/activities/"
    assert entry["real_ip"] == "203.0.113.9"
    assert entry["duration_ms"] == 123.0
    assert entry["bytes"] == 2048
    assert entry["logger"] == "gunicorn.access"
