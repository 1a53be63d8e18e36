"""Writes to a person's account preferences."""

from __future__ import annotations

from accounts.models import User
from accounts.preferences import LANGUAGE_CODES


def set_preferred_language(*, user: User, language: str) -> None:
    if language not in LANGUAGE_CODES:
        raise ValueError(f"unknown language {language!r}")
    user.preferred_language = language
    user.save(update_fields=["preferred_language"])


def set_theme(*, user: User, theme: str) -> None:
    if theme not in User.Theme.values:
        raise ValueError(f"unknown theme {theme!r}")
    user.theme = theme
    user.save(update_fields=["theme"])
