"""A new person uses the whole site in a real Chromium, against the real stack.

The stack (``LiveStack``: gunicorn, a Celery worker, a private Redis, a fresh database) starts once
for this module; Chromium is Debian's, driven by Debian's chromedriver, with a fake camera. Each
step is screenshotted in memory; when a test fails, the screenshots, the page's HTML and the
stack's logs are written to ``var/test-artifacts/test_e2e_browser/<test>/``
(``E2E_SCREENSHOTS=always`` writes them for passing tests too).
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from skinsite.tests.conftest import artifact_dir, has_failed
from testing.live_stack import LiveStack
from testing.mail import wait_for_code
from testing.photos import lesion_photo, shared_photos

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = Path(os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--window-size=1280,1000",
    "--lang=en-US",
    # Bootstrap scrolls smoothly otherwise, and a click could land while the page still moves.
    "--force-prefers-reduced-motion",
)
PASSWORD = "a-long-unusual-passphrase-42"
#: A result can take a while on a busy 2-core machine (a cold worker loads the model first).
RESULT_TIMEOUT = 120
ARABIC = re.compile(r"[\u0600-\u06FF]")
UUID_PATH = re.compile(r"/diagnosis/([0-9a-f-]{36})/$")


# --- the browser ----------------------------------------------------------------------------


class Browser:
    """A Chromium session on the stack, with step screenshots kept for a failure report."""

    def __init__(self, driver: Any, stack: LiveStack) -> None:
        self.driver = driver
        self.stack = stack
        self.shots: list[tuple[str, bytes, str]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """One step of the journey: screenshotted after it, or as FAILED when it raises."""
        try:
            yield
        except BaseException:
            self.snap(f"FAILED-{name}")
            raise
        self.snap(name)

    def snap(self, name: str) -> None:
        try:
            png = self.driver.get_screenshot_as_png()
            url = self.driver.current_url
        except Exception:  # noqa: BLE001 - a dead browser must not hide the real failure
            return
        self.shots.append((name, png, url))

    def write_report(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        lines = []
        for index, (name, png, url) in enumerate(self.shots, start=1):
            filename = f"{index:02d}-{re.sub(r'[^A-Za-z0-9_-]+', '_', name)}.png"
            (folder / filename).write_bytes(png)
            lines.append(f"{filename}\t{url}")
        (folder / "steps.txt").write_text("\n".join(lines) + "\n")
        try:
            (folder / "last-page.html").write_text(self.driver.page_source)
            logs = self.driver.get_log("browser")
            (folder / "console.json").write_text(json.dumps(logs, indent=1))
        except Exception:  # noqa: BLE001, S110 - best effort: the browser may be gone
            pass

    # navigation and waiting
    def go(self, path: str) -> None:
        self.driver.get(self.stack.url + path)

    def path(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.driver.current_url).path

    def wait(self, condition: Callable[[Any], Any], timeout: float = 30, what: str = "") -> Any:
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.25).until(condition)
        except TimeoutException as exc:
            raise AssertionError(
                f"waited {timeout} s for {what or condition} (at {self.driver.current_url})"
            ) from exc

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def visible(self, css: str) -> Any:
        return self.wait(
            lambda d: next((e for e in self.find_all(css) if e.is_displayed()), None),
            what=f"{css} to be visible",
        )

    def click(self, element: Any) -> None:
        """Bring ``element`` to the middle of the window, then click it like a person."""
        self.driver.execute_script(
            "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
        )
        element.click()

    def fill(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            field = self.find(f"main [name='{name}']")
            field.clear()
            field.send_keys(value)

    def submit_main_form(self) -> None:
        """Click the submit button of the page's (first) form in <main>, like a person."""
        self.click(self.find("main form button[type=submit]"))

    def html_attr(self, name: str) -> str | None:
        return self.driver.execute_script(
            "return document.documentElement.getAttribute(arguments[0])", name
        )


@pytest.fixture(scope="module")
def stack_options() -> dict[str, Any]:
    return {"workers": 1, "web_workers": 2}


