"""Personal API tokens: ``Authorization: Token <key>``."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import PersonalToken

# Recording every use would write on every request; once a minute is enough to show activity.
LAST_USED_RESOLUTION_SECONDS = 60


class PersonalTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        token = (
            PersonalToken.objects.select_related("user")
            .filter(key_hash=PersonalToken.hash_key(key))
            .first()
        )
        if token is None or not token.is_usable:
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This account is deactivated."))
        now = timezone.now()
        if (
            token.last_used_at is None
            or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
        ):
            PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return (token.user, token)


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": _("A personal token, sent as `Token <key>`."),
        }
