"""Install Debian's Chromium and ChromeDriver for the browser tests when they are missing.

Part of ``make test``. Never downloads a browser build of its own: only Debian's packages, and
only when running as root with apt-get (CI, a fresh developer machine). Elsewhere it says what to
install and the browser tests skip with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

PACKAGES = ("chromium", "chromium-driver")


def main() -> int:
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return 0
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        sys.stderr.write(
            "Chromium/ChromeDriver not found; install Debian's 'chromium' and 'chromium-driver' "
            "to run the browser tests.\n"
        )
        return 0
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-qq"], check=True, env=env)  # noqa: S603
    subprocess.run([apt, "install", "-y", "-qq", *PACKAGES], check=True, env=env)  # noqa: S603
    return 0


if __name__ == "__main__":
    sys.exit(main())
