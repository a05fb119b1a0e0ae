from django.conf import settings

from activities.selectors import campaign_current


def portal(request):
    """What every page's layout shows: the current campaign and the person's roles."""
    from accounts.rules import roles_of

    return {
        "current_campaign": campaign_current(),
        "portal_roles": roles_of(getattr(request, "user", None)),
        "PRODUCTION": settings.PRODUCTION,
    }
