"""Then vs now: the comparison page and its plain-language changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from diagnosis.models import Diagnosis
from diagnosis.tests.pages import inline_code, make
from spots import services
from spots.models import Answers, Spot

pytestmark = pytest.mark.django_db

NEVUS = [{"key": "melanocytic_nevi", "probability": 0.8}, {"key": "eczema", "probability": 0.1}]
MELANOMA = [
    {"key": "melanoma", "probability": 0.6},
    {"key": "melanocytic_nevi", "probability": 0.3},
]


@pytest.fixture
def spot(person: Any) -> Spot:
    return services.create_spot(user=person, name="mole on back", region="back")


@pytest.fixture
def pair(person: Any, spot: Spot, active_model: Any, enqueued: list[int]) -> tuple[Any, Any]:
    then = make(
        person,
        spot=spot,
        predictions=NEVUS,
        red_flag="",
        created_at=timezone.now() - timedelta(days=60),
    )
    now = make(person, spot=spot, predictions=MELANOMA, red_flag="melanoma")
    Answers.objects.create(diagnosis=now, pigmented="yes", grew=True, changed_colour=True)
    return then, now


def test_then_and_now_shows_both_photos_their_results_and_what_changed(
    browser: Client, spot: Spot, pair: tuple[Any, Any], catalogue: Any
) -> None:
    html = browser.get(reverse("spots:compare", args=[spot.public_id])).content.decode()
    for diagnosis in pair:
        assert reverse("diagnosis:image", args=[diagnosis.public_id]) in html
    assert "The photos were taken 60 days apart." in html
    assert "The top result changed from Moles (melanocytic naevi) to Melanoma." in html
    assert "The later photo raises a warning about Melanoma." in html
    assert "You reported it has grown." in html and "You reported it has changed colour." in html
    assert "has changed in size, shape or colour" in html  # the later photo's warning sign
    assert "spots/compare.js" in html and inline_code(html) == []
    detail = browser.get(reverse("spots:detail", args=[spot.public_id])).content.decode()
    assert reverse("spots:compare", args=[spot.public_id]) in detail


def test_the_photos_can_be_picked_and_come_out_in_time_order(
    browser: Client, spot: Spot, pair: tuple[Any, Any], catalogue: Any
) -> None:
    then, now = pair
    url = reverse("spots:compare", args=[spot.public_id])
    html = browser.get(url, {"before": now.public_id, "after": then.public_id}).content.decode()
    assert html.index('data-side="before"') < html.index('data-side="after"')
    assert "changed from Moles (melanocytic naevi) to Melanoma" in html


def test_the_same_photo_twice_asks_for_two(
    browser: Client, spot: Spot, pair: tuple[Any, Any]
) -> None:
    then, _ = pair
    url = reverse("spots:compare", args=[spot.public_id])
    html = browser.get(url, {"before": then.public_id, "after": then.public_id}).content.decode()
    assert "Pick two different photos" in html


def test_a_photo_of_another_spot_or_person_is_a_404(
    client: Client,
    browser: Client,
    person: Any,
    user_factory: Any,
    spot: Spot,
    pair: tuple[Any, Any],
) -> None:
    elsewhere = make(person)
    url = reverse("spots:compare", args=[spot.public_id])
    assert browser.get(url, {"after": elsewhere.public_id}).status_code == 404
    assert browser.get(url, {"before": "not-an-id"}).status_code == 404
    client.force_login(user_factory())
    assert client.get(url).status_code == 404


def test_a_spot_with_one_photo_has_nothing_to_compare(
    browser: Client, person: Any, spot: Spot, active_model: Any, enqueued: list[int]
) -> None:
    make(person, spot=spot)
    assert browser.get(reverse("spots:compare", args=[spot.public_id])).status_code == 404


def test_a_refused_photo_is_said_to_have_no_answer(
    browser: Client, person: Any, spot: Spot, active_model: Any, enqueued: list[int]
) -> None:
    make(person, spot=spot, created_at=timezone.now() - timedelta(days=1))
    make(person, spot=spot, outcome=Diagnosis.Outcome.NOT_SKIN, predictions=[], red_flag="")
    html = browser.get(reverse("spots:compare", args=[spot.public_id])).content.decode()
    assert "The photos were taken 1 day apart." in html
    assert "gave no answer for one of the photos" in html


def test_then_and_now_in_arabic(
    browser: Client, spot: Spot, pair: tuple[Any, Any], catalogue: Any
) -> None:
    browser.cookies["django_language"] = "ar"
    url = reverse("spots:compare", args=[spot.public_id])
    html = browser.get(url, HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'dir="rtl"' in html
    assert "ذكرتَ أنها كبرت." in html
    assert "تفصل بين الصورتين 60 يومًا." in html
