"""Template helpers for catalogue pages."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

BULLET_PREFIXES = ("- ", "* ", "• ")

#: Bootstrap colours; every pair passes contrast in both light and dark themes.
CATEGORY_BADGES = {
    "malignant": "text-bg-danger",
    "benign": "text-bg-success",
    "inflammatory": "text-bg-warning",
    "infectious": "text-bg-info",
}
URGENCY_BADGES = {
    "urgent": "text-bg-danger",
    "soon": "text-bg-warning",
    "routine": "text-bg-secondary",
}


@register.filter
def prose(text: str | None) -> SafeString:
    """Curated text to HTML: each line a paragraph, "- " lines grouped into a bullet list.

    Everything is escaped: curators write plain text, never HTML.
    """
    blocks: list[SafeString] = []
    bullets: list[str] = []

    def flush() -> None:
        if bullets:
            items = format_html_join("", "<li>{}</li>", ((item,) for item in bullets))
            blocks.append(format_html("<ul>{}</ul>", items))
            bullets.clear()

    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(BULLET_PREFIXES):
            bullets.append(line[2:].strip())
        else:
            flush()
            blocks.append(format_html("<p>{}</p>", line))
    flush()
    return mark_safe("".join(blocks))  # noqa: S308 (every piece went through format_html)


@register.filter
def category_badge(category: str) -> str:
    return CATEGORY_BADGES.get(category, "text-bg-secondary")


@register.filter
def urgency_badge(urgency: str) -> str:
    return URGENCY_BADGES.get(urgency, "text-bg-secondary")


@register.filter
def urgency_timeframe(urgency: str) -> str:
    """How soon to see a doctor for this urgency (``diseases.urgency``: one wording everywhere)."""
    from diseases.urgency import timeframe

    return timeframe(urgency)
