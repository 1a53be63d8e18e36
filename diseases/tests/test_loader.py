"""``load_diseases``: idempotent, and never overwrites what curators changed."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from diseases.loader import CONTENT_PATH, load_diseases
from diseases.models import Disease, DiseaseReference


@pytest.mark.django_db
def test_a_second_run_changes_nothing(catalogue: dict) -> None:
    before = {d.class_key: d.updated_at for d in Disease.objects.all()}
    references = DiseaseReference.objects.count()

    report = load_diseases()

    assert report.created == [] and report.filled == {}
    assert len(report.unchanged) == 10
    assert {d.class_key: d.updated_at for d in Disease.objects.all()} == before
    assert DiseaseReference.objects.count() == references


@pytest.mark.django_db
def test_a_rerun_keeps_curator_edits(catalogue: dict) -> None:
    melanoma = catalogue["melanoma"]
    melanoma.overview_ar = "نص راجعه أحد المحررين."
    melanoma.name_en = "Melanoma (curated)"
    melanoma.symptoms_ar = ""  # a curator may empty a translation to show the English text
    melanoma.published = False
    melanoma.save()
    melanoma.references.first().delete()

    call_command("load_diseases", stdout=StringIO())

    melanoma.refresh_from_db()
    assert melanoma.overview_ar == "نص راجعه أحد المحررين."
    assert melanoma.name_en == "Melanoma (curated)"
    assert melanoma.symptoms_ar == ""
    assert melanoma.published is False
    assert melanoma.references.count() == 3


@pytest.mark.django_db
def test_fill_empty_fills_only_empty_fields(catalogue: dict) -> None:
    eczema = catalogue["eczema"]
    eczema.prevention_ar = ""
    eczema.overview_ar = "نص المحرر"
    eczema.save()

    out = StringIO()
    call_command("load_diseases", "--fill-empty", stdout=out)

    eczema.refresh_from_db()
    assert eczema.prevention_ar.startswith("- رطّب جلدك")
    assert eczema.overview_ar == "نص المحرر"
    assert "filled eczema: prevention_ar" in out.getvalue()


@pytest.mark.django_db
def test_a_missing_disease_is_created_again(catalogue: dict) -> None:
    catalogue["viral_infections"].delete()

    out = StringIO()
    call_command("load_diseases", stdout=out)

    assert "created viral_infections" in out.getvalue()
    assert Disease.objects.get(class_key="viral_infections").references.count() == 4
    assert Disease.objects.count() == 10


@pytest.mark.django_db
def test_a_broken_content_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "catalogue.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="Cannot read the disease catalogue"):
        call_command("load_diseases", "--path", str(broken), stdout=StringIO())
    assert Disease.objects.count() == 0


@pytest.mark.django_db
def test_invalid_content_is_refused_without_a_partial_load(tmp_path: Path) -> None:
    data = json.loads(CONTENT_PATH.read_text(encoding="utf-8"))
    data["diseases"][3]["en"]["name"] = ""  # Arabic name without the English one
    bad = tmp_path / "catalogue.json"
    bad.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(CommandError, match=r"basal_cell_carcinoma.*name_en"):
        call_command("load_diseases", "--path", str(bad), stdout=StringIO())
    assert Disease.objects.count() == 0
