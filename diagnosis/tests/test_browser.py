"""A real Chromium on the live site with a real worker: upload, camera, self-updating result.

Chromium's fake camera stands in for a phone's. The pages run under the site's strict
Content-Security-Policy, so any inline script or style would show up as a console error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from diagnosis.models import Diagnosis
from diagnosis.tests import images
from testing.browser import WAIT, csp_errors, sign_in, start_chrome

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def chrome() -> Iterator[Any]:
    driver = start_chrome()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def chrome_camera_blocked() -> Iterator[Any]:
    driver = start_chrome(camera_allowed=False)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def signed_in(chrome: Any, live_server: Any, user_factory: Any) -> Any:
    """Chromium holding the session of a new person, on the live site."""
    from diseases.loader import load_diseases

    load_diseases()
    return sign_in(chrome, live_server, user_factory())


def wait_for_result(driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT).until(ec.url_matches(r"/diagnosis/[0-9a-f-]{36}/$"))
    # Marks this page: a full reload would lose it.
    driver.execute_script("window.stillTheSamePage = true;")
    WebDriverWait(driver, WAIT).until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, '#diagnosis-result [data-state="succeeded"]')
        )
    )
    assert driver.execute_script("return window.stillTheSamePage === true;")


def test_a_person_uploads_a_photo_with_a_preview_and_watches_the_result_arrive(
    signed_in: Any, live_server: Any, worker: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    photo = tmp_path / "spot.jpg"
    photo.write_bytes(images.jpeg((800, 600)))
    driver = signed_in
    driver.get(live_server.url + reverse("diagnosis:upload"))
    driver.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(photo))
    preview = WebDriverWait(driver, WAIT).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-preview-image]"))
    )
    assert preview.get_attribute("src").startswith("blob:")
    driver.find_element(By.CSS_SELECTOR, "form[data-upload-form] button[type=submit]").click()

    wait_for_result(driver)
    top = driver.find_element(By.CSS_SELECTOR, "#diagnosis-result [data-top-class] a")
    assert top.get_attribute("href").startswith(live_server.url + "/diseases/")
    assert len(driver.find_elements(By.CSS_SELECTOR, "progress.diagnosis-bar")) == 3
    assert csp_errors(driver) == []

    top.click()  # the disease page opens from the result
    WebDriverWait(driver, WAIT).until(ec.url_contains("/diseases/"))
    driver.get(live_server.url + reverse("diagnosis:history"))
    assert len(driver.find_elements(By.CSS_SELECTOR, "[data-diagnosis]")) == 1
    WebDriverWait(driver, WAIT).until(  # the thumbnail really arrives through its private view
        lambda d: d.execute_script("return document.querySelector('.history-thumb').naturalWidth;")
    )


def test_a_person_takes_a_photo_with_the_camera_and_sends_it(
    signed_in: Any, live_server: Any, worker: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = signed_in
    driver.get(live_server.url + reverse("diagnosis:camera"))
    capture = WebDriverWait(driver, WAIT).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-camera-capture]"))
    )
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return document.querySelector('video').videoWidth > 0;")
    )
    capture.click()
    retake = WebDriverWait(driver, WAIT).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-camera-retake]"))
    )
    retake.click()  # retake, then take it again
    WebDriverWait(driver, WAIT).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-camera-capture]"))
    ).click()
    WebDriverWait(driver, WAIT).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-camera-send]"))
    ).click()

    wait_for_result(driver)
    diagnosis = Diagnosis.objects.get()
    assert diagnosis.status == Diagnosis.Status.SUCCEEDED
    assert diagnosis.width > 0
    assert csp_errors(driver) == []


def test_a_blocked_camera_says_so_and_leaves_the_file_input(
    chrome_camera_blocked: Any, live_server: Any, user_factory: Any, active_model: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = sign_in(chrome_camera_blocked, live_server, user_factory())
    driver.get(live_server.url + reverse("diagnosis:camera"))
    message = WebDriverWait(driver, WAIT).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-camera-message]"))
    )
    assert "camera is blocked" in message.text
    assert not driver.find_element(By.CSS_SELECTOR, "[data-camera]").is_displayed()
    assert driver.find_element(By.ID, "camera-file").is_displayed()
