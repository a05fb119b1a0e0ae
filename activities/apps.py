from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "activities"
    verbose_name = _("Campaigns and activities")

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers)
