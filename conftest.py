"""Fixtures shared by every app's tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SHARED_DIR = Path(__file__).resolve().parent.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_settings(settings: Any, tmp_path: Path) -> None:
    """Private media and models in a temporary folder, a fast hasher, a per-test cache.

    The cache is in-process by default so rate limits and cached lookups never leak between
    tests; tests that need the shared Redis cache say so explicitly.
    """
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MODELS_DIR = tmp_path / "models"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def user_factory(db: None) -> Callable[..., Any]:
    """Create users the way allauth would: with an EmailAddress row, verified by default."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    counter = iter(range(1, 1_000_000))

    def create(
        email: str | None = None,
        password: str = "correct horse battery staple",
        *,
        email_verified: bool = True,
        **extra: Any,
    ) -> Any:
        email = email or f"person{next(counter)}-{uuid.uuid4().hex[:6]}@example.com"
        user = get_user_model().objects.create_user(email=email, password=password, **extra)
        EmailAddress.objects.create(user=user, email=email, verified=email_verified, primary=True)
        user.raw_password = password
        return user

    return create


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` beside the checkout; tests that need it skip with the reason when absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip(
            f"real data not available: {SHARED_DIR} is absent (only CI and developers have it)"
        )
    return SHARED_DIR


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    """One headless Chromium per test module (skips with the reason when it is not installed)."""
    from testing.browser import start_chrome

    driver = start_chrome()
    try:
        yield driver
    finally:
        driver.quit()
