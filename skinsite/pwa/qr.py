"""The QR code of the site's address, drawn server-side as inline SVG (segno).

Inline SVG with presentation attributes only: no script, no style attribute, so the
Content-Security-Policy (``style-src 'self'``) has nothing to refuse.
"""

from __future__ import annotations

from functools import lru_cache

import segno
from django.utils.safestring import SafeString, mark_safe

#: Pixels per module: a 29-module code with its quiet zone is about 200 CSS pixels.
SCALE = 5


@lru_cache(maxsize=16)
def qr_svg(url: str, title: str) -> SafeString:
    """``url`` as an inline ``<svg>``, black on white whatever the theme (scanners want it).

    Safe to put in a page as is: the URL is only drawn as modules, and segno escapes the title.
    """
    code = segno.make(url, error="m", micro=False)
    svg: str = code.svg_inline(scale=SCALE, dark="#000", light="#fff", title=title)
    return mark_safe(svg)  # noqa: S308
