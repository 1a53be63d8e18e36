"""Times on the pages are in the person's own zone, in their language's format, the zone named."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from diagnosis.models import Diagnosis
from diagnosis.tests.pages import make

WHEN = dt.datetime(2026, 12, 1, 20, 50, tzinfo=dt.UTC)


@pytest.fixture
def signed_in(client: Client, user_factory: Any) -> Any:
    user = user_factory()
    client.force_login(user)
    return user


def _one_check(owner: Any) -> Diagnosis:
    diagnosis = make(owner)
    Diagnosis.objects.filter(pk=diagnosis.pk).update(created_at=WHEN)
    return diagnosis


@pytest.mark.usefixtures("active_model", "enqueued")
def test_history_and_result_show_times_in_the_saved_zone_and_name_it(
    client: Client, signed_in: Any
) -> None:
    signed_in.time_zone = "Asia/Riyadh"
    signed_in.save(update_fields=["time_zone"])
    diagnosis = _one_check(signed_in)
    for url in (
        reverse("diagnosis:history"),
        reverse("diagnosis:detail", args=[diagnosis.public_id]),
    ):
        html = client.get(url).content.decode()
        assert "Dec. 1, 2026, 11:50 p.m." in html  # 20:50 UTC is 23:50 in Riyadh
        assert 'datetime="2026-12-01T23:50:00+03:00"' in html
        assert "(<bdi>Asia/Riyadh</bdi>)" in html


@pytest.mark.usefixtures("active_model", "enqueued")
def test_without_a_saved_zone_the_site_zone_is_named(client: Client, signed_in: Any) -> None:
    _one_check(signed_in)
    html = client.get(reverse("diagnosis:history")).content.decode()
    assert "Dec. 1, 2026, 8:50 p.m." in html
    assert "(<bdi>UTC</bdi>)" in html


@pytest.mark.usefixtures("active_model", "enqueued")
def test_arabic_times_use_the_arabic_date_format(client: Client, signed_in: Any) -> None:
    signed_in.preferred_language = "ar"
    signed_in.save(update_fields=["preferred_language"])
    _one_check(signed_in)
    html = client.get(reverse("diagnosis:history")).content.decode()
    assert "1 ديسمبر 2026، 8:50 م" in html
    assert "ديسمبر 1," not in html
