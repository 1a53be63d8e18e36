"""The history, the private images and deletion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from diagnosis.models import Diagnosis
from diagnosis.tests.pages import TOP3, make

pytestmark = pytest.mark.django_db

Status = Diagnosis.Status


# --- private images -----------------------------------------------------------------------------


def test_the_owner_gets_the_stored_photo_and_thumbnail_privately(
    browser: Client, person: Any, active_model: Any, enqueued: list[int]
) -> None:
    diagnosis = make(person)
    response = browser.get(reverse("diagnosis:image", args=[diagnosis.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, max-age=3600"
    with diagnosis.image.open("rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()
    thumb = browser.get(reverse("diagnosis:thumbnail", args=[diagnosis.public_id]))
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"


def test_no_public_url_serves_private_media(
    browser: Client, person: Any, active_model: Any, enqueued: list[int], settings: Any
) -> None:
    diagnosis = make(person)
    assert browser.get(settings.MEDIA_URL + diagnosis.image.name).status_code == 404


def test_nginx_serves_the_photo_after_the_owner_check(
    browser: Client, person: Any, active_model: Any, enqueued: list[int], settings: Any
) -> None:
    settings.PRIVATE_MEDIA_SERVER = "nginx"
    settings.PRIVATE_MEDIA_NGINX_PREFIX = "/protected-media/"
    diagnosis = make(person)
    response = browser.get(reverse("diagnosis:image", args=[diagnosis.public_id]))
    assert response["X-Accel-Redirect"] == "/protected-media/" + diagnosis.image.name
    assert response.content == b""


def test_apache_serves_the_photo_after_the_owner_check(
    browser: Client, person: Any, active_model: Any, enqueued: list[int], settings: Any
) -> None:
    settings.PRIVATE_MEDIA_SERVER = "apache"
    diagnosis = make(person)
    response = browser.get(reverse("diagnosis:thumbnail", args=[diagnosis.public_id]))
    assert response["X-Sendfile"] == diagnosis.thumbnail.path
    assert response.content == b""


# --- history ------------------------------------------------------------------------------------


def test_history_lists_only_my_diagnoses_newest_first(
    browser: Client,
    person: Any,
    user_factory: Any,
    catalogue: dict[str, Any],
    active_model: Any,
    enqueued: list[int],
) -> None:
    older = make(person, created_at=timezone.now() - timezone.timedelta(days=1))
    newer = make(person, status=Status.QUEUED)
    theirs = make(user_factory())

    html = browser.get(reverse("diagnosis:history")).content.decode()

    assert html.index(str(newer.public_id)) < html.index(str(older.public_id))
    assert str(theirs.public_id) not in html
    assert reverse("diagnosis:thumbnail", args=[older.public_id]) in html
    assert catalogue["melanocytic_nevi"].name("en") in html
    assert "Waiting in line" in html


def test_history_is_paginated(
    browser: Client,
    person: Any,
    catalogue: dict[str, Any],
    active_model: Any,
    enqueued: list[int],
) -> None:
    for _ in range(21):
        make(person)
    first = browser.get(reverse("diagnosis:history")).content.decode()
    second = browser.get(reverse("diagnosis:history") + "?page=2").content.decode()
    assert first.count("data-diagnosis=") == 20
    assert second.count("data-diagnosis=") == 1
    assert "Page 1 of 2" in first


def test_history_filters_by_a_condition_anywhere_in_the_top3(
    browser: Client,
    person: Any,
    catalogue: dict[str, Any],
    active_model: Any,
    enqueued: list[int],
) -> None:
    second = make(person)  # melanoma is TOP3's second answer
    first = make(
        person,
        top_class="melanoma",
        predictions=[{"key": "melanoma", "probability": 0.6}, *TOP3[:1], TOP3[2]],
    )
    without = make(
        person,
        top_class="eczema",
        predictions=[
            {"key": "eczema", "probability": 0.5},
            {"key": "psoriasis_lichen_planus", "probability": 0.3},
            {"key": "fungal_infections", "probability": 0.1},
        ],
    )
    refused = make(person, outcome=Diagnosis.Outcome.NOT_SKIN, predictions=[], top_class="")
    html = browser.get(reverse("diagnosis:history") + "?class=melanoma").content.decode()
    assert str(first.public_id) in html
    assert str(second.public_id) in html
    assert str(without.public_id) not in html
    assert str(refused.public_id) not in html
    assert '<option value="melanoma" selected>' in html


def test_history_marks_red_flags_and_names_refusals(
    browser: Client,
    person: Any,
    catalogue: dict[str, Any],
    active_model: Any,
    enqueued: list[int],
) -> None:
    flagged = make(
        person,
        top_class="melanoma",
        predictions=[{"key": "melanoma", "probability": 0.6}, *TOP3[:1], TOP3[2]],
    )
    calm = make(
        person,
        top_class="eczema",
        predictions=[{"key": "eczema", "probability": 0.9}],
    )
    make(person, outcome=Diagnosis.Outcome.NOT_SKIN, predictions=[], top_class="")
    make(person, outcome=Diagnosis.Outcome.POOR_QUALITY, quality_issue="blurred", predictions=[])
    html = browser.get(reverse("diagnosis:history")).content.decode()
    assert html.count("data-red-flag=") == 1
    assert 'data-red-flag="melanoma"' in html
    rows = {row[:36]: row for row in html.split('data-diagnosis="')[1:]}
    assert 'data-red-flag="melanoma"' in rows[str(flagged.public_id)]
    assert "data-red-flag" not in rows[str(calm.public_id)]
    assert "Not a close-up photo of skin" in html
    assert "Photo too poor to judge" in html


@pytest.mark.parametrize("language", ["en", "ar"])
def test_history_runs_a_fixed_number_of_queries_whatever_its_length(
    browser: Client,
    person: Any,
    catalogue: dict[str, Any],
    active_model: Any,
    enqueued: list[int],
    language: str,
    django_assert_num_queries: Any,
) -> None:
    for _ in range(15):
        make(person)
    browser.cookies["django_language"] = language
    browser.get(reverse("diagnosis:history"))  # warm the catalogue cache
    # session, user, the spots for the filter, count, page of rows
    with django_assert_num_queries(5):
        response = browser.get(reverse("diagnosis:history"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.content.decode().count("data-diagnosis=") == 15


# --- deletion -----------------------------------------------------------------------------------


def test_deleting_one_diagnosis_removes_it_and_its_files(
    browser: Client,
    person: Any,
    active_model: Any,
    enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    diagnosis = make(person)
    path = diagnosis.image.path
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("diagnosis:delete", args=[diagnosis.public_id]))
    assert response.url == reverse("diagnosis:history")
    assert not Diagnosis.objects.exists()
    assert not Path(path).exists()


def test_delete_asks_first_and_a_get_deletes_nothing(
    browser: Client, person: Any, active_model: Any, enqueued: list[int]
) -> None:
    diagnosis = make(person)
    url = reverse("diagnosis:delete", args=[diagnosis.public_id])
    page = browser.get(url)
    assert page.status_code == 200
    assert f'action="{url}"' in page.content.decode()
    assert Diagnosis.objects.exists()
    history = browser.get(reverse("diagnosis:history")).content.decode()
    assert f'href="{url}?from=history"' in history  # a link to the question, not a delete form
    assert f'action="{url}"' not in history


def test_delete_all_asks_first_then_deletes_everything_of_mine(
    browser: Client,
    person: Any,
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
) -> None:
    make(person)
    make(person)
    theirs = make(user_factory())

    confirm = browser.get(reverse("diagnosis:delete_all")).content.decode()
    assert "2 checks" in confirm
    assert Diagnosis.objects.count() == 3

    browser.post(reverse("diagnosis:delete_all"))
    assert list(Diagnosis.objects.all()) == [theirs]
