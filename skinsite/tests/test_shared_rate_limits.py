"""Rate limits live in the shared Redis cache, so a second web process cannot double them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]

OTHER_PROCESS = """
import django, os
django.setup()
from django.conf import settings
settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reset_password": "2/m/ip"}
from django.test import Client
from django.test.utils import override_settings, setup_test_environment
# No collected static files here: plain storage. override_settings (not an assignment) also
# drops a storage that start-up already made (the icon finder's system check makes one).
override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()
setup_test_environment()
client = Client(REMOTE_ADDR="10.9.8.7")
response = client.post("/accounts/password/reset/", {"email": "someone@example.com"})
print(response.status_code)
"""


@pytest.mark.django_db(transaction=True)
def test_reset_limit_is_shared_with_another_process(client: Any, settings: Any) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    redis_url = os.environ["CACHE_URL"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reset_password": "2/m/ip"}
    url = reverse("account_reset_password")
    for _ in range(2):
        response = client.post(url, {"email": "someone@example.com"}, REMOTE_ADDR="10.9.8.7")
        assert response.status_code == 302

    # A separate process with the same cache settings (another gunicorn worker) is refused.
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs a database both processes share: run with DATABASE_URL (as CI does)")
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "skinsite.settings",
        "CACHE_URL": redis_url,
        "CACHE_KEY_PREFIX": prefix,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
    }
    result = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "429"
