"""Until a person has done the second step of signing in, only the two-factor pages answer."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext

from . import two_factor
from .rules import must_use_two_factor
from .two_factor import Step

# Pages that answer before the second step (besides static files): its own pages, logging out
# and switching the language.
OPEN_URL_NAMES = ("accounts:otp_login", "accounts:otp_setup", "accounts:logout")
OPEN_PREFIXES = ("/i18n/",)


class TwoFactorMiddleware:
    """Sends a signed-in person whose session is not verified yet to enter a code (or to set up
    an authenticator where one is required). The API answers 403 with a JSON message instead;
    a request with a personal token (``Authorization``) is left to the token's authentication.

    The step comes from the session (set on signing in), so a verified or free session costs no
    query. It is looked up again while a step is outstanding (an administrator's reset changes
    it) and, where two-factor authentication is required, for free sessions (a role granted
    since signing in counts on the next request).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._open_paths = None

    def __call__(self, request):
        step = self._outstanding_step(request)
        if step is not Step.NONE and not self._is_open(request.path_info):
            return self._refuse(request, step)
        return self.get_response(request)

    def _outstanding_step(self, request) -> Step:
        if AUTH_SESSION_KEY not in request.session:
            return Step.NONE  # not signed in: nothing to load
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return Step.NONE
        remembered = request.session.get(two_factor.SESSION_KEY)
        if remembered == Step.NONE and not (
            settings.TWO_FACTOR_REQUIRED and must_use_two_factor(user)
        ):
            return Step.NONE
        return two_factor.remember_step(request, user)

    def _is_open(self, path: str) -> bool:
        if self._open_paths is None:
            self._open_paths = {reverse(name) for name in OPEN_URL_NAMES}
        return (
            path in self._open_paths
            or path.startswith(OPEN_PREFIXES)
            or path.startswith(settings.STATIC_URL)
        )

    def _refuse(self, request, step: Step):
        if request.path_info.startswith("/api/"):
            if "HTTP_AUTHORIZATION" in request.META:
                return self.get_response(request)
            return JsonResponse(
                {
                    "detail": gettext(
                        "Two-factor authentication is needed: enter the code from your "
                        "authenticator app at %(url)s first, then call the API again."
                    )
                    % {"url": request.build_absolute_uri(reverse("accounts:otp_login"))},
                    "code": "two_factor_required",
                },
                status=403,
            )
        name = "accounts:otp_login" if step is Step.VERIFY else "accounts:otp_setup"
        target = reverse(name)
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)
