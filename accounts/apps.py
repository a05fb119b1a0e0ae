from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and roles")

    def ready(self):
        # Remembers on every sign-in which two-factor step it still needs.
        from . import two_factor  # noqa: F401
