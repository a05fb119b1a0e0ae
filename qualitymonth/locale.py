"""Which language a page speaks: the person's explicit choice, else their profile, else Chinese."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def _supported(code: str | None) -> str | None:
    if not code:
        return None
    try:
        found = translation.get_supported_language_variant(code)
    except LookupError:
        return None
    return found if found in SUPPORTED else None


class PortalLocaleMiddleware(LocaleMiddleware):
    """Chinese by default. Pages ignore the browser's Accept-Language (a ministry portal speaks
    Chinese first); the language switch (cookie) and a signed-in person's preferred language win.
    API clients may ask with Accept-Language."""

    def process_request(self, request):
        language = _supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
        if language is None:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                language = _supported(user.preferred_language)
        if language is None and request.path.startswith("/api/"):
            language = _supported(translation.get_language_from_request(request))
        language = language or settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
