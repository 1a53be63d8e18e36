"""allauth's pages in a real Chromium look like the rest of the site: in every look (desktop and
phone, English and Arabic, light and dark), each account field is as wide as the upload form's
photo field and styled like it (Bootstrap's form-control: same border, corners, colours).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

# The upload form is the reference, and it is shown only with an active model.
from diagnosis.tests.conftest import active_model, tiny_artifact  # noqa: F401
from testing.browser import (
    LOOKS,
    WAIT,
    csp_errors,
    prefer,
    sign_in,
    viewport,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("active_model"),
]

#: The visible text fields of the page's main form, with what decides how they look.
FIELDS = """
const css = 'main input[type=email], main input[type=password], main input[type=text],'
  + ' main input[type=number], main input[type=file]';
return Array.from(document.querySelectorAll(css))
  .filter((e) => e.offsetParent !== null && !e.disabled)  // a disabled field is greyed
  .map((e) => {
    const s = getComputedStyle(e);
    return {
      name: e.name, width: Math.round(e.getBoundingClientRect().width),
      background: s.backgroundColor, border: s.borderTopColor + ' ' + s.borderTopWidth,
      radius: s.borderTopLeftRadius, padding: s.paddingInlineStart,
      font: e.name === 'code' ? '' : s.fontSize, control: e.classList.contains('form-control'),
    };
  });
"""
PASSWORD = "a-long-unusual-passphrase-42"


def fields_of(driver: Any, live_server: Any, path: str) -> list[dict[str, Any]]:
    driver.get(live_server.url + path)
    return list(driver.execute_script(FIELDS))


def page_look(driver: Any) -> tuple[str, str]:
    return tuple(  # type: ignore[return-value]
        driver.execute_script(
            "const html = document.documentElement;"
            "return [html.getAttribute('data-bs-theme'), html.getAttribute('dir')];"
        )
    )


def look(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in field.items() if k != "name"} for field in fields]


@pytest.mark.parametrize(("size", "language", "theme"), LOOKS)
def test_every_account_page_has_fields_like_the_upload_form(
    chrome: Any,
    live_server: Any,
    user_factory: Any,
    size: tuple[int, int],
    language: str,
    theme: str,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chrome.delete_all_cookies()
    prefer(chrome, live_server, language=language, theme=theme)
    viewport(chrome, size)
    pages: dict[str, list[dict[str, Any]]] = {}
    for name in ("account_login", "account_reset_password", "account_signup"):
        pages[name] = fields_of(chrome, live_server, reverse(name))

    # Signing up leads to the page that asks for the e-mailed code.
    for field, value in (("email", "new@example.com"), ("password1", PASSWORD)):
        chrome.find_element(By.NAME, field).send_keys(value)
    chrome.find_element(By.NAME, "password2").send_keys(PASSWORD)
    chrome.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(chrome, WAIT).until(lambda d: d.find_elements(By.NAME, "code"))
    pages["code"] = list(chrome.execute_script(FIELDS))
    assert page_look(chrome) == (theme, "rtl" if language == "ar" else "ltr")

    chrome.delete_all_cookies()
    prefer(chrome, live_server, language=language, theme=theme)
    sign_in(chrome, live_server, user_factory(theme=theme))
    for name in ("account_email", "account_change_password"):
        pages[name] = fields_of(chrome, live_server, reverse(name))
    # The photo field is the reference (the page also has the optional spot's name, styled alike).
    upload = fields_of(chrome, live_server, reverse("diagnosis:upload"))
    (photo,) = look([field for field in upload if field["name"] == "image"])
    assert page_look(chrome) == (theme, "rtl" if language == "ar" else "ltr")
    assert photo["control"]

    for page, fields in pages.items():
        assert fields, f"{page} shows no field"
        for field in look(fields):
            assert field == photo | {"font": field["font"] and photo["font"]}, page
    assert csp_errors(chrome) == []
