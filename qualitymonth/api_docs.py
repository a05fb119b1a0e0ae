"""The OpenAPI documentation pages, served offline: Swagger UI (/api/docs/), Redoc (/api/redoc/)."""

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# The documentation pages load nothing from elsewhere: scripts, styles and fonts come from our own
# /static/ (drf-spectacular-sidecar), and the browser is told to refuse anything else (e.g. the
# Redocly logo the Redoc bundle would fetch from its CDN). Intranets and mainland networks that
# cannot reach foreign CDNs get working docs.
OFFLINE_DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
    ]
)


class _OfflineDocsMixin:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = OFFLINE_DOCS_CSP
        return response


class OfflineSwaggerView(_OfflineDocsMixin, SpectacularSwaggerView):
    """Swagger UI, from the sidecar's files under our /static/."""


class OfflineRedocView(_OfflineDocsMixin, SpectacularRedocView):
    """Redoc, from the sidecar's files under our /static/, without the web fonts its stock page
    loads from Google."""

    template_name = "api/redoc.html"
