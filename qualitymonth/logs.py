"""Structured logs: a request id on every request, and log lines that carry it.

- ``RequestIdMiddleware`` (first in MIDDLEWARE) takes the id from ``X-Request-ID`` when the
  request comes from a trusted proxy (settings.TRUSTED_PROXIES; the reference nginx sets it),
  otherwise makes one (uuid4 hex), keeps it in a context variable for the request and puts it on
  the response.
- ``RequestContextFilter`` (on the log handler) adds the request id, the signed-in person's id,
  the method and path to every record logged while a request or a task runs.
- ``JsonFormatter`` writes a record as one JSON object a line (LOG_FORMAT=json, the default in
  production).
- Celery: a task queued during a request carries the id in its message headers, and the worker
  logs the task's lines with it (``connect_celery_signals``).
"""

import datetime as dt
import json
import logging
import re
import time
import traceback
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.functional import empty

REQUEST_ID_HEADER = "X-Request-ID"
# nginx's $request_id is 32 hex digits; other proxies use UUIDs. Anything else is not believed.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


@dataclass
class RequestContext:
    request_id: str
    method: str | None = None
    path: str | None = None
    started: float = field(default_factory=time.perf_counter)
    request: object = None
    task: str | None = None


current_context: ContextVar[RequestContext | None] = ContextVar("log_context", default=None)


def current_request_id() -> str | None:
    context = current_context.get()
    return context.request_id if context else None


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_of(request) -> str:
    """The proxy's id when the proxy is one we trust and the id looks like one, else a new one."""
    remote = request.META.get("REMOTE_ADDR")
    offered = request.META.get("HTTP_X_REQUEST_ID", "")
    if remote in settings.TRUSTED_PROXIES and _VALID_REQUEST_ID.match(offered):
        return offered
    return new_request_id()


class RequestIdMiddleware:
    """First in MIDDLEWARE, so that every answer (redirects, refusals, errors) carries the id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_of(request)
        request.request_id = request_id
        context = RequestContext(
            request_id=request_id, method=request.method, path=request.path, request=request
        )
        request.log_context = context
        token = current_context.set(context)
        try:
            _tag_error_reports(request_id)
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            _log_if_slow(request, response)
            return response
        finally:
            current_context.reset(token)


def _tag_error_reports(request_id: str) -> None:
    if getattr(settings, "SENTRY_DSN", ""):
        import sentry_sdk

        sentry_sdk.set_tag("request_id", request_id)


_request_logger = logging.getLogger("qualitymonth.request")


def _log_if_slow(request, response) -> None:
    """One line for a request slower than LOG_SLOW_REQUEST_MS (the access log has them all)."""
    threshold = getattr(settings, "LOG_SLOW_REQUEST_MS", 0)
    context = current_context.get()
    if not threshold or context is None:
        return
    duration_ms = (time.perf_counter() - context.started) * 1000
    if duration_ms >= threshold:
        match = getattr(request, "resolver_match", None)
        _request_logger.warning(
            "slow request: %s",
            match.view_name if match else request.path,
            extra={"status": response.status_code, "duration_ms": round(duration_ms, 1)},
        )


def _user_id(request) -> int | None:
    """The signed-in person's id, only if authentication already ran: a log line must never be
    the thing that loads the session."""
    user = getattr(request, "__dict__", {}).get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty or wrapped is None:
        return None
    return wrapped.pk if getattr(wrapped, "is_authenticated", False) else None


class RequestContextFilter(logging.Filter):
    """Puts the request's (or task's) context on every record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_context.get()
        request = getattr(record, "request", None)  # django.request passes it along
        if context is None and hasattr(request, "log_context"):
            # Django logs a 4xx/5xx answer once the middleware (and its context) are done.
            context = request.log_context
        if context is not None:
            request = request if hasattr(request, "META") else context.request
        record.request_id = context.request_id if context else None
        record.method = context.method if context else getattr(request, "method", None)
        record.path = context.path if context else getattr(request, "path", None)
        record.user_id = _user_id(request) if request is not None else None
        record.task = context.task if context else None
        if not hasattr(record, "status"):
            record.status = getattr(record, "status_code", None)
        if not hasattr(record, "duration_ms"):
            record.duration_ms = (
                round((time.perf_counter() - context.started) * 1000, 1)
                if context and context.method
                else None
            )
        return True


class PlainFormatter(logging.Formatter):
    """The development format, with the request id when there is one."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [{request_id}]" if request_id else line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, user_id, path, method,
    status, duration_ms, and exc_info (the formatted traceback) when there is one. Fields
    without a value are left out."""

    FIELDS = ("request_id", "user_id", "path", "method", "status", "duration_ms", "task")

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


# --- Celery: the request id travels with the task ---------------------------------------------

TASK_HEADER = "portal_request_id"


def _before_task_publish(headers=None, **kwargs):
    request_id = current_request_id()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


_task_tokens: dict[str, object] = {}


def _task_prerun(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if request_id is None and current_context.get() is not None:
        return  # an eager task inside a request: it already logs with the request's id
    context = RequestContext(request_id=request_id or task_id, task=getattr(task, "name", None))
    _task_tokens[task_id] = current_context.set(context)


def _task_postrun(task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        current_context.reset(token)


def connect_celery_signals() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(_before_task_publish, weak=False)
    task_prerun.connect(_task_prerun, weak=False)
    task_postrun.connect(_task_postrun, weak=False)
