"""Debian's Chromium for the browser tests on pytest-django's live server: one setup for all.

``start_chrome`` starts it headless (fake camera, prompts answered); ``sign_in`` hands it a
session of the Django test client; ``viewport`` sets the exact inner size (a 1280x757 laptop
window or a 390x844 phone); ``prefer`` sets the language and theme cookies the site reads.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

WAIT = 60
DESKTOP = (1280, 757)
PHONE = (390, 844)
#: (viewport, language, theme) of every look the site promises, as pytest parameters.
LOOKS = [
    pytest.param(size, language, theme, id=f"{device}-{language}-{theme}")
    for device, size in (("desktop", DESKTOP), ("phone", PHONE))
    for language in ("en", "ar")
    for theme in ("light", "dark")
]


def start_chrome(*, camera_allowed: bool = True) -> Any:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("Chromium/ChromeDriver not installed (Debian: chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    flags = [
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=412,915",
        "--use-fake-device-for-media-stream",
        # Bootstrap scrolls smoothly otherwise, and a check could run while the page moves.
        "--force-prefers-reduced-motion",
    ]
    # Answer the camera permission prompt as a person would: allow, or block.
    answer = "--use-fake-ui-for-media-stream" if camera_allowed else "--deny-permission-prompts"
    flags.append(answer)
    for flag in flags:
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or ""
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_page_load_timeout(WAIT)
    return driver


def sign_in(driver: Any, live_server: Any, user: Any) -> Any:
    client = Client()
    client.force_login(user)
    driver.get(live_server.url + "/healthz")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    driver.add_cookie({"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "path": "/"})
    return driver


def viewport(driver: Any, size: tuple[int, int]) -> None:
    """Make the page's viewport exactly ``size`` (CSS pixels); phones get touch and mobile."""
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def prefer(driver: Any, live_server: Any, *, language: str, theme: str) -> None:
    """The language and theme a person without a saved preference chose (the site's cookies),
    in a browser that forgot what earlier tests stored."""
    driver.get(live_server.url + "/healthz")
    driver.execute_script("window.sessionStorage.clear(); window.localStorage.clear();")
    driver.add_cookie({"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "path": "/"})
    driver.add_cookie({"name": "theme", "value": theme, "path": "/"})


def time_zone(driver: Any, zone: str) -> None:
    """The time zone the browser reports (``Intl``), as a person's computer would set it."""
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": zone})


def csp_errors(driver: Any) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]
