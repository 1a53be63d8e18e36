"""The service worker: served at the root, caching the static shell only; the offline page.

What the worker may cache is data (``skinsite.pwa.shell.service_worker_policy``) written into
``/sw.js``, so these tests read the same list the worker does. The browser test
(``test_pwa_browser``) checks what a real Chromium's worker actually cached.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import resolve, reverse

from skinsite.pwa.shell import service_worker_policy
from skinsite.pwa.views import WORKER_SOURCE

pytestmark = pytest.mark.django_db

ARABIC = re.compile(r"[\u0600-\u06FF]")


def served_policy(client: Any) -> dict[str, Any]:
    """The policy as the worker reads it: the JSON after ``const POLICY =`` in /sw.js."""
    source = client.get("/sw.js").content.decode()
    assert source.startswith("const POLICY = ")
    policy: dict[str, Any] = json.loads(source.removeprefix("const POLICY = ").split(";\n", 1)[0])
    return policy


def test_the_worker_is_served_from_the_root_so_its_scope_is_the_whole_site(client: Any) -> None:
    assert reverse("pwa:service_worker") == "/sw.js"
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    # A deploy's new worker reaches phones at their next visit.
    assert "no-cache" in response["Cache-Control"]
    assert served_policy(client) == service_worker_policy()


def test_the_worker_caches_only_static_files_and_the_offline_page(client: Any) -> None:
    policy = served_policy(client)
    static_prefix = static("")
    offline = reverse("pwa:offline")
    assert policy["offline"] == offline
    assert offline in policy["shell"]
    for url in policy["shell"]:
        if url == offline:
            continue
        assert url.startswith(static_prefix), url
        assert finders.find(url.removeprefix(static_prefix)), f"{url} is not a static file"
    # The page shell every page loads, in both directions, and the app's icons.
    names = {url.removeprefix(static_prefix) for url in policy["shell"]}
    assert {
        "vendor/bootstrap/bootstrap.min.css",
        "vendor/bootstrap/bootstrap.rtl.min.css",
        "css/site.css",
        "js/site.js",
        "pwa/icon-192.png",
        "pwa/icon-512.png",
    } <= names


def test_the_worker_s_list_holds_no_page_of_a_person(client: Any, user_factory: Any) -> None:
    anonymous = client.get("/sw.js").content
    client.force_login(user_factory())
    assert client.get("/sw.js").content == anonymous
    pages = [url for url in served_policy(client)["shell"] if not url.startswith(static(""))]
    assert [resolve(url).view_name for url in pages] == ["pwa:offline"]


def test_the_worker_stores_nothing_but_its_list(client: Any) -> None:
    """The worker's only cache write is ``cache.addAll(POLICY.shell)`` at install: every other
    response (photos, results, pages) passes from the network to the page."""
    source = WORKER_SOURCE.read_text(encoding="utf-8")
    writes = re.findall(r"\.(addAll|add|put)\(([^)]*)\)", source)
    assert writes == [("addAll", "POLICY.shell")]
    # Only GET requests of the site itself are looked at; uploads go straight to the network.
    assert 'request.method !== "GET"' in source


def test_a_new_shell_gets_a_new_cache(client: Any, settings: Any) -> None:
    before = service_worker_policy()["cache"]
    settings.STATIC_URL = "/assets/"
    after = service_worker_policy()
    assert after["cache"] != before
    assert after["cache"].startswith(after["cachePrefix"])


def test_the_offline_page_speaks_english_and_arabic_right_to_left(client: Any) -> None:
    response = client.get(reverse("pwa:offline"))
    assert response.status_code == 200
    html = response.content.decode()
    english, arabic = re.findall(
        r'<section class="offline-section[^"]*" lang="(\w+)" dir="(\w+)"', html
    )
    assert english == ("en", "ltr")
    assert arabic == ("ar", "rtl")
    assert "You are offline" in html
    assert "أنت غير متصل بالإنترنت" in html
    arabic_section = html.split('lang="ar" dir="rtl"', 1)[1]
    assert ARABIC.search(arabic_section)
    assert "Try again" not in arabic_section


def test_the_offline_page_is_the_same_for_everyone(client: Any, user_factory: Any) -> None:
    anonymous = client.get(reverse("pwa:offline")).content
    person = user_factory()
    client.force_login(person)
    client.cookies["django_language"] = "ar"
    signed_in = client.get(reverse("pwa:offline")).content
    assert signed_in == anonymous
    assert person.email.encode() not in signed_in
