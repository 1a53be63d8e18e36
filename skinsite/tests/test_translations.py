"""Every Arabic catalogue is complete, and the committed .mo files match their .po sources.

The .mo files are committed so the site runs on machines without GNU gettext; this test keeps
them honest.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(
    path
    for path in ROOT.glob("**/locale/ar/LC_MESSAGES/django.po")
    if ".venv" not in path.parts and "var" not in path.parts
)
MSGFMT = shutil.which("msgfmt")


def test_the_project_catalogue_exists() -> None:
    assert ROOT / "locale/ar/LC_MESSAGES/django.po" in CATALOGUES


@pytest.mark.skipif(MSGFMT is None, reason="GNU gettext's msgfmt is not installed")
@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_catalogue_is_complete(po: Path) -> None:
    result = subprocess.run(
        [MSGFMT, "--check-format", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "untranslated" not in result.stderr, result.stderr
    assert "fuzzy" not in result.stderr, result.stderr


@pytest.mark.skipif(MSGFMT is None, reason="GNU gettext's msgfmt is not installed")
@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiled_catalogue_is_up_to_date(po: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "django.mo"
    subprocess.run([MSGFMT, "--check-format", "-o", str(fresh), str(po)], check=True)
    committed = po.with_suffix(".mo")
    assert committed.exists(), f"run `make messages`: {committed} is missing"
    stale = f"run `make messages`: {committed} is stale"
    assert committed.read_bytes() == fresh.read_bytes(), stale
