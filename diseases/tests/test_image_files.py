"""A catalogue image's file lives as long as its row does (django-cleanup): deleted with the row
or with its disease, a replaced file deleted, each only once the transaction commits."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import transaction

from diseases.models import DiseaseImage
from diseases.tests.conftest import image_bytes

pytestmark = pytest.mark.django_db


def stored_image(disease: Any) -> DiseaseImage:
    image = DiseaseImage(disease=disease, alt_text_en="A patch", credit="A", licence="CC0")
    image.image.save("patch.png", ContentFile(image_bytes("PNG")), save=False)
    image.save()
    assert image.image.storage.exists(image.image.name)
    # Read back, as the admin does: what the row held when it was loaded is what gets replaced.
    return DiseaseImage.objects.get(pk=image.pk)


def test_deleting_an_image_removes_its_file(
    catalogue: dict, django_capture_on_commit_callbacks: Any
) -> None:
    image = stored_image(catalogue["eczema"])
    storage, name = image.image.storage, image.image.name
    with django_capture_on_commit_callbacks(execute=True):
        image.delete()
    assert not storage.exists(name)


def test_deleting_a_disease_removes_its_images_files_and_no_other(
    catalogue: dict, django_capture_on_commit_callbacks: Any
) -> None:
    gone = stored_image(catalogue["eczema"])
    kept = stored_image(catalogue["melanoma"])
    storage = gone.image.storage
    with django_capture_on_commit_callbacks(execute=True):
        catalogue["eczema"].delete()
    assert not storage.exists(gone.image.name)
    assert storage.exists(kept.image.name)


def test_a_replaced_image_file_is_deleted_once_the_new_one_is_saved(
    catalogue: dict, django_capture_on_commit_callbacks: Any
) -> None:
    image = stored_image(catalogue["eczema"])
    storage, old = image.image.storage, image.image.name

    image.image = ContentFile(image_bytes("JPEG"), name="new.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        image.save()

    assert image.image.name != old
    assert storage.exists(image.image.name)
    assert not storage.exists(old)


def test_a_rolled_back_replacement_keeps_the_old_file(
    catalogue: dict, django_capture_on_commit_callbacks: Any
) -> None:
    image = stored_image(catalogue["eczema"])
    storage, old = image.image.storage, image.image.name

    image.image = ContentFile(image_bytes("JPEG"), name="new.jpg")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        image.save()
        raise RuntimeError
    assert callbacks == []
    assert storage.exists(old)
    assert DiseaseImage.objects.get(pk=image.pk).image.name == old
