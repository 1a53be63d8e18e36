"""The catalogue's admin in a real Chromium: Arabic text boxes are right-to-left, in every tab.

The admin has no theme or phone layout of the site's; it is checked in English and in Arabic.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from diseases.models import Disease
from testing.browser import DESKTOP, csp_errors, prefer, sign_in, viewport

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Every visible or tabbed-away text box of the change form: its name and its direction.
DIRECTIONS = """
const boxes = '#disease_form input[type=text], #disease_form textarea';
return Array.from(document.querySelectorAll(boxes))
  .filter((e) => /_(en|ar)$/.test(e.name))
  .map((e) => [e.name, getComputedStyle(e).direction, e.lang]);
"""


@pytest.mark.parametrize("language", ["en", "ar"])
def test_arabic_fields_are_right_to_left_and_english_ones_left_to_right(
    chrome: Any, live_server: Any, catalogue: dict[str, Disease], user_factory: Any, language: str
) -> None:
    chrome.delete_all_cookies()
    prefer(chrome, live_server, language=language, theme="light")
    # A superuser: the Curators group of the data migration is gone after a flush.
    sign_in(chrome, live_server, user_factory(is_staff=True, is_superuser=True))
    viewport(chrome, DESKTOP)
    disease = catalogue["melanoma"]
    chrome.get(live_server.url + reverse("admin:diseases_disease_change", args=[disease.pk]))

    fields = chrome.execute_script(DIRECTIONS)
    arabic = [(name, direction, lang) for name, direction, lang in fields if name.endswith("_ar")]
    english = [(name, direction, lang) for name, direction, lang in fields if name.endswith("_en")]
    assert len(arabic) == len(english) >= len(Disease.TEXT_FIELDS)
    assert all(direction == "rtl" and lang == "ar" for _n, direction, lang in arabic), arabic
    assert all(direction == "ltr" and lang == "en" for _n, direction, lang in english), english
    assert csp_errors(chrome) == []


def test_the_browser_gets_an_icon_at_favicon_ico(chrome: Any, live_server: Any) -> None:
    chrome.get(live_server.url + "/favicon.ico")
    size = chrome.execute_script(
        "const img = document.querySelector('img');"
        "return img && [img.naturalWidth, img.naturalHeight];"
    )
    assert size and size[0] >= 16 and size[1] >= 16
