"""``disease_map()``: other apps' one way to turn class keys into diseases, without queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from diseases.lookup import DiseaseInfo, disease_for, disease_map
from mltrain.ml.classes import CLASS_KEYS

pytestmark = pytest.mark.django_db


def test_one_query_builds_the_map_and_then_none_per_key(
    catalogue: dict, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        disease_map()
    with django_assert_num_queries(0):
        names = [disease_map()[key].name("en") for key in CLASS_KEYS]
        for key in CLASS_KEYS:
            disease_for(key)
    assert names[1] == "Melanoma"


def test_the_info_carries_both_languages_and_the_page(catalogue: dict) -> None:
    info = disease_map()["melanoma"]
    assert isinstance(info, DiseaseInfo)
    assert info.url == "/diseases/melanoma/"
    assert info.urgency == "urgent" and info.category == "malignant"
    assert info.name("ar") == catalogue["melanoma"].name_ar
    with translation.override("ar"):
        assert info.name() == catalogue["melanoma"].name_ar
        assert info.urgency_label == "عاجل"
    assert info.summary("en") == catalogue["melanoma"].summary_en
    assert disease_for("unknown") is None


def test_saving_a_disease_refreshes_the_map(catalogue: dict) -> None:
    disease_map()  # warm the cache
    disease = catalogue["eczema"]
    disease.name_ar = ""
    disease.published = False
    disease.save()
    info = disease_map()["eczema"]
    assert info.name("ar") == disease.name_en  # English fallback
    assert info.url == "" and info.published is False
    disease.delete()
    assert "eczema" not in disease_map()
