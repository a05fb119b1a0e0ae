"""Request context the audit log records without every service having to pass it along."""

from contextvars import ContextVar

from django.conf import settings

current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)


def client_ip(request) -> str | None:
    """The client's address. X-Real-IP is believed only from a configured proxy (the reference
    nginx overwrites it); from anyone else it could be forged."""
    remote = request.META.get("REMOTE_ADDR") or None
    if remote in settings.TRUSTED_PROXIES:
        return request.META.get("HTTP_X_REAL_IP") or remote
    return remote


class RequestAuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)
