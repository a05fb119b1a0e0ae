"""One-time links: staff invitations, email verification and password reset.

Each kind has its own generator (its own ``key_salt``), so a token made for one purpose never
opens another. Tokens are stateless: what makes them one-time is the user state they hash, which
the action behind the link changes (the password for invitations and resets, the verification
time for email verification). All expire after ``settings.PASSWORD_RESET_TIMEOUT``.
"""

import enum

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode


class LinkState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    # Already used, made for someone else, or mistyped: the token no longer matches the person.
    INVALID = "invalid"


class OneTimeLinkTokenGenerator(PasswordResetTokenGenerator):
    """Django's generator, able to tell an expired link from a used or broken one."""

    def state(self, user, token: str | None) -> LinkState:
        if user is None or not token or not user.is_active:
            return LinkState.INVALID
        if self.check_token(user, token):
            return LinkState.VALID
        try:
            ts_b36, _hash = token.split("-")
            timestamp = base36_to_int(ts_b36)
        except ValueError:
            return LinkState.INVALID
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(
                self._make_token_with_timestamp(user, timestamp, secret), token
            ):
                # Genuine and unused, so check_token refused it for its age.
                return LinkState.EXPIRED
        return LinkState.INVALID


class PasswordResetLinkTokenGenerator(OneTimeLinkTokenGenerator):
    """Django's own password reset tokens (same salt), with `state`."""


class InvitationTokenGenerator(OneTimeLinkTokenGenerator):
    """A staff invitation. Setting the password (or signing in) uses it up."""

    key_salt = "qualitymonth.accounts.tokens.InvitationTokenGenerator"


class EmailVerificationTokenGenerator(OneTimeLinkTokenGenerator):
    """An email verification link. Verifying (or changing the address) uses it up."""

    key_salt = "qualitymonth.accounts.tokens.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        verified = "" if user.email_verified_at is None else user.email_verified_at.isoformat()
        return f"{user.pk}{user.email}{verified}{timestamp}"


password_reset_token_generator = PasswordResetLinkTokenGenerator()
invitation_token_generator = InvitationTokenGenerator()
email_verification_token_generator = EmailVerificationTokenGenerator()


def uidb64(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def link_lifetime_days() -> int:
    """How long a one-time link lasts, in whole days, for the emails that announce it."""
    return max(1, settings.PASSWORD_RESET_TIMEOUT // (24 * 3600))
