from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_failed_logins_are_rate_limited(client: Any, user_factory: Any) -> None:
    user_factory(email="target@example.com")
    statuses = [
        client.post(
            reverse("account_login"), {"login": "target@example.com", "password": "wrong guess"}
        ).status_code
        for _ in range(7)
    ]
    # 5 failures per address within 5 minutes, then a refusal.
    assert statuses[:5] == [200] * 5
    last = client.post(
        reverse("account_login"), {"login": "target@example.com", "password": "wrong guess"}
    )
    assert last.status_code == 429 or "Too many failed login attempts" in last.content.decode()


@pytest.mark.django_db
def test_rate_limit_page_is_translated(client: Any, user_factory: Any, settings: Any) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reset_password": "1/m/ip"}
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    client.post(reverse("account_reset_password"), {"email": "a@example.com"})
    response = client.post(reverse("account_reset_password"), {"email": "b@example.com"})
    assert response.status_code == 429
    assert 'dir="rtl"' in response.content.decode()
