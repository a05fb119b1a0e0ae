"""Rate limit on uploads, shared by the resumable uploader, the plain form and the API: one count
per file started, per person (chunks of a started upload are not counted again). The rate is the
setting FEEDBACK_UPLOAD_RATE_PER_USER (docs/settings.md)."""

from django.utils.translation import gettext_lazy as _

from qualitymonth.ratelimit import Limit, RateLimitThrottle

UPLOAD_LIMITS = (
    Limit(
        "feedback-upload-user",
        "FEEDBACK_UPLOAD_RATE_PER_USER",
        per="user",
        message=_(
            "Too many uploads from your account: at most %(limit)d files in %(window)s. "
            "Please try again in %(wait)s."
        ),
    ),
)


class UploadThrottle(RateLimitThrottle):
    """Counts files uploaded over the API (POST /api/v1/feedback-reports/<id>/media/)."""

    limits = UPLOAD_LIMITS
    actions = ("create",)
