"""The seed content: ten diseases, written in full in English and Arabic."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from diseases.loader import read_catalogue
from diseases.models import Disease
from mltrain.ml.classes import CLASS_KEYS

PLACEHOLDERS = re.compile(r"lorem|ipsum|\bTODO\b|\bTBD\b|\bFIXME\b|xxx|placeholder", re.I)
ARABIC_LETTER = re.compile(r"[\u0600-\u06FF]")


@pytest.mark.django_db
def test_all_ten_load_with_every_english_and_arabic_text_field_filled(catalogue: dict) -> None:
    assert list(Disease.objects.values_list("class_key", flat=True)) == list(CLASS_KEYS)
    for disease in Disease.objects.all():
        assert disease.published
        for name in Disease.TEXT_FIELDS:
            english = getattr(disease, f"{name}_en")
            arabic = getattr(disease, f"{name}_ar")
            assert english and english.strip(), (disease.class_key, name)
            assert arabic and arabic.strip(), (disease.class_key, name)
            assert ARABIC_LETTER.search(arabic), (disease.class_key, name)
            assert not ARABIC_LETTER.search(english), (disease.class_key, name)
            assert not PLACEHOLDERS.search(english + arabic), (disease.class_key, name)


@pytest.mark.django_db
def test_every_disease_cites_two_to_four_reputable_https_sources(catalogue: dict) -> None:
    reputable = (
        "https://www.nhs.uk/",
        "https://www.aad.org/",
        "https://dermnetnz.org/",
        "https://www.skincancer.org/",
        "https://www.cdc.gov/",
    )
    for disease in catalogue.values():
        references = list(disease.references.all())
        assert 2 <= len(references) <= 4, disease.class_key
        for reference in references:
            assert reference.url.startswith(reputable), reference.url
            assert reference.title_en and reference.title_ar


def test_urgency_follows_the_clinical_advice() -> None:
    urgency = {entry["class_key"]: entry["urgency"] for entry in read_catalogue()["diseases"]}
    assert urgency["melanoma"] == Disease.Urgency.URGENT
    assert urgency["basal_cell_carcinoma"] == Disease.Urgency.SOON
    others = set(CLASS_KEYS) - {"melanoma", "basal_cell_carcinoma"}
    assert {urgency[key] for key in others} == {Disease.Urgency.ROUTINE}


def test_the_content_file_covers_every_site_language() -> None:
    for entry in read_catalogue()["diseases"]:
        for language in settings.MODELTRANSLATION_LANGUAGES:
            assert set(entry[language]) == set(Disease.TEXT_FIELDS), (entry["class_key"], language)
