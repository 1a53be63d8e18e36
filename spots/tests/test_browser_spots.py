"""End to end in Chromium on a phone-sized window, in English and Arabic: a spot made from the
body map by keyboard, two photos with answers, then vs now with its slider, a reminder turned
on and stopped from the e-mail's link. On failure, screenshots of the spot page and of the
comparison (and of the page where it failed) are saved under ``var/test-artifacts/``.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from diagnosis.tests import images
from spots import reminders
from spots.models import Answers, Spot
from testing.browser import PHONE, WAIT, csp_errors, prefer, sign_in, viewport

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", str(ROOT / "var" / "test-artifacts")))


def wait_for(driver: Any, script: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(script))


@pytest.mark.parametrize("language", ["en", "ar"])
def test_follow_a_spot_from_the_body_map_to_an_unsubscribe(
    chrome: Any,
    live_server: Any,
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    tmp_path: Path,
    settings: Any,
    language: str,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    settings.SITE_URL = live_server.url
    shots: dict[str, bytes] = {}
    person = user_factory()
    chrome.delete_all_cookies()
    prefer(chrome, live_server, language=language, theme="light")
    sign_in(chrome, live_server, person)
    viewport(chrome, PHONE)
    try:
        chrome.get(live_server.url + "/spots/")
        assert chrome.find_element(By.TAG_NAME, "html").get_attribute("dir") == (
            "rtl" if language == "ar" else "ltr"
        )
        # The map by keyboard: the left arm's region takes the focus and Enter opens the form.
        region = chrome.find_element(By.CSS_SELECTOR, "svg a[data-region=left_arm]")
        chrome.execute_script("arguments[0].focus()", region)
        assert chrome.execute_script("return document.activeElement.dataset.region") == "left_arm"
        chrome.switch_to.active_element.send_keys(Keys.ENTER)
        wait_for(chrome, "return document.querySelector('select[name=region]')")
        assert (
            Select(chrome.find_element(By.NAME, "region")).first_selected_option.get_attribute(
                "value"
            )
            == "left_arm"
        )
        chrome.find_element(By.NAME, "name").send_keys("mole <b>elbow</b>")
        chrome.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        wait_for(chrome, "return document.querySelector('[data-spot-name]')")
        spot = Spot.objects.get(owner=person)
        assert spot.region == "left_arm"
        assert chrome.find_element(By.CSS_SELECTOR, "[data-spot-name]").text == "mole <b>elbow</b>"

        # Two photos of it, the second with answers that are warning signs.
        for number, (size, answers) in enumerate(
            [((320, 240), {}), ((300, 260), {"pigmented": "yes", "grew": True})]
        ):
            photo = tmp_path / f"photo{number}.jpg"
            photo.write_bytes(images.jpeg(size))
            chrome.find_element(By.CSS_SELECTOR, "[data-new-photo]").click()
            wait_for(chrome, "return document.querySelector('[data-spot-details]')")
            assert chrome.execute_script(
                "return document.querySelector('[data-spot-details]').open"
            )
            chrome.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(photo))
            if answers:
                Select(chrome.find_element(By.NAME, "pigmented")).select_by_value("yes")
                box = chrome.find_element(By.NAME, "grew")
                chrome.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
                box.click()
            chrome.find_element(
                By.CSS_SELECTOR, "form[data-upload-form] button[type=submit]"
            ).click()
            wait_for(chrome, "return document.querySelector('[data-state]')")
            if answers:
                assert chrome.find_element(By.CSS_SELECTOR, "[data-warning-signs]").is_displayed()
            chrome.get(live_server.url + f"/spots/{spot.public_id}/")
        assert spot.diagnoses.count() == 2
        assert Answers.objects.get(diagnosis__spot=spot).grew
        shots["spot-page"] = chrome.get_screenshot_as_png()

        # Then vs now: the two photos at the same size, the slider uncovers the later one.
        chrome.find_element(By.CSS_SELECTOR, "[data-compare-link]").click()
        wait_for(chrome, "return document.querySelector('[data-changes]')")
        wait_for(
            chrome,
            "return Array.from(document.querySelectorAll('.compare-img'))"
            ".every((img) => img.complete && img.naturalWidth > 0)",
        )
        sizes = chrome.execute_script(
            "return Array.from(document.querySelectorAll('[data-side] img')).map((img) => {"
            " const r = img.getBoundingClientRect(); return [Math.round(r.width),"
            " Math.round(r.height)]; })"
        )
        assert len(sizes) == 2 and sizes[0] == sizes[1] and sizes[0][0] > 0
        assert chrome.execute_script(
            "const r = document.documentElement; return r.scrollWidth <= r.clientWidth"
        ), "the page scrolls sideways on a phone"
        before = chrome.execute_script(
            "return getComputedStyle(document.querySelector('[data-compare-over]')).clipPath"
        )
        chrome.execute_script(
            "const r = document.querySelector('[data-compare-range]'); r.value = 90;"
            " r.dispatchEvent(new Event('input'));"
        )
        after = chrome.execute_script(
            "return getComputedStyle(document.querySelector('[data-compare-over]')).clipPath"
        )
        assert before != after and "10%" in after
        changes = chrome.find_element(By.CSS_SELECTOR, "[data-changes]").text
        assert ("كبرت" if language == "ar" else "has grown") in changes
        shots["compare"] = chrome.get_screenshot_as_png()
        assert csp_errors(chrome) == []

        # A reminder every 4 weeks, then stopped from the e-mail without signing in.
        chrome.get(live_server.url + f"/spots/{spot.public_id}/")
        Select(chrome.find_element(By.NAME, "weeks")).select_by_value("4")
        chrome.find_element(By.CSS_SELECTOR, "form[data-reminder] button[type=submit]").click()
        wait_for(chrome, "return document.querySelector('[data-next-reminder]')")
        assert reminders.send_due_reminders(now=timezone.now() + timedelta(weeks=5)) == 1
        (message,) = mail.outbox
        stop = re.findall(r"^(http\S+/stop/)$", message.body, flags=re.MULTILINE)[0]
        chrome.delete_all_cookies()
        chrome.get(stop)
        chrome.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        wait_for(chrome, "return document.querySelector('[data-reminders-stopped]')")
        spot.refresh_from_db()
        assert (spot.reminder_weeks, spot.next_reminder_at) == (0, None)
    except BaseException:
        folder = ARTIFACTS / "test_browser_spots" / f"{language}"
        folder.mkdir(parents=True, exist_ok=True)
        shots["failed"] = chrome.get_screenshot_as_png()
        for name, png in shots.items():
            (folder / f"{name}.png").write_bytes(png)
        (folder / "failed.html").write_text(chrome.page_source, encoding="utf-8")
        raise
