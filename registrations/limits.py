"""Rate limits on signing up, shared by the web form and the API (one count per person and one
per address, whatever the way in). The rates are settings: SIGNUP_RATE_PER_USER and
SIGNUP_RATE_PER_IP (docs/settings.md)."""

from django.utils.translation import gettext_lazy as _

from qualitymonth.ratelimit import Limit, RateLimitThrottle

SIGN_UP_LIMITS = (
    Limit(
        "sign-up-user",
        "SIGNUP_RATE_PER_USER",
        per="user",
        message=_(
            "Too many sign-up attempts from your account: at most %(limit)d in %(window)s. "
            "Please try again in %(wait)s."
        ),
    ),
    Limit(
        "sign-up-ip",
        "SIGNUP_RATE_PER_IP",
        per="ip",
        message=_(
            "Too many sign-up attempts from this network connection: at most %(limit)d in "
            "%(window)s. Please try again in %(wait)s."
        ),
    ),
)


class SignUpThrottle(RateLimitThrottle):
    """Counts sign-ups over the API (POST /api/v1/registrations/) against `SIGN_UP_LIMITS`."""

    limits = SIGN_UP_LIMITS
    actions = ("create",)
