from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityMonthConfig(AppConfig):
    """The project's own shared pieces: the audit log, base pages, the API's base."""

    name = "qualitymonth"
    verbose_name = _("Quality Month portal")

    def ready(self):
        from . import switches  # noqa: F401 - registers the check refusing test-only switches
        from .logs import connect_celery_signals
        from .metrics import connect_signals

        connect_signals()
        connect_celery_signals()
