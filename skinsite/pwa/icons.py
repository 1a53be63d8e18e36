"""The app's icons, rendered from the site's logo SVG by a static-files finder.

``IconFinder`` (in ``STATICFILES_FINDERS``) renders every icon in ``ICONS`` with resvg into
``VAR_DIR/pwa-icons/<hash>/`` when Django builds its finders, so ``collectstatic`` copies them
like any other static file and the development server serves them. The folder's
name is a hash of the logo and of ``ICONS``: a new logo gives new icons, and never stale ones.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import resvg_py
from django.conf import settings
from django.contrib.staticfiles.finders import BaseStorageFinder
from django.core.files.storage import FileSystemStorage

#: The one source of every icon: the site's logo, also its favicon.
LOGO = Path(settings.BASE_DIR) / "static" / "img" / "favicon.svg"
#: Where icons go in the static files (``{% static "pwa/icon-192.png" %}``).
PREFIX = "pwa"
#: Behind a maskable icon: the launcher crops it to its own shape (circle, squircle ...).
MASKABLE_BACKGROUND = "#f6ede8"
#: A maskable icon's content must fit the middle circle of 80% of its side (the "safe zone");
#: the logo is a disc of 14/16 of its box, so a box of 0.76 / (14 / 16) of the side keeps the
#: disc, anti-aliased edge included, inside it.
MASKABLE_LOGO_SHARE = 0.76 / (14 / 16)


@dataclass(frozen=True)
class Icon:
    """One PNG: its file name, its side in pixels and its manifest ``purpose``."""

    name: str
    size: int
    purpose: str  # "any": drawn as is; "maskable": full-bleed, cropped by the launcher

    @property
    def path(self) -> str:
        return f"{PREFIX}/{self.name}"


ICONS = (
    Icon("icon-192.png", 192, "any"),
    Icon("icon-512.png", 512, "any"),
    Icon("maskable-512.png", 512, "maskable"),
    # iOS ignores the manifest's icons and fills transparent corners with black: full-bleed too.
    Icon("apple-touch-icon.png", 180, "maskable"),
)
#: The icons the manifest lists (Apple's is linked from base.html instead).
MANIFEST_ICONS = tuple(icon for icon in ICONS if icon.name != "apple-touch-icon.png")


def full_bleed_svg(logo_svg: str) -> str:
    """The logo centred in the safe zone of a square filled with ``MASKABLE_BACKGROUND``."""
    logo = base64.b64encode(logo_svg.encode()).decode()
    side = 100 * MASKABLE_LOGO_SHARE
    offset = (100 - side) / 2
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        f'<rect width="100" height="100" fill="{MASKABLE_BACKGROUND}"/>'
        f'<image x="{offset:.3f}" y="{offset:.3f}" width="{side:.3f}" height="{side:.3f}" '
        f'href="data:image/svg+xml;base64,{logo}"/></svg>'
    )


def render_icon(icon: Icon, logo_svg: str) -> bytes:
    """One icon as PNG bytes."""
    svg = full_bleed_svg(logo_svg) if icon.purpose == "maskable" else logo_svg
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, width=icon.size, height=icon.size))


def icons_folder() -> Path:
    """The folder of the current logo's icons (rendered or not yet)."""
    digest = hashlib.sha256(LOGO.read_bytes())
    digest.update(json.dumps([asdict(icon) for icon in ICONS]).encode())
    digest.update(f"{MASKABLE_BACKGROUND} {MASKABLE_LOGO_SHARE}".encode())
    return Path(settings.VAR_DIR) / "pwa-icons" / digest.hexdigest()[:16]


def build_icons() -> Path:
    """Render the icons that are missing; return the folder that holds ``pwa/<name>``.

    Each file is written beside its place and renamed, so web processes racing to render the
    same icon each rename a complete file.
    """
    folder = icons_folder()
    logo_svg = LOGO.read_text(encoding="utf-8")
    for icon in ICONS:
        target = folder / icon.path
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f"{target.name}.{os.getpid()}.part")
        part.write_bytes(render_icon(icon, logo_svg))
        part.replace(target)
    return folder


class IconFinder(BaseStorageFinder):
    """Finds the rendered icons under ``pwa/``, rendering the missing ones when Django first
    builds its finders (``collectstatic``, the development server, the system checks)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(FileSystemStorage(location=build_icons()), *args, **kwargs)
