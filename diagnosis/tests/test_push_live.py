"""The result page's push on the real stack: gunicorn's asgi worker (``skinsite.asgi``), a real
Celery worker, a private Redis, a fresh database, and Debian's Chromium.

* A waiting page gets its result in the long poll's answer, as soon as the worker finished:
  no status polls at all.
* With the push endpoint out of reach, the same page polls and still shows the result.
* 200 result pages wait at once (one long poll each) while the site keeps serving other pages;
  every one is answered when its diagnosis finishes, with no error. The web processes' memory
  is printed and written to ``var/test-artifacts/test_push_live/summary.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from skinsite.tests.conftest import ARTIFACTS, start_live_stack
from testing.live_stack import LiveStack, rss_kib, wait_until
from testing.photos import lesion_photo

pytestmark = pytest.mark.integration

PASSWORD = "a-long-unusual-passphrase-42"
OPEN_PAGES = 200
#: The longest a page waits in one long poll (diagnosis.push.MAX_WAIT_SECONDS).
LONG_POLL_SECONDS = 20
RESULT = '#diagnosis-result [data-state="succeeded"]'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    stack = start_live_stack(tmp_path_factory.mktemp("push-stack"))
    try:
        yield stack
    finally:
        stack.close()


def session_cookie(stack: LiveStack, email: str) -> dict[str, str]:
    """A signed-in session of ``email`` made by the stack itself (its database and settings)."""
    out = stack.shell(
        "from django.conf import settings\n"
        "from django.test import Client\n"
        "from accounts.models import User\n"
        "client = Client()\n"
        f"client.force_login(User.objects.get(email={email!r}))\n"
        "print(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)\n"
    )
    name, value = out.split()[-2:]
    return {"name": name, "value": value}


def held_diagnosis(stack: LiveStack, email: str) -> tuple[int, str]:
    """A diagnosis whose job started and now waits for the test (the worker's ``hold`` fault)."""
    stack.create_users([email], PASSWORD)
    [pk] = stack.submit(email, [lesion_photo((640, 480), seed=7)])
    wait_until(lambda: (stack.testing_dir / f"hold-{pk}").exists(), 120, "the job to start")
    return pk, stack.rows([pk])[0]["public_id"]


def open_result_page(driver: Any, stack: LiveStack, email: str, public_id: str) -> None:
    driver.get(stack.url + "/healthz")
    driver.add_cookie({**session_cookie(stack, email), "path": "/"})
    driver.get(f"{stack.url}/diagnosis/{public_id}/")


def page_attribute(driver: Any, name: str) -> str | None:
    return driver.execute_script(
        "return document.getElementById('diagnosis-result').getAttribute(arguments[0]);", name
    )


def fetched(driver: Any, suffix: str) -> list[int]:
    """The HTTP statuses of the page's ended requests to URLs ending in ``suffix`` (Resource
    Timing; 0 for a request that got no answer)."""
    entries = driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map(function (e) { return [e.name, e.responseStatus]; });"
    )
    return [status for name, status in entries if name.split("?")[0].endswith(suffix)]


def wait_for(driver: Any, condition: Any, timeout: float = 60) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


@pytest.mark.browser
def test_a_waiting_page_shows_the_result_from_the_push_without_polling(
    stack: LiveStack, chrome: Any
) -> None:
    from selenium.webdriver.common.by import By

    email = "fault-hold.push@example.com"
    pk, public_id = held_diagnosis(stack, email)
    open_result_page(chrome, stack, email, public_id)
    wait_for(chrome, lambda d: page_attribute(d, "data-updates") == "push")
    assert not chrome.find_elements(By.CSS_SELECTOR, RESULT)

    (stack.testing_dir / f"release-{pk}").touch()
    wait_for(chrome, lambda d: d.find_elements(By.CSS_SELECTOR, RESULT))

    # The long poll's answer brought the result: the page never asked the status endpoint.
    assert fetched(chrome, "/status/") == []
    assert set(fetched(chrome, "/wait/")) == {200}
    assert page_attribute(chrome, "data-updates") == "push"
    assert page_attribute(chrome, "data-finished") == "true"
    assert not chrome.find_elements(By.CSS_SELECTOR, "[data-offline-note]")


