"""What the service worker may cache: the static shell, and nothing else.

``service_worker_policy()`` is written into ``/sw.js`` as JSON (``views.service_worker``); the
worker caches exactly ``shell`` when it installs and never stores another response. Photos,
results and every page of a signed-in person go to the network only, so a shared or lost phone
keeps none of them in the app's cache. A navigation that fails offline gets ``offline``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.templatetags.static import static
from django.urls import reverse

from skinsite.pwa.icons import ICONS

#: Static files every page loads (templates/base.html), in both directions of writing.
SHELL_ASSETS = (
    "vendor/bootstrap/bootstrap.min.css",
    "vendor/bootstrap/bootstrap.rtl.min.css",
    "vendor/bootstrap/bootstrap.bundle.min.js",
    "css/site.css",
    "js/theme-init.js",
    "js/site.js",
    "pwa/register.js",
    "img/favicon.svg",
    "img/favicon.ico",
)
#: The prefix of every cache the worker makes: on activation it deletes the others of its own.
CACHE_PREFIX = "skinsite-shell-"


def shell_urls() -> list[str]:
    """The URLs the worker caches: the static shell's files (as ``{% static %}`` names them,
    hashed in production) and the offline page."""
    assets = [*SHELL_ASSETS, *(icon.path for icon in ICONS)]
    return [static(asset) for asset in assets] + [reverse("pwa:offline")]


def service_worker_policy() -> dict[str, Any]:
    """The data ``/sw.js`` reads. Its cache name changes with the shell's URLs, so a deploy that
    changes a file (a new hashed name) installs a fresh cache and drops the old one."""
    shell = shell_urls()
    version = hashlib.sha256(json.dumps(shell).encode()).hexdigest()[:12]
    return {
        "cache": f"{CACHE_PREFIX}{version}",
        "cachePrefix": CACHE_PREFIX,
        "shell": shell,
        "offline": reverse("pwa:offline"),
    }
