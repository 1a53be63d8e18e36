"""The home page's QR code (for a desktop) encodes the site's address, and read back it gives it.

Which part a phone or a desktop shows is checked in a real Chromium at both sizes
(``test_pwa_browser``).
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import resvg_py
import zxingcpp
from django.urls import reverse
from PIL import Image

pytestmark = pytest.mark.django_db


def decode_qr(html: str) -> list[str]:
    """Every QR code in the page's ``#open-on-phone`` section, read from its rendered SVG."""
    section = html.split('id="open-on-phone"', 1)[1]
    svg = re.search(r"<svg.*?</svg>", section, re.DOTALL)
    assert svg, "no QR code"
    markup = svg.group(0).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    png = bytes(resvg_py.svg_to_bytes(svg_string=markup, zoom=2))
    with Image.open(io.BytesIO(png)) as image:
        return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_qr_code_opens_the_address_the_site_was_reached_at(
    client: Any, user_factory: Any, settings: Any, language: str
) -> None:
    settings.ALLOWED_HOSTS = ["skin.example.org"]
    client.cookies["django_language"] = language
    for signed_in in (False, True):
        if signed_in:
            client.force_login(user_factory())
        html = client.get(
            reverse("home"), HTTP_HOST="skin.example.org", secure=True
        ).content.decode()
        assert decode_qr(html) == ["https://skin.example.org/"]
        assert (
            '<p class="small text-body-secondary mb-0" dir="ltr">https://skin.example.org/</p>'
            in html
        )


def test_the_qr_code_has_a_name_in_the_page_s_language(client: Any) -> None:
    client.cookies["django_language"] = "ar"
    html = client.get(reverse("home")).content.decode()
    assert "<title>رمز QR لعنوان هذا الموقع</title>" in html
    assert "افتح skinsite على هاتفك" in html


def test_the_phone_s_first_button_opens_the_camera(client: Any) -> None:
    html = client.get(reverse("home")).content.decode()
    first = re.search(r'<a [^>]*id="take-photo-first"[^>]*>([^<]+)</a>', html)
    assert first
    assert f'href="{reverse("diagnosis:camera")}"' in first.group(0)
    assert first.group(1) == "Take a photo"
