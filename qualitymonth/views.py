from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import requires_csrf_token

from activities.selectors import content_areas_with_counts, key_arrangements_with_counts

ADMIN_TITLE = _("Quality Month administration")
ADMIN_INDEX_TITLE = _("Campaign data, accounts and the audit log")


def home(request):
    from activities.selectors import campaign_current

    campaign = campaign_current()
    context = {"campaign": campaign}
    if campaign is not None:
        context["key_arrangements"] = key_arrangements_with_counts(campaign)
        context["content_areas"] = content_areas_with_counts(campaign)
    return render(request, "home.html", context)


@requires_csrf_token
def permission_denied(request, exception=None):
    return render(request, "errors/403.html", status=403)


@requires_csrf_token
def page_not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


@requires_csrf_token
def server_error(request):
    # No context processors that touch the database: the database may be what failed.
    from django.template import loader

    from django.http import HttpResponseServerError

    return HttpResponseServerError(loader.get_template("errors/500.html").render({"request": request}))
