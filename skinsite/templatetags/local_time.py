"""``{% local_time value %}``: a moment in the person's own zone and language, the zone named."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.services import zone_label

register = template.Library()


@register.simple_tag
def local_time(value: datetime | None, format_name: str = "DATETIME_FORMAT") -> SafeString:
    """``<time>`` in the active zone (``UserTimeZoneMiddleware``), then the zone's name.

    The name is a left-to-right isolate (``<bdi>``) so "America/New York" keeps its order on
    an Arabic page.
    """
    if value is None:
        return SafeString("")
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{}</time> <span class="text-nowrap" data-time-zone>(<bdi>{}</bdi>)'
        "</span>",
        local.isoformat(),
        date_format(local, format_name),
        zone_label(),
    )
