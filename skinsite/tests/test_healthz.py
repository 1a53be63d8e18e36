from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_model(client: Any) -> None:
    response = client.get(reverse("healthz"))
    body = response.json()
    assert response.status_code == 200, body
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert "active" in body["model"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client: Any, settings: Any) -> None:
    # A real connection attempt to a port where nothing listens.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"] == "down"
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_database_down_gives_a_503_page_not_a_traceback(
    client: Any, user_factory: Any, monkeypatch: Any
) -> None:
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    client.force_login(user_factory())
    client.raise_request_exception = False

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    response = client.get(reverse("home"))
    assert response.status_code == 503
    assert "temporarily unavailable" in response.content.decode()
    assert "Traceback" not in response.content.decode()
