from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["account_change_password", "account_email"])
def test_private_pages_send_visitors_to_login(client: Any, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_dashboard_shows_the_entries_after_login(client: Any, user_factory: Any) -> None:
    client.force_login(user_factory())
    html = client.get(reverse("home")).content.decode()
    for text in ("Upload a photo", "Take a photo", "My history", "Disease information"):
        assert text in html
