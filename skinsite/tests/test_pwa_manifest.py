"""The web app manifest: its content in English and Arabic, its type, and the pages' link to it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from PIL import Image

pytestmark = pytest.mark.django_db


def manifest(client: Any, language: str) -> dict[str, Any]:
    response = client.get(reverse("pwa:manifest", args=[language]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    return json.loads(response.content)


def test_the_manifest_makes_a_standalone_app_of_the_whole_site(client: Any) -> None:
    body = manifest(client, "en")
    assert body["name"] == "skinsite: skin check"
    assert body["short_name"] == "skinsite"
    assert body["lang"] == "en"
    assert body["dir"] == "ltr"
    assert body["display"] == "standalone"
    assert body["start_url"] == "/"
    assert body["scope"] == "/"
    assert body["theme_color"].startswith("#")
    # The camera page is inside the app's scope, and one tap away from its icon.
    camera = reverse("diagnosis:camera")
    assert camera.startswith(body["scope"])
    assert body["shortcuts"] == [{"name": "Take a photo", "url": camera}]


def test_the_arabic_manifest_is_in_arabic_and_right_to_left(client: Any) -> None:
    body = manifest(client, "ar")
    assert body["lang"] == "ar"
    assert body["dir"] == "rtl"
    assert body["name"] == "skinsite: فحص الجلد"
    assert body["shortcuts"][0]["name"] == "التقاط صورة"
    # The same app in either language: the browser knows it by its id.
    assert body["id"] == manifest(client, "en")["id"]


def test_a_language_the_site_does_not_speak_has_no_manifest(client: Any) -> None:
    assert client.get(reverse("pwa:manifest", args=["fr"])).status_code == 404


def test_the_manifest_lists_icons_of_192_and_512_pixels_and_a_maskable_one(client: Any) -> None:
    icons = manifest(client, "en")["icons"]
    declared = {(icon["sizes"], icon["purpose"]) for icon in icons}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= declared
    for icon in icons:
        assert icon["type"] == "image/png"
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_page_links_the_manifest_in_its_language(
    client: Any, user_factory: Any, language: str
) -> None:
    client.cookies["django_language"] = language
    for signed_in in (False, True):
        if signed_in:
            client.force_login(user_factory())
        html = client.get(reverse("home")).content.decode()
        assert f'<link rel="manifest" href="/manifest/{language}.webmanifest">' in html
        assert 'data-worker="/sw.js" data-scope="/"' in html


def test_the_content_security_policy_allows_the_site_s_own_worker_and_manifest(
    client: Any,
) -> None:
    policy = client.get(reverse("home"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["worker-src"] == "'self'"
    assert directives["manifest-src"] == "'self'"
