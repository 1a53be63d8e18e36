"""A rate limit per person on sending photos: over it, a clear 429 page and nothing half-done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from diagnosis.models import Diagnosis
from diagnosis.tests.pages import upload_file

pytestmark = pytest.mark.django_db

MESSAGE = "You have sent many photos in a short while."


@pytest.fixture(autouse=True)
def two_photos_an_hour(settings: Any) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "diagnosis_upload": "2/h/user"}


def stored_files() -> list[Path]:
    return [p for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_the_default_limit_is_per_person() -> None:
    from skinsite import settings as project_settings

    assert project_settings.ACCOUNT_RATE_LIMITS["diagnosis_upload"].endswith("/user")


def test_over_the_limit_the_upload_answers_429_with_a_clear_page_and_loses_nothing(
    browser: Client,
    person: Any,
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = browser.post(reverse("diagnosis:upload"), {"image": upload_file()})
        second = browser.post(reverse("diagnosis:camera"), {"image": upload_file()})
    assert (first.status_code, second.status_code) == (302, 302)
    files_before = stored_files()

    with django_capture_on_commit_callbacks(execute=True):
        refused = browser.post(reverse("diagnosis:upload"), {"image": upload_file()})
        refused_camera = browser.post(reverse("diagnosis:camera"), {"image": upload_file()})

    for response in (refused, refused_camera):
        assert response.status_code == 429
        html = response.content.decode()
        assert MESSAGE in html and "This photo was not sent" in html
        assert reverse("diagnosis:history") in html
    # The two accepted photos are stored and queued; the refused ones left no row, file or job.
    sent = list(Diagnosis.objects.filter(owner=person))
    assert len(sent) == 2
    assert sorted(enqueued) == sorted(d.pk for d in sent)
    assert stored_files() == files_before
    # The pages still open, and another person is not limited by this one.
    assert browser.get(reverse("diagnosis:upload")).status_code == 200
    browser.force_login(user_factory())
    with django_capture_on_commit_callbacks(execute=True):
        other = browser.post(reverse("diagnosis:upload"), {"image": upload_file()})
    assert other.status_code == 302


def test_the_429_page_speaks_arabic(
    browser: Client, active_model: Any, enqueued: list[int]
) -> None:
    browser.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "ar"
    for _ in range(2):
        browser.post(reverse("diagnosis:upload"), {"image": upload_file()})
    response = browser.post(reverse("diagnosis:upload"), {"image": upload_file()})
    assert response.status_code == 429
    html = response.content.decode()
    assert "لقد أرسلت صورًا كثيرة خلال وقت قصير" in html
    assert MESSAGE not in html


def test_an_anonymous_post_is_sent_to_sign_in_not_counted(client: Client) -> None:
    response = client.post(reverse("diagnosis:upload"), {"image": upload_file()})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
