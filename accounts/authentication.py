"""Personal API tokens: ``Authorization: Token <key>``."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from qualitymonth.compiled import CompiledQuery

from .models import PersonalToken
from .rules import remember_roles, roles_annotations

# Recording every use would write on every request; once a minute is enough to show activity.
LAST_USED_RESOLUTION_SECONDS = 60


# The token, its person and their roles in one query, compiled once: every API request needs
# all three.
_TOKEN_WITH_ROLES = CompiledQuery(
    lambda key_hash: (
        PersonalToken.objects.select_related("user")
        .annotate(**roles_annotations("user"))
        .filter(key_hash=key_hash)
        .order_by("pk")[:1]
    )
)


class PersonalTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        token = _TOKEN_WITH_ROLES.first(PersonalToken.hash_key(key))
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
        remember_roles(token.user, token)
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
