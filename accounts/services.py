"""Writes to a person's account preferences, and what other apps read of them.

This is the app's public interface: outside ``accounts``, code imports this module (an
import-linter contract in ``pyproject.toml``); ``theme_for_request`` and ``zone_label`` are
re-exported for the project's context processor and ``{% local_time %}`` tag.
"""

from __future__ import annotations

from accounts.models import User
from accounts.preferences import LANGUAGE_CODES, theme_for_request
from accounts.timezones import is_time_zone, zone_label

__all__ = [
    "set_preferred_language",
    "set_theme",
    "set_time_zone",
    "theme_for_request",
    "zone_label",
]


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
