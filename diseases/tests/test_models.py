"""Model rules: English always present, class order, fallback to English."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from diseases.models import Disease, DiseaseReference
from mltrain.ml.classes import CLASS_KEYS


@pytest.mark.django_db
def test_an_arabic_name_without_english_is_an_error_on_the_english_field(catalogue: dict) -> None:
    disease = catalogue["eczema"]
    disease.name_en = ""
    disease.name_ar = "الإكزيما"
    with pytest.raises(ValidationError) as caught:
        disease.full_clean()
    assert "name_en" in caught.value.message_dict
    assert caught.value.message_dict["name_en"] == [
        "Name [en] is required because name [ar] is filled in."
    ]


@pytest.mark.django_db
def test_an_arabic_reference_title_without_english_is_refused(catalogue: dict) -> None:
    reference = DiseaseReference(
        disease=catalogue["eczema"], url="https://www.nhs.uk/", title_ar="مرجع"
    )
    with pytest.raises(ValidationError) as caught:
        reference.full_clean()
    assert caught.value.message_dict["title_en"] == [
        "Title [en] is required because title [ar] is filled in."
    ]


@pytest.mark.django_db
def test_class_keys_must_be_the_classifiers(catalogue: dict) -> None:
    disease = catalogue["eczema"]
    disease.class_key = "rosacea"
    with pytest.raises(ValidationError) as caught:
        disease.full_clean()
    assert "class_key" in caught.value.message_dict


@pytest.mark.django_db
def test_diseases_are_ordered_by_model_class_index(catalogue: dict) -> None:
    ordered = list(Disease.objects.values_list("class_key", "position"))
    assert ordered == [(key, index) for index, key in enumerate(CLASS_KEYS)]


@pytest.mark.django_db
def test_an_empty_arabic_field_falls_back_to_english(catalogue: dict) -> None:
    disease = catalogue["melanoma"]
    disease.overview_ar = ""
    disease.save()
    disease.refresh_from_db()
    with translation.override("ar"):
        assert disease.overview == disease.overview_en
        assert disease.name == disease.name_ar
    assert disease.get_absolute_url() == "/diseases/melanoma/"
