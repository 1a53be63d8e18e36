"""The phone app in a real Chromium: installable, its worker caching the static shell only, the
offline page when a page cannot load, the camera working under the worker, and the home page's
phone and desktop faces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from diagnosis.tests import conftest as diagnosis_fixtures
from sharing.tests import conftest as sharing_fixtures
from skinsite.pwa.shell import service_worker_policy
from testing.browser import DESKTOP, PHONE, WAIT, csp_errors, prefer, sign_in, viewport

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A finished diagnosis with its photo, and an active model for the camera page.
diagnosis_factory = sharing_fixtures.diagnosis_factory
catalogue = sharing_fixtures.catalogue
tiny_artifact = diagnosis_fixtures.tiny_artifact
active_model = diagnosis_fixtures.active_model

#: Resolves with the active worker's script URL once the worker controls this page.
CONTROLLED = """
const done = arguments[arguments.length - 1];
navigator.serviceWorker.ready.then((registration) => {
  if (navigator.serviceWorker.controller) { done(navigator.serviceWorker.controller.scriptURL); }
  else { navigator.serviceWorker.addEventListener("controllerchange",
    () => done(navigator.serviceWorker.controller.scriptURL)); }
}, (error) => done("error: " + error));
"""
#: Every (cache name, URL) in the site's caches.
CACHED = """
const done = arguments[arguments.length - 1];
caches.keys()
  .then((names) => Promise.all(names.map((name) => caches.open(name)
    .then((cache) => cache.keys())
    .then((requests) => requests.map((request) => [name, request.url])))))
  .then((lists) => done([].concat(...lists)), (error) => done("error: " + error));
"""

#: Fetches each URL of arguments[0] from the page, with its cookies; resolves with the statuses.
FETCH_ALL = """
const done = arguments[arguments.length - 1];
Promise.all(arguments[0].map((url) => fetch(url, {credentials: "same-origin"})
  .then((response) => response.status)))
  .then(done, (error) => done("error: " + error));
"""


def open_controlled(driver: Any, url: str) -> None:
    """Open ``url`` and wait until the service worker controls the page."""
    driver.set_script_timeout(WAIT)
    driver.get(url)
    assert driver.execute_async_script(CONTROLLED).endswith("/sw.js")


@contextmanager
def offline(driver: Any) -> Iterator[None]:
    """The page and the service worker offline, as on a phone without signal.

    The worker is a target of its own: the page's network conditions do not reach its fetches,
    so the same command goes to it too, through the page's DevTools session.
    """
    conditions = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    targets = driver.execute_cdp_cmd("Target.getTargets", {})["targetInfos"]
    worker = next(target for target in targets if target["type"] == "service_worker")
    session = driver.execute_cdp_cmd(
        "Target.attachToTarget", {"targetId": worker["targetId"], "flatten": False}
    )["sessionId"]

    def emulate(on: bool) -> None:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": on, **conditions})
        for number, (method, params) in enumerate(
            [
                ("Network.enable", {}),
                ("Network.emulateNetworkConditions", {"offline": on, **conditions}),
            ]
        ):
            message = {"id": number + 1, "method": method, "params": params}
            driver.execute_cdp_cmd(
                "Target.sendMessageToTarget", {"sessionId": session, "message": json.dumps(message)}
            )

    emulate(True)
    try:
        yield
    finally:
        emulate(False)
        driver.execute_cdp_cmd("Target.detachFromTarget", {"sessionId": session})


@pytest.fixture
def fresh(chrome: Any, live_server: Any) -> Any:
    """Chromium without cookies, in English, at a desktop's size."""
    chrome.delete_all_cookies()
    prefer(chrome, live_server, language="en", theme="light")
    viewport(chrome, DESKTOP)
    return chrome


def test_the_site_is_an_installable_app(fresh: Any, live_server: Any) -> None:
    open_controlled(fresh, live_server.url + "/")
    manifest = fresh.execute_cdp_cmd("Page.getAppManifest", {})
    assert manifest["url"] == live_server.url + reverse("pwa:manifest", args=["en"])
    assert manifest["errors"] == []
    assert fresh.execute_cdp_cmd("Page.getInstallabilityErrors", {}) == {"installabilityErrors": []}
    assert csp_errors(fresh) == []


