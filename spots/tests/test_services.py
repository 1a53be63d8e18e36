"""Spot services and the upload service's spot and answers."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from diagnosis import services as diagnosis_services
from diagnosis.models import Diagnosis
from diagnosis.tests import images
from spots import services
from spots.models import Answers, Spot

pytestmark = pytest.mark.django_db


def test_a_spot_is_created_with_a_trimmed_name_and_a_region(person: Any) -> None:
    spot = services.create_spot(user=person, name="  mole on left shoulder ", region="back")
    spot.refresh_from_db()
    assert (spot.owner, spot.name, spot.region) == (person, "mole on left shoulder", "back")
    with translation.override("en"):
        assert spot.get_region_display() == "Back"


@pytest.mark.parametrize(
    ("name", "region", "field"),
    [("x" * 81, "back", "name"), ("", "back", "name"), ("mole", "tail", "region")],
)
def test_a_bad_spot_is_refused(person: Any, name: str, region: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.create_spot(user=person, name=name, region=region)
    assert field in caught.value.message_dict
    assert Spot.objects.count() == 0


def test_a_photo_is_filed_under_its_spot_with_what_the_person_noticed(
    person: Any, active_model: Any, enqueued: list[int]
) -> None:
    spot = services.create_spot(user=person, name="mole", region="chest")
    diagnosis = diagnosis_services.submit_diagnosis(
        user=person,
        upload=images.jpeg(),
        spot=spot,
        answers={"pigmented": "yes", "grew": True, "itches": False, "duration": "years"},
    )
    diagnosis.refresh_from_db()
    assert diagnosis.spot == spot
    answers = Answers.objects.get(diagnosis=diagnosis)
    assert (answers.pigmented, answers.grew, answers.itches, answers.duration) == (
        "yes",
        True,
        False,
        "years",
    )
    with translation.override("en"):
        noticed = answers.noticed()
    assert noticed == ["There for: More than a year", "A mole or dark spot", "Has grown"]


def test_empty_answers_store_nothing(person: Any, active_model: Any, enqueued: list[int]) -> None:
    diagnosis_services.submit_diagnosis(
        user=person, upload=images.jpeg(), answers={"pigmented": "", "grew": False}
    )
    assert Answers.objects.count() == 0
    assert Diagnosis.objects.get().spot is None


def test_a_photo_cannot_be_filed_under_someone_elses_spot(
    person: Any, user_factory: Any, active_model: Any, enqueued: list[int]
) -> None:
    theirs = services.create_spot(user=user_factory(), name="theirs", region="feet")
    with pytest.raises(ValueError, match="own spot"):
        diagnosis_services.submit_diagnosis(user=person, upload=images.jpeg(), spot=theirs)
    assert Diagnosis.objects.count() == 0


@pytest.mark.parametrize("delete_photos", [False, True])
def test_deleting_a_spot_keeps_or_deletes_its_photos(
    person: Any, active_model: Any, enqueued: list[int], delete_photos: bool
) -> None:
    spot = services.create_spot(user=person, name="mole", region="chest")
    diagnosis = diagnosis_services.submit_diagnosis(
        user=person, upload=images.jpeg(), spot=spot, answers={"bleeds": True}
    )
    other = diagnosis_services.submit_diagnosis(user=person, upload=images.jpeg((300, 200)))

    deleted = services.delete_spot(spot=spot, delete_photos=delete_photos)

    assert not Spot.objects.exists()
    assert deleted == (1 if delete_photos else 0)
    assert Diagnosis.objects.filter(pk=other.pk).exists()
    if delete_photos:
        assert not Diagnosis.objects.filter(pk=diagnosis.pk).exists()
        assert not Answers.objects.exists()
    else:
        diagnosis.refresh_from_db()
        assert diagnosis.spot is None
        assert diagnosis.answers.bleeds
