"""The person's time zone: which names are zones, which one a request uses, how it is named."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django.utils import timezone


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name: str) -> bool:
    """An IANA zone this machine knows (browsers report these: ``Intl...timeZone``)."""
    return name in _zones()


def zone_for_user(user: Any) -> zoneinfo.ZoneInfo | None:
    """The signed-in person's saved zone, or None (the site's TIME_ZONE applies)."""
    if user is None or not user.is_authenticated:
        return None
    name = getattr(user, "time_zone", "")
    return zoneinfo.ZoneInfo(name) if name and is_time_zone(name) else None


def zone_label() -> str:
    """The active zone as the pages name it next to times: "Asia/Riyadh", "America/New York"."""
    name = timezone.get_current_timezone_name()
    return name.replace("_", " ")