def test_the_pages_of_a_signed_in_person_never_reach_the_cache(
    fresh: Any, live_server: Any, user_factory: Any, diagnosis_factory: Any, catalogue: Any
) -> None:
    person = user_factory()
    diagnosis = diagnosis_factory(person)
    sign_in(fresh, live_server, person)
    pages = [
        reverse("home"),
        reverse("diagnosis:history"),
        reverse("diagnosis:detail", args=[diagnosis.public_id]),
        reverse("spots:index"),
    ]
    photos = [
        reverse("diagnosis:image", args=[diagnosis.public_id]),
        reverse("diagnosis:thumbnail", args=[diagnosis.public_id]),
    ]
    for page in pages:
        open_controlled(fresh, live_server.url + page)
        assert fresh.find_element(By.TAG_NAME, "main").text
    # The photos as a page fetches them (through the worker), each found.
    statuses = fresh.execute_async_script(FETCH_ALL, photos)
    assert statuses == [200, 200]
    cached = fresh.execute_async_script(CACHED)
    assert isinstance(cached, list), cached
    policy = service_worker_policy()
    assert {name for name, _url in cached} == {policy["cache"]}
    paths = {urlsplit(url).path for _name, url in cached}
    assert paths == set(policy["shell"])
    assert not paths & {*pages, *photos}
    assert csp_errors(fresh) == []


def test_a_page_that_cannot_load_offline_shows_the_offline_page(
    fresh: Any, live_server: Any
) -> None:
    open_controlled(fresh, live_server.url + "/")
    with offline(fresh):
        fresh.get(live_server.url + reverse("diseases:list"))
        text = fresh.find_element(By.TAG_NAME, "main").text
        arabic = fresh.find_element(By.CSS_SELECTOR, 'section[lang="ar"]')
        direction = fresh.execute_script("return getComputedStyle(arguments[0]).direction", arabic)
    # Back online, the same address is the page itself.
    fresh.get(live_server.url + reverse("diseases:list"))
    assert "You are offline" not in fresh.find_element(By.TAG_NAME, "body").text
    assert "You are offline" in text
    assert "أنت غير متصل بالإنترنت" in text
    assert direction == "rtl"


def test_the_camera_works_in_the_app(
    fresh: Any, live_server: Any, user_factory: Any, active_model: Any
) -> None:
    sign_in(fresh, live_server, user_factory())
    viewport(fresh, PHONE)
    camera = live_server.url + reverse("diagnosis:camera")
    open_controlled(fresh, camera)
    fresh.get(camera)  # now through the worker
    WebDriverWait(fresh, WAIT).until(
        lambda d: d.execute_script(
            "const v = document.querySelector('[data-camera-video]');"
            "return v && v.srcObject && v.readyState >= 2;"
        )
    )
    assert fresh.execute_script("return navigator.serviceWorker.controller !== null")
    assert csp_errors(fresh) == []


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_phone_leads_with_the_camera_and_a_desktop_shows_the_qr_code(
    chrome: Any, live_server: Any, user_factory: Any, language: str
) -> None:
    chrome.delete_all_cookies()
    prefer(chrome, live_server, language=language, theme="light")
    sign_in(chrome, live_server, user_factory())
    first_visible = """
        const shown = [...document.querySelectorAll('main a, main button, main h1')]
          .filter((element) => element.getClientRects().length);
        shown.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
        return shown[0].id;
    """
    displayed = "return document.getElementById(arguments[0]).getClientRects().length > 0"

    viewport(chrome, PHONE)
    chrome.get(live_server.url + "/")
    assert chrome.execute_script(first_visible) == "take-photo-first"
    button = chrome.find_element(By.ID, "take-photo-first")
    assert button.get_attribute("href") == live_server.url + reverse("diagnosis:camera")
    assert button.text == ("Take a photo" if language == "en" else "التقاط صورة")
    assert not chrome.execute_script(displayed, "open-on-phone")

    viewport(chrome, DESKTOP)
    chrome.get(live_server.url + "/")
    assert not chrome.execute_script(displayed, "take-photo-first")
    assert chrome.execute_script(displayed, "open-on-phone")
    code = chrome.find_element(By.CSS_SELECTOR, "#open-on-phone svg")
    assert code.size["width"] >= 150
    assert csp_errors(chrome) == []
