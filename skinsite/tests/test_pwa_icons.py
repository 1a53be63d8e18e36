"""The app's icons: rendered from the logo SVG by the build step (collectstatic), none committed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from skinsite.pwa import icons

ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``manage.py collectstatic`` as ``make run`` and the Docker build run it, on a fresh
    ``var/``: the static root it fills."""
    var = tmp_path_factory.mktemp("var")
    env = {**os.environ, "SKINSITE_VAR_DIR": str(var), "STATIC_ROOT": str(var / "static")}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT, env=env, check=True, timeout=300,
    )  # fmt: skip
    return var / "static"


def test_no_icon_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.png"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [path for path in tracked if Path(path).name in {i.name for i in icons.ICONS}]


@pytest.mark.parametrize("icon", icons.ICONS, ids=lambda icon: icon.name)
def test_the_build_step_renders_each_icon_at_its_size(collected: Path, icon: icons.Icon) -> None:
    with Image.open(collected / icon.path) as image:
        assert image.format == "PNG"
        assert image.size == (icon.size, icon.size)
        rgba = image.convert("RGBA")
        corner = rgba.getpixel((0, 0))
        centre = rgba.getpixel((icon.size // 2, icon.size // 2))
    assert isinstance(corner, tuple)
    assert isinstance(centre, tuple)
    # The logo's disc fills the middle; a maskable icon is full-bleed (the launcher crops it),
    # a plain one keeps the logo's transparent corners.
    assert centre[3] == 255
    if icon.purpose == "maskable":
        assert corner == (
            *Image.new("RGB", (1, 1), icons.MASKABLE_BACKGROUND).getpixel((0, 0)),
            255,
        )
    else:
        assert corner[3] == 0


def test_the_maskable_icon_keeps_the_logo_inside_the_safe_zone(collected: Path) -> None:
    """Launchers may crop a maskable icon to the middle circle of 80% of its side."""
    with Image.open(collected / "pwa/maskable-512.png") as image:
        rgba = image.convert("RGBA")
    background = rgba.getpixel((0, 0))
    logo = [
        (x, y)
        for y in range(0, 512, 4)
        for x in range(0, 512, 4)
        if rgba.getpixel((x, y)) != background
    ]
    assert logo
    radius = max(((x - 255.5) ** 2 + (y - 255.5) ** 2) ** 0.5 for x, y in logo)
    assert radius <= 0.4 * 512


def test_a_new_logo_gets_new_icons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = icons.icons_folder()
    logo = tmp_path / "logo.svg"
    logo.write_text(icons.LOGO.read_text(encoding="utf-8").replace("#5a3325", "#000000"))
    monkeypatch.setattr(icons, "LOGO", logo)
    assert icons.icons_folder() != before
