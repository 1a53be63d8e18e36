"""The PWA's own URLs: ``/sw.js``, the manifest in each language, and the offline page."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from skinsite.pwa.icons import MANIFEST_ICONS
from skinsite.pwa.shell import service_worker_policy

WORKER_SOURCE = Path(__file__).with_name("sw.js")
#: The colour of the installed app's title bar: the logo's.
THEME_COLOR = "#c0795a"
BACKGROUND_COLOR = "#ffffff"
MANIFEST_CONTENT_TYPE = "application/manifest+json"


@require_GET
@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, with its policy (``shell.service_worker_policy``) written in.

    Served from the site's root so that its scope is the whole site. ``no-cache``: a deploy's
    new worker (new shell, new cache name) reaches phones at their next visit.
    """
    policy = json.dumps(service_worker_policy(), indent=1, sort_keys=True)
    source = WORKER_SOURCE.read_text(encoding="utf-8")
    return HttpResponse(
        f"const POLICY = {policy};\n{source}", content_type="text/javascript; charset=utf-8"
    )


@require_GET
@cache_control(max_age=3600)
def manifest(request: HttpRequest, language: str) -> JsonResponse:
    """The web app manifest in ``language``: its URL names the language because a browser
    fetches a manifest without cookies, so the language cookie cannot choose it."""
    if language not in dict(settings.LANGUAGES):
        raise Http404
    with translation.override(language):
        body = {
            "id": reverse("home"),
            "name": _("skinsite: skin check"),
            "short_name": "skinsite",
            "description": _("Check a photo of a skin spot. Not a medical diagnosis."),
            "lang": language,
            "dir": "rtl" if translation.get_language_bidi() else "ltr",
            "start_url": reverse("home"),
            "scope": reverse("home"),
            "display": "standalone",
            "theme_color": THEME_COLOR,
            "background_color": BACKGROUND_COLOR,
            "categories": ["health", "medical"],
            "icons": [
                {
                    "src": static(icon.path),
                    "sizes": f"{icon.size}x{icon.size}",
                    "type": "image/png",
                    "purpose": icon.purpose,
                }
                for icon in MANIFEST_ICONS
            ],
            "shortcuts": [{"name": _("Take a photo"), "url": reverse("diagnosis:camera")}],
        }
    return JsonResponse(
        body, content_type=MANIFEST_CONTENT_TYPE, json_dumps_params={"ensure_ascii": False}
    )


@require_GET
@cache_control(max_age=3600)
def offline(request: HttpRequest) -> HttpResponse:
    """The page the service worker shows when a page cannot load offline.

    The same for everyone, in English and Arabic at once: the worker caches one copy when it
    installs, before it could know which language a person will read later. Rendered without
    the request, so nothing of the person who happened to install it (their name, their
    navigation) can end up in the cache.
    """
    sections = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            sections.append(
                render_to_string(
                    "pwa/_offline_section.html",
                    {"code": code, "bidi": translation.get_language_bidi()},
                )
            )
    html = render_to_string(
        "pwa/offline.html",
        {"sections": sections, "LANGUAGE_CODE": settings.LANGUAGE_CODE},
    )
    return HttpResponse(html)
