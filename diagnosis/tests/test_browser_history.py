"""History and result pages in a real Chromium, in every look (desktop and phone, English and
Arabic, light and dark): deleting one check asks first; times are in the device's zone, named,
in the language's format; every percentage reads "number then %"; on a phone the percentage
stays on the line of the condition's name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from diagnosis.models import Diagnosis
from diagnosis.tests.pages import make
from testing.browser import (
    LOOKS,
    WAIT,
    csp_errors,
    prefer,
    sign_in,
    time_zone,
    viewport,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WHEN = dt.datetime(2026, 12, 1, 20, 50, tzinfo=dt.UTC)
#: The class with the longest name in both languages first, so it wraps on a phone.
PREDICTIONS = [
    {"key": "psoriasis_lichen_planus", "probability": 0.44},
    {"key": "eczema", "probability": 0.31},
    {"key": "fungal_infections", "probability": 0.12},
]
#: For each text node of <main> with a "%": is the digit before it left of the sign on screen?
PERCENT_ORDER = """
const found = [];
const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const at = node.data.indexOf('%');
  if (at < 1 || !/[0-9]/.test(node.data[at - 1])) continue;
  const range = document.createRange();
  range.setStart(node, at - 1); range.setEnd(node, at);
  const digit = range.getBoundingClientRect();
  range.setStart(node, at); range.setEnd(node, at + 1);
  const sign = range.getBoundingClientRect();
  if (!digit.width) continue;  // not displayed (a <progress> fallback)
  found.push([node.data.trim(), digit.left < sign.left]);
}
return found;
"""
#: Does the percentage's box share a line with the first line of the name next to it?
SAME_LINE = """
const [name, percent] = [arguments[0], arguments[1]];
const first = name.getClientRects()[0], box = percent.getBoundingClientRect();
return box.top < first.bottom && box.bottom > first.top;
"""


@pytest.fixture
def person_with_a_check(
    chrome: Any, live_server: Any, user_factory: Any, active_model: Any, enqueued: list[int]
) -> Any:
    """Signs Chromium in, in the given look, as a person with one finished check."""
    from diseases.loader import load_diseases

    load_diseases()

    def start(size: tuple[int, int], language: str, theme: str, zone: str = "UTC") -> Any:
        chrome.delete_all_cookies()
        time_zone(chrome, zone)
        prefer(chrome, live_server, language=language, theme=theme)
        person = user_factory(theme=theme)  # a signed-in person's theme is their saved one
        sign_in(chrome, live_server, person)
        viewport(chrome, size)
        diagnosis = make(person, predictions=PREDICTIONS, top_class=PREDICTIONS[0]["key"])
        Diagnosis.objects.filter(pk=diagnosis.pk).update(created_at=WHEN)
        return person, diagnosis

    return start


def until(driver: Any, condition: Any) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(condition)


def find(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    return until(driver, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, css)), None))


def click(driver: Any, element: Any) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


@pytest.mark.parametrize(("size", "language", "theme"), LOOKS)
def test_deleting_one_check_from_the_history_asks_first(
    chrome: Any,
    live_server: Any,
    person_with_a_check: Any,
    size: tuple[int, int],
    language: str,
    theme: str,
) -> None:
    _person, diagnosis = person_with_a_check(size, language, theme)
    history = live_server.url + reverse("diagnosis:history")
    chrome.get(history)
    entry = f"[data-diagnosis='{diagnosis.public_id}']"

    click(chrome, find(chrome, f"{entry} [data-delete]"))
    question = find(chrome, "[data-delete-confirmation]")
    assert question.find_element("css selector", "h1").is_displayed()
    assert Diagnosis.objects.filter(pk=diagnosis.pk).exists(), "a click alone deletes nothing"
    click(chrome, question.find_element("css selector", "a.btn"))  # Cancel
    until(chrome, lambda d: d.current_url == history)
    assert Diagnosis.objects.filter(pk=diagnosis.pk).exists()

    click(chrome, find(chrome, f"{entry} [data-delete]"))
    click(chrome, find(chrome, "[data-delete-confirmation] button[type=submit]"))
    until(chrome, lambda d: d.current_url == history)
    assert not chrome.find_elements("css selector", entry)
    assert not Diagnosis.objects.filter(pk=diagnosis.pk).exists()
    assert csp_errors(chrome) == []


def test_deleting_from_the_result_page_asks_first_and_cancel_leads_back(
    chrome: Any, live_server: Any, person_with_a_check: Any
) -> None:
    _person, diagnosis = person_with_a_check((390, 844), "ar", "dark")
    result = live_server.url + reverse("diagnosis:detail", args=[diagnosis.public_id])
    chrome.get(result)
    click(chrome, find(chrome, "[data-delete]"))
    click(chrome, find(chrome, "[data-delete-confirmation] a.btn"))
    until(chrome, lambda d: d.current_url == result)
    click(chrome, find(chrome, "[data-delete]"))
    click(chrome, find(chrome, "[data-delete-confirmation] button[type=submit]"))
    until(chrome, lambda d: d.current_url == live_server.url + reverse("diagnosis:history"))
    assert not Diagnosis.objects.filter(pk=diagnosis.pk).exists()


@pytest.mark.parametrize(("size", "language", "theme"), LOOKS)
def test_times_percentages_and_names_read_right_in_every_look(
    chrome: Any,
    live_server: Any,
    person_with_a_check: Any,
    size: tuple[int, int],
    language: str,
    theme: str,
) -> None:
    person, diagnosis = person_with_a_check(size, language, theme, zone="Asia/Riyadh")
    chrome.get(live_server.url + reverse("diagnosis:history"))
    # The page finds the device's zone, saves it, and shows the time again in it.
    # Read in one go in the page: it may be reloading meanwhile.
    shown = until(
        chrome,
        lambda d: d.execute_script(
            "const zone = document.querySelector('[data-time-zone]');"
            "return zone && zone.textContent.includes('Asia/Riyadh')"
            " ? document.querySelector('main time').textContent : null;"
        ),
    )
    person.refresh_from_db()
    assert person.time_zone == "Asia/Riyadh"
    expected = {"en": "Dec. 1, 2026, 11:50 p.m.", "ar": "1 ديسمبر 2026، 11:50 م"}[language]
    assert shown == expected  # 20:50 UTC is 23:50 in Riyadh

    entry = find(chrome, f"[data-diagnosis='{diagnosis.public_id}']")
    name = entry.find_element("css selector", "a.fw-semibold")
    percent = entry.find_element("css selector", "[data-percent]")
    assert percent.text.strip("\u2066\u2069") == "44%"
    assert chrome.execute_script(SAME_LINE, name, percent), "the percentage left its name's line"
    history_order = chrome.execute_script(PERCENT_ORDER)
    assert history_order and all(number_first for _text, number_first in history_order)

    chrome.get(live_server.url + reverse("diagnosis:detail", args=[diagnosis.public_id]))
    assert "Asia/Riyadh" in find(chrome, "[data-sent] [data-time-zone]").text
    assert expected in find(chrome, "[data-sent] time").text
    result_order = chrome.execute_script(PERCENT_ORDER)
    assert len(result_order) >= 4  # the sentence and the three conditions
    assert all(number_first for _text, number_first in result_order), result_order
    for row in chrome.find_elements("css selector", ".diagnosis-top3 li > div"):
        name, percent = row.find_elements("css selector", ":scope > span")
        assert chrome.execute_script(SAME_LINE, name, percent)
    assert csp_errors(chrome) == []
