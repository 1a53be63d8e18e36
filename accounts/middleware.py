from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from accounts.preferences import LANGUAGE_CODES, set_language_cookie
from accounts.timezones import zone_for_user


class UserLanguageMiddleware:
    """A signed-in person's saved language wins over the cookie and the browser's.

    Runs after AuthenticationMiddleware and LocaleMiddleware. The cookie is brought in line so
    the language stays the same after logging out.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._saved_language(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            set_language_cookie(response, language)
        return response

    @staticmethod
    def _saved_language(request: HttpRequest) -> str:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return ""
        language = user.preferred_language
        return language if language in LANGUAGE_CODES else ""


class UserTimeZoneMiddleware:
    """Times on the pages are in the signed-in person's own zone (saved from their browser).

    Runs after AuthenticationMiddleware. Without a saved zone, the site's TIME_ZONE applies.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_for_user(getattr(request, "user", None))
        if zone is None:
            timezone.deactivate()
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)
