"""Fixtures of the sharing tests: finished diagnoses as the worker leaves them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

TOP3 = [
    {"key": "melanocytic_nevi", "probability": 0.71},
    {"key": "melanoma", "probability": 0.18},
    {"key": "benign_keratosis", "probability": 0.06},
]
#: The answer's first condition as the shipped catalogue names it in English.
TOP_NAME = "Moles (melanocytic naevi)"


@pytest.fixture
def diagnosis_factory(db: None) -> Callable[..., Any]:
    """A diagnosis row with a stored photo, answered by default; ``fields`` override."""
    from diagnosis.models import Diagnosis
    from diagnosis.tests import images

    def create(owner: Any, **fields: Any) -> Diagnosis:
        values: dict[str, Any] = {
            "status": Diagnosis.Status.SUCCEEDED,
            "outcome": Diagnosis.Outcome.ANSWERED,
            "predictions": TOP3,
            "top_class": TOP3[0]["key"],
            "model_version": "tiny-test-1",
            "model_sha256": "ab" * 32,
            "photo_type": "clinical",
            "reference_accuracy": 0.7,
            "finished_at": timezone.now(),
            "width": 320,
            "height": 240,
        } | fields
        diagnosis = Diagnosis(owner=owner, **values)
        diagnosis.image.save("photo.jpg", ContentFile(images.jpeg()), save=False)
        diagnosis.thumbnail.save("thumb.jpg", ContentFile(images.jpeg((72, 72))), save=False)
        diagnosis.save()
        return diagnosis

    return create


@pytest.fixture
def catalogue(db: None) -> dict[str, Any]:
    """The ten diseases of the shipped catalogue, so pages name them as in production."""
    from diseases.loader import load_diseases
    from diseases.lookup import disease_map

    load_diseases()
    return disease_map()


@pytest.fixture
def person(user_factory: Any) -> Any:
    return user_factory()
