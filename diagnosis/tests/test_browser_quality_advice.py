"""The worker's quality checks in a real Chromium, before sending: advice, never a block."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation
from PIL import Image, ImageFilter

from diagnosis.models import Diagnosis
from diagnosis.outcomes import QUALITY_ADVICE
from diagnosis.tests import images
from diagnosis.tests.test_browser_upload_checks import choose, shown_text, wait
from mltrain.ml import quality
from mltrain.ml.artifacts import load_manifest
from testing.browser import PHONE, csp_errors, prefer, sign_in, viewport
from testing.photos import lesion_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADVICE = "[data-quality-status]"
#: True once quality.js has answered for the chosen photo (advice or none).
CHECKED = f"return document.querySelector('{ADVICE}').hasAttribute('data-quality-checked')"


@pytest.fixture
def upload_page(chrome: Any, live_server: Any, user_factory: Any, active_model: Any) -> Any:
    def open_page(language: str) -> Any:
        chrome.delete_all_cookies()
        prefer(chrome, live_server, language=language, theme="light")
        sign_in(chrome, live_server, user_factory())
        viewport(chrome, PHONE)
        chrome.get(live_server.url + reverse("diagnosis:upload"))
        return chrome

    return open_page


def blurred_photo(path: Path) -> Path:
    with Image.open(io.BytesIO(lesion_photo((800, 600), seed=2))) as img:
        img.filter(ImageFilter.GaussianBlur(8)).save(path, "JPEG", quality=90)
    return path


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_blurred_photo_gets_the_workers_blur_advice_before_sending_and_can_still_be_sent(
    upload_page: Any, tmp_path: Path, language: str
) -> None:
    driver = upload_page(language)
    choose(driver, blurred_photo(tmp_path / "blurred.jpg"))
    wait(driver, f"return document.querySelector('{ADVICE} [data-quality-title]')")
    with translation.override(language):
        advice = QUALITY_ADVICE["blurred"]
        title, fix = str(advice.title), str(advice.fix)
    assert shown_text(driver, f"{ADVICE} [data-quality-title]") == title
    assert shown_text(driver, f"{ADVICE} [data-quality-fix]") == fix
    box = driver.find_element("css selector", ADVICE)
    assert box.get_attribute("role") == "status"
    assert box.get_attribute("data-quality-issue") == "blurred"
    assert shown_text(driver, "[data-client-error]") == ""  # advice, not a refusal
    assert csp_errors(driver) == []

    # The server's verdict counts: the photo is sent all the same.
    driver.find_element("css selector", "form[data-upload-form] button[type=submit]").click()
    wait(driver, "return /\\/diagnosis\\/[0-9a-f-]{36}\\/$/.test(location.pathname)")
    assert Diagnosis.objects.count() == 1


def test_a_sharp_photo_gets_no_advice_and_a_new_choice_clears_the_old_advice(
    upload_page: Any, tmp_path: Path
) -> None:
    driver = upload_page("en")
    choose(driver, blurred_photo(tmp_path / "blurred.jpg"))
    wait(driver, f"return document.querySelector('{ADVICE} [data-quality-title]')")

    sharp = tmp_path / "sharp.jpg"
    sharp.write_bytes(lesion_photo((800, 600), seed=2))
    choose(driver, sharp)
    wait(driver, CHECKED)
    assert driver.find_element("css selector", ADVICE).text.strip() == ""
    assert driver.find_element("css selector", ADVICE).get_attribute("data-quality-issue") is None


def test_the_camera_page_gives_the_same_advice_for_a_photo_from_its_file_input(
    chrome: Any, live_server: Any, user_factory: Any, active_model: Any, tmp_path: Path
) -> None:
    chrome.delete_all_cookies()
    prefer(chrome, live_server, language="ar", theme="dark")
    sign_in(chrome, live_server, user_factory())
    viewport(chrome, PHONE)
    chrome.get(live_server.url + reverse("diagnosis:camera"))
    chrome.find_element("css selector", "#camera-file").send_keys(
        str(blurred_photo(tmp_path / "blurred.jpg"))
    )
    wait(chrome, CHECKED)
    with translation.override("ar"):
        title = str(QUALITY_ADVICE["blurred"].title)
    assert shown_text(chrome, f"{ADVICE} [data-quality-title]") == title
    assert chrome.find_element("css selector", "[data-camera-fallback-submit]").is_enabled()
    assert csp_errors(chrome) == []


def variants(folder: Path) -> dict[str, Path]:
    """Photos on each side of every limit, written as JPEGs."""
    sharp = Image.open(io.BytesIO(lesion_photo((800, 600), seed=2))).convert("RGB")
    photos = {
        "sharp": sharp,
        "blurred": sharp.filter(ImageFilter.GaussianBlur(8)),
        "slightly-blurred": sharp.filter(ImageFilter.GaussianBlur(1.5)),
        "dark": sharp.point(lambda v: v * 0.2),
        "overexposed": sharp.point(lambda v: min(255, v * 2.2)),
        "small": sharp.resize((40, 30)),
        "big-texture": images.picture((4000, 3000)),
    }
    paths = {}
    for name, img in photos.items():
        paths[name] = folder / f"{name}.jpg"
        img.save(paths[name], "JPEG", quality=92)
    return paths


def test_the_browser_measures_a_photo_as_the_worker_does(
    upload_page: Any, active_model: Any, tmp_path: Path
) -> None:
    driver = upload_page("en")
    min_side = quality.min_side_for(load_manifest(active_model.path).input_size)
    seen = set()
    for name, path in variants(tmp_path).items():
        choose(driver, path)
        report = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.skinsiteQuality.measure(document.querySelector('input[type=file]').files[0])"
            ".then(done);"
        )
        with Image.open(path) as img:
            expected = quality.assess(img.convert("RGB"), min_side=min_side)
        seen.add(expected.issue)
        assert report["issue"] == (expected.issue and str(expected.issue)), (name, report, expected)
        assert report["shortSide"] == expected.short_side
        assert abs(report["brightness"] - expected.brightness) < 0.01, (name, report, expected)
        assert abs(report["clippedShare"] - expected.clipped_share) < 1e-6, (name, report)
        # The same numbers as Pillow and NumPy, up to float32 rounding.
        assert report["sharpness"] == pytest.approx(expected.sharpness, rel=1e-4), (
            name,
            report,
            expected,
        )
    assert seen == {None, *quality.QualityIssue}, "the photos cover every verdict"
