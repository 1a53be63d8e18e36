"""Writes to a person's account preferences."""

from __future__ import annotations

from accounts.models import User
from accounts.preferences import LANGUAGE_CODES
from accounts.timezones import is_time_zone


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


def set_time_zone(*, user: User, zone: str) -> None:
    """Remember the zone the person's browser reports, so times show in their own."""
    if not is_time_zone(zone):
        raise ValueError(f"unknown time zone {zone!r}")
    user.time_zone = zone
    user.save(update_fields=["time_zone"])
