from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityMonthConfig(AppConfig):
    """The project's own shared pieces: the audit log, base pages, the API's base."""

    name = "qualitymonth"
    verbose_name = _("Quality Month portal")
