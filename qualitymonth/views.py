from django.conf import settings
from django.http import HttpResponseRedirect, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_safe
from rest_framework.exceptions import NotFound

from activities.selectors import (
    campaign_current,
    content_areas_with_counts,
    key_arrangements_with_counts,
)
from feedback.showcase_views import latest_published_cases

ADMIN_TITLE = _("Quality Month administration")
ADMIN_INDEX_TITLE = _("Campaign data, accounts and the audit log")


def home(request):
    """The current campaign: theme, dates, its arrangements and content areas with activity counts.

    A fixed number of queries whatever the number of activities (the counts are annotations).
    """
    campaign = campaign_current()
    context = {"campaign": campaign}
    if campaign is not None:
        key_arrangements = list(key_arrangements_with_counts(campaign))
        context.update(
            key_arrangements=key_arrangements,
            content_areas=list(content_areas_with_counts(campaign)),
            # Every activity sits under exactly one key arrangement of its campaign.
            published_total=sum(a.published_count for a in key_arrangements),
        )
    # The newest published typical cases, as cards (two queries however many there are).
    context["latest_cases"] = latest_published_cases(3)
    return render(request, "home.html", context)


@requires_csrf_token
def permission_denied(request, exception=None):
    return render(request, "errors/403.html", status=403)


@requires_csrf_token
def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        # API clients get the API's error shape, also for a URL no endpoint matches (e.g. an id
        # that is not a number).
        return JsonResponse({"detail": str(NotFound.default_detail)}, status=404)
    return render(request, "errors/404.html", status=404)


@requires_csrf_token
def server_error(request):
    # A standalone template and no context processors: the database may be what failed.
    page = loader.get_template("errors/500.html").render({"request": request})
    return HttpResponseServerError(page)


@require_safe
def switch_language(request, code):
    """Switch the site's language by a plain link (no form, no CSRF token in the page header, so
    public pages can be cached whole for anonymous visitors). Only a cookie changes: harmless."""
    supported = {language for language, _name in settings.LANGUAGES}
    target = request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    if code in supported:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response
