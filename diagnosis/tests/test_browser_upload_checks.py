"""The upload page in a real Chromium: a capped preview, and the server's refusals before sending.

Desktop (a 1280x757 window) and phone (390x844), English and Arabic, light and dark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from diagnosis.imaging import browser_refusals
from diagnosis.models import Diagnosis
from diagnosis.services import image_limits
from diagnosis.tests import images
from testing.browser import (
    DESKTOP,
    LOOKS,
    PHONE,
    WAIT,
    csp_errors,
    prefer,
    sign_in,
    viewport,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def upload_page(chrome: Any, live_server: Any, user_factory: Any, active_model: Any) -> Any:
    """Opens the upload page as a signed-in person in the given look; returns the driver."""

    def open_page(size: tuple[int, int], language: str, theme: str) -> Any:
        chrome.delete_all_cookies()
        prefer(chrome, live_server, language=language, theme=theme)
        sign_in(chrome, live_server, user_factory(theme=theme))
        viewport(chrome, size)
        chrome.get(live_server.url + reverse("diagnosis:upload"))
        return chrome

    return open_page


def choose(driver: Any, path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(path))


def wait(driver: Any, script: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(script))


def shown_text(driver: Any, css: str) -> str:
    """The text of the element when it is displayed, else ""."""
    return str(
        driver.execute_script(
            "const e = document.querySelector(arguments[0]);"
            "return e && e.offsetParent !== null ? e.textContent.trim() : '';",
            css,
        )
    )


@pytest.mark.parametrize(("size", "language", "theme"), LOOKS)
def test_a_big_photos_preview_leaves_the_check_button_on_screen(
    upload_page: Any, tmp_path: Path, size: tuple[int, int], language: str, theme: str
) -> None:
    photo = tmp_path / "big.jpg"
    photo.write_bytes(images.jpeg((4000, 3000)))
    driver = upload_page(size, language, theme)
    assert driver.execute_script("return window.innerHeight") == size[1]
    choose(driver, photo)
    wait(driver, "return document.querySelector('[data-preview-image]').naturalWidth > 0")
    # Measured once the quality check has answered: its advice (this smooth gradient is too
    # blurred at the worker's analysis size) must not push the button off screen either.
    wait(driver, "return document.querySelector('[data-quality-checked]')")

    box = driver.execute_script(
        "const r = document.querySelector('form[data-upload-form] button[type=submit]')"
        ".getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight];"
    )
    top, bottom, height = box
    assert top >= 0 and bottom <= height, f"the button spans {top}-{bottom} of {height} px"
    assert shown_text(driver, "[data-client-error]") == ""
    assert csp_errors(driver) == []


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_pdf_renamed_to_jpg_is_refused_before_sending_with_the_servers_message(
    upload_page: Any, tmp_path: Path, language: str
) -> None:
    fake = tmp_path / "lesion.jpg"
    fake.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    driver = upload_page(PHONE, language, "light")
    page = driver.current_url
    choose(driver, fake)
    with translation.override(language):
        expected = str(browser_refusals(image_limits())["not_image"])
    wait(
        driver, "return !document.querySelector('[data-client-error]').classList.contains('d-none')"
    )
    assert shown_text(driver, "[data-client-error]") == expected
    assert shown_text(driver, "[data-no-preview]") == ""  # no promise that it will be checked

    driver.find_element("css selector", "form[data-upload-form] button[type=submit]").click()
    assert driver.current_url == page
    assert shown_text(driver, "[data-client-error]") == expected
    assert driver.find_element(
        "css selector", "form[data-upload-form] button[type=submit]"
    ).is_enabled()
    assert not Diagnosis.objects.exists()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_file_over_the_size_limit_is_refused_before_sending_with_the_servers_message(
    upload_page: Any, tmp_path: Path, language: str
) -> None:
    limits = image_limits()
    big = tmp_path / "huge.jpg"
    jpeg = images.jpeg((400, 300))
    big.write_bytes(jpeg + b"\0" * (limits.max_bytes + 1 - len(jpeg)))
    driver = upload_page(DESKTOP, language, "dark")
    choose(driver, big)
    with translation.override(language):
        expected = str(browser_refusals(limits)["too_large"])
    wait(
        driver, "return !document.querySelector('[data-client-error]').classList.contains('d-none')"
    )
    assert shown_text(driver, "[data-client-error]") == expected
    driver.find_element("css selector", "form[data-upload-form] button[type=submit]").click()
    assert not Diagnosis.objects.exists()


def test_only_a_real_heic_gets_the_cannot_preview_line(upload_page: Any, tmp_path: Path) -> None:
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(images.heic(images.picture((640, 480))))
    driver = upload_page(DESKTOP, "en", "light")
    choose(driver, heic)
    wait(driver, "return !document.querySelector('[data-no-preview]').classList.contains('d-none')")
    assert "cannot preview this format" in shown_text(driver, "[data-no-preview]")
    assert shown_text(driver, "[data-client-error]") == ""

    damaged = tmp_path / "damaged.jpg"  # a JPEG's signature, then nothing a browser can draw
    damaged.write_bytes(images.jpeg()[:200])
    choose(driver, damaged)
    wait(driver, "return !document.querySelector('[data-preview-image]').getAttribute('src')")
    assert shown_text(driver, "[data-no-preview]") == ""
