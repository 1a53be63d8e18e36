"""The person's time zone, as their browser reports it, is saved on their profile."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse


@pytest.fixture
def signed_in(client: Client, user_factory: Any) -> Any:
    user = user_factory()
    client.force_login(user)
    return user


def test_the_zone_the_browser_reports_is_saved(client: Client, signed_in: Any) -> None:
    response = client.post(reverse("accounts:set_time_zone"), {"time_zone": "Asia/Riyadh"})
    assert response.status_code == 204
    signed_in.refresh_from_db()
    assert signed_in.time_zone == "Asia/Riyadh"


@pytest.mark.parametrize("zone", ["", "Mars/Olympus_Mons", "../../etc/passwd", "UTC+3"])
def test_a_name_that_is_no_zone_is_refused(client: Client, signed_in: Any, zone: str) -> None:
    response = client.post(reverse("accounts:set_time_zone"), {"time_zone": zone})
    assert response.status_code == 400
    signed_in.refresh_from_db()
    assert signed_in.time_zone == ""


def test_saving_a_zone_needs_a_signed_in_post(client: Client) -> None:
    url = reverse("accounts:set_time_zone")
    assert client.post(url, {"time_zone": "Asia/Riyadh"}).status_code == 302  # to sign in
    assert client.get(url).status_code in {302, 405}