@pytest.fixture
def browser(
    request: pytest.FixtureRequest, live_stack: LiveStack, keep_stack_logs_on_failure: None
) -> Iterator[Browser]:
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip(
            f"Chromium or ChromeDriver missing ({CHROMIUM}, {CHROMEDRIVER}): install Debian's "
            "'chromium' and 'chromium-driver' (make test does it with .ci/ensure_browser.py)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in CHROME_ARGS:
        options.add_argument(argument)
    profile = tempfile.mkdtemp(prefix="skinsite-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(90)
    session = Browser(driver, live_stack)
    try:
        yield session
    finally:
        if has_failed(request) or os.environ.get("E2E_SCREENSHOTS") == "always":
            session.write_report(artifact_dir(request))
        driver.quit()
        import shutil

        shutil.rmtree(profile, ignore_errors=True)


# --- what the site says, read from the stack -------------------------------------------------


def disease_names(stack: LiveStack) -> dict[str, dict[str, str]]:
    """``{class key: {"en": name, "ar": name, "slug": slug}}`` from the catalogue lookup."""
    out = stack.shell(
        "import json\n"
        "from diseases.lookup import disease_map\n"
        "print(json.dumps({key: {'en': info.name('en'), 'ar': info.name('ar'),\n"
        "                        'slug': info.slug} for key, info in disease_map().items()}))\n"
    )
    return dict(json.loads(out))


def arabic(stack: LiveStack, text: str) -> str:
    """The site's Arabic translation of ``text``."""
    return stack.shell(
        "from django.utils import translation\n"
        f"with translation.override('ar'):\n    print(translation.gettext({text!r}))\n"
    ).strip()


def row_for(stack: LiveStack, email: str, public_id: str) -> dict[str, Any]:
    rows = [r for r in stack.rows(owner_prefix=email) if r["public_id"] == public_id]
    assert rows, f"no diagnosis {public_id} of {email} in the database"
    return rows[0]


# --- steps ---------------------------------------------------------------------------------


def sign_up_and_verify(browser: Browser, email: str) -> None:
    stack = browser.stack
    with browser.step("sign-up"):
        browser.go(reverse("account_signup"))
        browser.fill({"email": email, "password1": PASSWORD, "password2": PASSWORD})
        browser.submit_main_form()
        browser.wait(
            lambda d: browser.path() == reverse("account_email_verification_sent"),
            what="the page asking for the e-mailed code",
        )
        browser.visible("main [name='code']")
    with browser.step("verify-code"):
        code = wait_for_code(stack.mail_dir, email, timeout=60)
        browser.fill({"code": code})
        browser.submit_main_form()
        browser.wait(lambda d: browser.path() == reverse("home"), what="home after verifying")
        assert email in browser.find("nav").text  # signed in by the verification
    rows = stack.shell(
        "from allauth.account.models import EmailAddress\n"
        f"print(EmailAddress.objects.get(email={email!r}).verified)"
    )
    assert rows.strip() == "True"


def sign_out(browser: Browser) -> None:
    with browser.step("sign-out"):
        browser.click(browser.find("nav .dropdown-toggle"))
        browser.click(browser.visible(f"nav form[action='{reverse('account_logout')}'] button"))
        browser.wait(
            lambda d: not browser.find_all("nav .dropdown-toggle"), what="the signed-out navbar"
        )


def log_in(browser: Browser, email: str) -> None:
    with browser.step("log-in"):
        browser.go(reverse("account_login"))
        browser.fill({"login": email, "password": PASSWORD})
        browser.submit_main_form()
        browser.wait(lambda d: browser.path() == reverse("home"), what="home after logging in")
        assert email in browser.find("nav").text


def upload(browser: Browser, photo: Path) -> str:
    """Choose ``photo`` on the upload page, check the preview, send it; returns the public id."""
    with browser.step("choose-photo"):
        browser.go(reverse("diagnosis:upload"))
        browser.find("form[data-upload-form] input[type=file]").send_keys(str(photo.resolve()))
        preview = browser.visible("[data-preview] img")
        browser.wait(
            lambda d: d.execute_script("return arguments[0].naturalWidth", preview) > 0,
            what="the preview of the chosen photo",
        )
    with browser.step("send-photo"):
        browser.click(browser.find("form[data-upload-form] button[type=submit]"))
        match = browser.wait(lambda d: UUID_PATH.search(browser.path()), what="the result page")
    return str(match.group(1))


def wait_for_result(browser: Browser) -> None:
    with browser.step("result"):
        browser.wait(
            lambda d: browser.find_all(
                "#diagnosis-result [data-state=succeeded], #diagnosis-result [data-state=failed]"
            ),
            timeout=RESULT_TIMEOUT,
            what="the result to arrive on the page (it polls the status endpoint)",
        )
        failed = browser.find_all("#diagnosis-result [data-state=failed]")
        assert not failed, f"the check failed: {failed[0].text}"


def check_top3(browser: Browser, email: str, public_id: str) -> str:
    """The page shows the stored top-3 as bars; returns the most likely class key."""
    stack = browser.stack
    items = browser.find_all("#diagnosis-result ol.diagnosis-top3 li[data-class]")
    keys = [item.get_attribute("data-class") for item in items]
    probabilities = [
        float(
            item.find_element("css selector", "[data-probability]").get_attribute(
                "data-probability"
            )
        )
        for item in items
    ]
    assert len(keys) == 3, keys
    assert all(0 < p <= 1 for p in probabilities), probabilities
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) <= 1 + 1e-6
    assert len(browser.find_all("#diagnosis-result progress.diagnosis-bar")) == 3
    row = row_for(stack, email, public_id)
    assert row["status"] == "succeeded" and row["attempts"] == 1
    assert keys == [p["key"] for p in row["predictions"]]
    names = disease_names(stack)
    if row["red_flag"]:
        # A plausible skin cancer leads the page, with the catalogue's advice.
        heading = browser.find("#diagnosis-result [data-urgent]").text
        assert names[row["red_flag"]]["en"] in heading
        assert "See a doctor" in heading
        return str(row["red_flag"])
    heading = browser.find("#diagnosis-result [data-top-class]").text
    assert names[keys[0]]["en"] in heading
    assert "This is not a diagnosis" in browser.find("#diagnosis-result .diagnosis-disclaimer").text
    return str(keys[0])


def follow_disease_link(browser: Browser, key: str) -> None:
    name = disease_names(browser.stack)[key]
    with browser.step("disease-page"):
        link = browser.find(
            "#diagnosis-result [data-urgent] a, #diagnosis-result [data-top-class] a"
        )
        assert name["en"] in link.text  # the name, or "Read more about <name>" in the red flag
        browser.click(link)
        browser.wait(
            lambda d: browser.path() == reverse("diseases:detail", args=[name["slug"]]),
            what="the disease page",
        )
        assert name["en"] in browser.find("main h1").text
        browser.driver.back()
        browser.wait(lambda d: UUID_PATH.search(browser.path()), what="back on the result page")


def open_history(browser: Browser, public_ids: list[str], top_name: str) -> None:
    with browser.step("history"):
        browser.click(browser.find(f"nav a[href='{reverse('diagnosis:history')}']"))
        browser.wait(lambda d: browser.path() == reverse("diagnosis:history"), what="history")
        entries = [e.get_attribute("data-diagnosis") for e in browser.find_all("[data-diagnosis]")]
        assert entries == public_ids, "history lists the person's checks, newest first"
        assert top_name in browser.find(f"[data-diagnosis='{public_ids[0]}']").text
        thumb = browser.find(f"[data-diagnosis='{public_ids[0]}'] img")
        browser.wait(
            lambda d: d.execute_script("return arguments[0].naturalWidth", thumb) > 0,
            what="the thumbnail (served by the owner-only view)",
        )


# --- the tests -----------------------------------------------------------------------------


def test_a_new_person_signs_up_checks_a_photo_reads_arabic_in_dark_mode_and_uses_the_camera(
    browser: Browser, tmp_path: Path
) -> None:
    stack = browser.stack
    email = f"new.person.{uuid.uuid4().hex[:8]}@example.com"
    sign_up_and_verify(browser, email)
    sign_out(browser)
    log_in(browser, email)

    photo = tmp_path / "spot.jpg"
    photo.write_bytes(lesion_photo((1200, 900), seed=2))
    first = upload(browser, photo)
    wait_for_result(browser)
    top = check_top3(browser, email, first)
    names = disease_names(stack)
    follow_disease_link(browser, top)
    open_history(browser, [first], names[top]["en"])

    with browser.step("arabic"):
        browser.click(browser.find("nav button[name=language][value=ar]"))
        browser.wait(lambda d: browser.html_attr("lang") == "ar", what="the Arabic page")
        assert browser.html_attr("dir") == "rtl"
        assert (
            browser.driver.execute_script("return getComputedStyle(document.body).direction")
            == "rtl"
        )
        assert browser.find_all("link[href*='bootstrap.rtl']")
        heading = browser.find("main h1").text
        assert heading == arabic(stack, "My history") and ARABIC.search(heading)
        assert names[top]["ar"] in browser.find(f"[data-diagnosis='{first}']").text
        assert browser.path() == reverse("diagnosis:history")  # the switch came back here

    with browser.step("dark-mode"):
        browser.click(browser.find("nav button[name=theme][value=dark]"))
        browser.wait(lambda d: browser.html_attr("data-bs-theme") == "dark", what="dark mode")
        browser.driver.refresh()
        assert browser.html_attr("data-bs-theme") == "dark"  # remembered, not a one-off
        background = browser.driver.execute_script(
            "return getComputedStyle(document.body).backgroundColor"
        )
        red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
        assert red + green + blue < 3 * 80, f"the page is not dark: {background}"
        assert browser.html_attr("lang") == "ar"  # the language stayed

    with browser.step("camera"):
        browser.go(reverse("diagnosis:camera"))
        browser.visible("[data-camera] [data-camera-capture]")
        size = browser.wait(
            lambda d: d.execute_script(
                "var v = document.querySelector('[data-camera-video]');"
                "return v && v.videoWidth ? [v.videoWidth, v.videoHeight] : null;"
            ),
            what="frames from Chromium's fake camera",
        )
        browser.click(browser.find("[data-camera-capture]"))
        browser.visible("[data-camera-still]")
        browser.click(browser.visible("[data-camera-send]"))
        match = browser.wait(
            lambda d: (m := UUID_PATH.search(browser.path())) and m.group(1) != first and m,
            what="the result page of the captured frame",
        )
        second = str(match.group(1))
    wait_for_result(browser)
    with browser.step("camera-result"):
        row = row_for(stack, email, second)
        assert row["status"] == "succeeded"
        # Chromium's fake camera films a test pattern, not skin: the gate may refuse it, and
        # then the page names no condition.
        named = browser.find_all("#diagnosis-result li[data-class]")
        if row["outcome"] in ("not_skin", "poor_quality"):
            assert not named and not row["predictions"]
            assert browser.find(f"#diagnosis-result [data-outcome={row['outcome']}]")
        else:
            assert len(named) == 3
        # What was classified is the captured frame (same shape as the camera's picture).
        assert abs(row["width"] / row["height"] - size[0] / size[1]) < 0.02, (row, size)

    with browser.step("history-after-camera"):
        browser.go(reverse("diagnosis:history"))
        entries = [e.get_attribute("data-diagnosis") for e in browser.find_all("[data-diagnosis]")]
        assert entries == [second, first]


def test_a_real_skin_photo_is_checked_linked_to_its_disease_page_and_deleted(
    browser: Browser,
) -> None:
    photos = shared_photos(1)
    if not photos:
        pytest.skip("real skin photos not available: ../shared/data/skin10 is absent")
    stack = browser.stack
    email = f"returning.person.{uuid.uuid4().hex[:8]}@example.com"
    stack.create_users([email], PASSWORD)
    log_in(browser, email)

    public_id = upload(browser, photos[0])
    wait_for_result(browser)
    top = check_top3(browser, email, public_id)
    follow_disease_link(browser, top)
    open_history(browser, [public_id], disease_names(stack)[top]["en"])

    stored = stack.folder / "media" / row_for(stack, email, public_id)["image"]
    assert stored.is_file()
    with browser.step("delete"):
        browser.click(browser.find(f"[data-diagnosis='{public_id}'] [data-delete]"))
        browser.click(browser.visible("[data-delete-confirmation] button[type=submit]"))
        browser.wait(
            lambda d: not browser.find_all(f"[data-diagnosis='{public_id}']"),
            what="the entry to leave the history",
        )
    assert not stack.rows(owner_prefix=email)
    assert not stored.exists(), "the photo's file is deleted with the check"


def refusal_photos(folder: Path) -> dict[str, Path]:
    """A real photo that is not skin, and a skin photo too blurred to judge, made here."""
    from PIL import Image, ImageFilter
    from skimage import data

    not_skin = folder / "astronaut.jpg"
    Image.fromarray(data.astronaut()).save(not_skin, "JPEG", quality=92)
    blurred = folder / "blurred-spot.jpg"
    with Image.open(io.BytesIO(lesion_photo((800, 600), seed=2))) as img:
        img.filter(ImageFilter.GaussianBlur(8)).save(blurred, "JPEG", quality=92)
    return {"not_skin": not_skin, "blurred": blurred}


def check_refusal(browser: Browser, email: str, public_id: str, outcome: str) -> dict[str, Any]:
    """The stored outcome, and a page that names no condition and offers another try."""
    row = row_for(browser.stack, email, public_id)
    assert row["status"] == "succeeded", row
    assert row["outcome"] == outcome, row
    assert not row["predictions"] and not row["top_class"], row
    panel = browser.find(f"#diagnosis-result [data-outcome={outcome}]")
    assert not browser.find_all("#diagnosis-result li[data-class]")
    assert not browser.find_all("#diagnosis-result [data-probability], #diagnosis-result progress")
    assert "%" not in panel.text and "٪" not in panel.text, panel.text
    again = panel.find_element("css selector", "a[data-try-again]")
    assert again.is_displayed() and again.get_attribute("href").endswith(
        reverse("diagnosis:upload")
    )
    return row


def test_the_real_worker_refuses_a_photo_that_is_not_skin_and_a_blurred_one_in_both_languages(
    browser: Browser, tmp_path: Path
) -> None:
    stack = browser.stack
    email = f"refused.person.{uuid.uuid4().hex[:8]}@example.com"
    stack.create_users([email], PASSWORD)
    log_in(browser, email)
    photos = refusal_photos(tmp_path)

    not_skin = upload(browser, photos["not_skin"])
    wait_for_result(browser)
    with browser.step("not-skin-result"):
        check_refusal(browser, email, not_skin, "not_skin")
        heading = browser.find("#diagnosis-result [data-outcome=not_skin] h2").text
        assert heading == "This does not look like a close-up photo of skin"
        assert browser.find("#diagnosis-result a[data-try-again]").text == "Try another photo"

    blurred = upload(browser, photos["blurred"])
    wait_for_result(browser)
    with browser.step("blurred-result"):
        row = check_refusal(browser, email, blurred, "poor_quality")
        assert row["quality_issue"] == "blurred", row
        issue = browser.find("#diagnosis-result [data-quality-issue]")
        assert issue.get_attribute("data-quality-issue") == "blurred"
        assert issue.text == "This photo is too blurred to judge"
        panel = browser.find("#diagnosis-result [data-outcome=poor_quality]").text
        assert "Hold the phone steady" in panel

    with browser.step("blurred-result-arabic"):
        browser.click(browser.find("nav button[name=language][value=ar]"))
        browser.wait(lambda d: browser.html_attr("lang") == "ar", what="the Arabic page")
        assert browser.html_attr("dir") == "rtl"
        assert browser.path() == reverse("diagnosis:detail", args=[blurred])
        heading = browser.find("#diagnosis-result [data-quality-issue=blurred]").text
        assert heading == "هذه الصورة أكثر ضبابية من أن يُحكم عليها"
        assert heading == arabic(stack, "This photo is too blurred to judge")
        again = browser.find("#diagnosis-result a[data-try-again]").text
        assert again == arabic(stack, "Try another photo") and ARABIC.search(again)
        assert not browser.find_all("#diagnosis-result li[data-class]")

    with browser.step("not-skin-result-arabic"):
        browser.go(reverse("diagnosis:detail", args=[not_skin]))
        assert browser.html_attr("lang") == "ar"
        heading = browser.find("#diagnosis-result [data-outcome=not_skin] h2").text
        assert heading == "لا تبدو هذه صورة مقرّبة للجلد"
        assert heading == arabic(stack, "This does not look like a close-up photo of skin")
        assert not browser.find_all("#diagnosis-result li[data-class]")