@pytest.mark.browser
def test_with_the_push_endpoint_out_of_reach_the_page_polls_and_still_shows_the_result(
    stack: LiveStack, chrome: Any
) -> None:
    from selenium.webdriver.common.by import By

    email = "fault-hold.fallback@example.com"
    pk, public_id = held_diagnosis(stack, email)
    chrome.execute_cdp_cmd("Network.enable", {})
    chrome.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/wait/*"]})
    try:
        open_result_page(chrome, stack, email, public_id)
        wait_for(chrome, lambda d: page_attribute(d, "data-updates") == "poll")

        (stack.testing_dir / f"release-{pk}").touch()
        wait_for(chrome, lambda d: d.find_elements(By.CSS_SELECTOR, RESULT))
    finally:
        chrome.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})

    assert set(fetched(chrome, "/wait/")) == {0}  # blocked: never answered
    assert 200 in fetched(chrome, "/status/")
    assert page_attribute(chrome, "data-updates") == "poll"


def web_pids(stack: LiveStack) -> list[int]:
    """gunicorn's master and its worker processes."""
    assert stack.web is not None
    found = subprocess.run(
        ["pgrep", "-P", str(stack.web.pid)], capture_output=True, text=True, check=False
    )
    return [stack.web.pid, *(int(pid) for pid in found.stdout.split())]


def web_rss_kib(stack: LiveStack) -> int:
    return sum(size for pid in web_pids(stack) if (size := rss_kib(pid)) is not None)


def test_two_hundred_open_result_pages_wait_together_and_are_all_answered(
    stack: LiveStack, capsys: pytest.CaptureFixture[str]
) -> None:
    email = "many-pages@example.com"
    stack.create_users([email], PASSWORD)
    # Queued rows that no worker will take: only the test ends them, all at once.
    out = stack.shell(
        "from accounts.models import User\n"
        "from diagnosis.models import Diagnosis\n"
        f"owner = User.objects.get(email={email!r})\n"
        "rows = Diagnosis.objects.bulk_create(\n"
        "    Diagnosis(owner=owner, image='none.jpg', thumbnail='none.jpg')\n"
        f"    for _ in range({OPEN_PAGES})\n"
        ")\n"
        "print(' '.join(f'{row.pk}:{row.public_id}' for row in rows))\n"
    )
    rows = [item.split(":") for item in out.split()]
    cookie = session_cookie(stack, email)
    idle_kib = web_rss_kib(stack)

    answers: list[tuple[int, Any]] = []
    errors: list[str] = []

    def open_page(public_id: str) -> None:
        with requests.Session() as session:
            session.cookies.set(cookie["name"], cookie["value"])
            try:
                response = session.get(
                    f"{stack.url}/diagnosis/{public_id}/wait/?wait={LONG_POLL_SECONDS}",
                    timeout=LONG_POLL_SECONDS + 30,
                )
                if response.headers.get("Content-Type") != "application/json":
                    errors.append(f"{response.status_code}: {response.text[:300]}")
                else:
                    answers.append((response.status_code, response.json()))
            except Exception as exc:  # noqa: BLE001 - counted as an error below
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=open_page, args=(public_id,)) for _, public_id in rows]
    for thread in threads:
        thread.start()
    redis = stack.redis_client()
    try:
        wait_until(
            lambda: len(redis.pubsub_channels("skinsite:*")) >= OPEN_PAGES or errors,
            LONG_POLL_SECONDS - 5,
            "every page to wait",
            interval=0.1,
        )
    finally:
        redis.close()
    assert not errors, errors[:5]
    waiting_kib = web_rss_kib(stack)
    # With every page waiting, the sync views still have their threads: another page answers.
    started = time.monotonic()
    other = requests.get(f"{stack.url}/healthz", timeout=10)
    other_page_ms = (time.monotonic() - started) * 1000
    assert other.status_code == 200
    assert not answers, "a long poll answered before anything finished"

    stack.shell(
        "from diagnosis import push\n"
        "from diagnosis.models import Diagnosis\n"
        f"ids = {[int(pk) for pk, _ in rows]!r}\n"
        "Diagnosis.objects.filter(pk__in=ids).update(\n"
        "    status=Diagnosis.Status.FAILED, failure_code=Diagnosis.FailureCode.INTERNAL\n"
        ")\n"
        "for pk in ids:\n"
        "    push.publish_finished(pk)\n"
    )
    for thread in threads:
        thread.join(timeout=LONG_POLL_SECONDS + 40)

    summary = {
        "open_pages": OPEN_PAGES,
        "answered": len(answers),
        "errors": len(errors),
        "web_processes": len(web_pids(stack)),
        "web_rss_kib_idle": idle_kib,
        "web_rss_kib_with_pages_waiting": waiting_kib,
        "other_page_ms_while_waiting": round(other_page_ms, 1),
    }
    folder = ARTIFACTS / Path(__file__).stem
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    with capsys.disabled():
        sys.stdout.write(f"\npush load: {json.dumps(summary)}\n")

    assert not errors, errors[:5]
    assert sorted(status for status, _ in answers) == [200] * OPEN_PAGES
    assert all(body["finished"] is True for _, body in answers)
