"""The person's language and theme: read from the profile when signed in, else from cookies."""

from __future__ import annotations

from typing import Literal, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.models import User

THEME_COOKIE_NAME = "theme"
THEME_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def theme_for_request(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.theme)
    theme = request.COOKIES.get(THEME_COOKIE_NAME, User.Theme.AUTO)
    return theme if theme in User.Theme.values else User.Theme.AUTO


def set_theme_cookie(response: HttpResponse, theme: str) -> None:
    response.set_cookie(
        THEME_COOKIE_NAME,
        theme,
        max_age=THEME_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SECURE_HTTPS,
    )


def set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        # settings are typed as plain str; Django accepts exactly these values here.
        samesite=cast(Literal["Lax", "Strict", "None"], settings.LANGUAGE_COOKIE_SAMESITE),
        secure=settings.LANGUAGE_COOKIE_SECURE,
    )
