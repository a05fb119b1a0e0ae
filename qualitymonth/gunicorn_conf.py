"""Gunicorn configuration of the portal (``./portal serve``, deploy/systemd/portal-web.service).

    gunicorn -c qualitymonth/gunicorn_conf.py qualitymonth.wsgi

Every value comes from an environment variable with a default (docs/settings.md). The worker
defaults were chosen by measurement, see docs/deploy.md ("Choosing the workers"): gthread
workers, one per CPU plus one, four threads each.
"""

import datetime as dt
import json
import os
import shutil
from pathlib import Path

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


wsgi_app = "qualitymonth.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = _int("GUNICORN_WORKERS", _cpus() + 1)
# Threads only matter for gthread: they overlap one request's database wait with another's work.
threads = _int("GUNICORN_THREADS", 4)

# Load the application once in the master and fork it: workers start fast and share the
# imported code's memory. Nothing opens a connection at import, so none is shared by the fork.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in {"1", "true", "yes", "on"}

# A worker restarts after this many requests (give or take the jitter, so they do not all
# restart at once): a slow leak in any library cannot grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# A request that takes longer than this kills its worker (the slowest page, the streamed CSV
# export of a large campaign, stays well below; uploads arrive in chunks of at most 8 MB).
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# nginx keeps connections to the workers open between requests.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 - not a temp file  # nosec B108

# Requests: the access log, one JSON object a line, on standard output ("-") or a file; empty
# switches it off. Errors and the server's own messages go to standard error.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "qualitymonth"
# gunicornc's control socket: off unless a path is given (two instances would share the default).
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
if not control_socket:
    del control_socket


def _json_logs() -> bool:
    production = os.environ.get("PORTAL_MODE") == "production"
    return os.environ.get("LOG_FORMAT", "json" if production else "plain") == "json"


class JsonAccessLogger(Logger):
    """The access log as JSON lines, with the request id the portal put on the response; the
    server's own messages as JSON too when the portal logs JSON (LOG_FORMAT)."""

    def setup(self, cfg):
        super().setup(cfg)
        if _json_logs():
            from qualitymonth.logs import JsonFormatter

            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        headers = {name.lower(): value for name, value in (resp.headers or [])}
        line = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": f"{environ.get('REQUEST_METHOD')} {environ.get('RAW_URI')}",
            "request_id": headers.get("x-request-id"),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "real_ip": environ.get("HTTP_X_REAL_IP"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:  # a log line must never break a request
            self.exception("access log")


logger_class = JsonAccessLogger


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def on_starting(server):
    """Prometheus multi-process mode: each worker writes its metrics to files in this directory;
    files of an earlier run would be counted again, so the master empties it first."""
    directory = _multiprocess_dir()
    if directory:
        path = Path(directory)
        if path.is_dir():
            for child in path.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        path.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    """A worker's live gauges go with it (counters and histograms keep their totals)."""
    if _multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
