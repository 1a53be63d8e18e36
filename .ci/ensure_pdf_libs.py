"""Install Debian's Pango and Noto fonts for the PDF report (and poppler-utils for its tests).

Part of ``make run``'s install step and of ``make test``. WeasyPrint lays text out with the
system's Pango (HarfBuzz shapes Arabic) and needs a font with Arabic: ``fonts-noto-core``.
Like ``ensure_browser.py`` it only installs Debian's packages, only when running as root with
apt-get; elsewhere it says what to install (the PDF tests then fail or skip with the reason).
"""

from __future__ import annotations

import argparse
import ctypes.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

RUNTIME = {
    "libpango-1.0-0": lambda: ctypes.util.find_library("pango-1.0") is not None,
    "libpangoft2-1.0-0": lambda: ctypes.util.find_library("pangoft2-1.0") is not None,
    "fonts-noto-core": lambda: Path(
        "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf"
    ).is_file(),
}
#: Renders a report's first page to an image in the tests (``pdftoppm``).
TESTS = {"poppler-utils": lambda: shutil.which("pdftoppm") is not None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", action="store_true", help="also the tests' poppler-utils")
    args = parser.parse_args()
    wanted = {**RUNTIME, **(TESTS if args.tests else {})}
    missing = [package for package, present in wanted.items() if not present()]
    if not missing:
        return 0
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        sys.stderr.write(
            f"PDF reports need Debian's {' '.join(missing)}; install them (apt-get install "
            f"{' '.join(missing)}) to make and test PDF reports.\n"
        )
        return 0
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-qq"], check=True, env=env)  # noqa: S603
    subprocess.run(  # noqa: S603
        [apt, "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
