from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from mltrain.models import ModelVersion, TrainingRun


@pytest.mark.django_db
def test_train_all_compares_architectures_on_one_split(manifest_data: Path, settings):
    out = io.StringIO()
    call_command(
        "train_all", "--data", str(manifest_data), "--arches", "custom_cnn", "resnet18",
        "--prefix", "cmp", "--epochs", "1", "--input-size", "32", "--batch-size", "8",
        "--no-progress", stdout=out,
    )  # fmt: skip
    table = settings.MODELS_DIR / "cmp-comparison"
    rows = list(csv.DictReader((table / "comparison.csv").open()))
    assert [r["arch"] for r in rows] == ["custom_cnn", "resnet18"]
    assert all(r["weights"] == "scratch" and r["accuracy"] for r in rows)
    assert "| custom_cnn |" in (table / "comparison.md").read_text()
    assert (table / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert TrainingRun.objects.filter(status="succeeded").count() == 2
    assert not ModelVersion.objects.filter(is_active=True).exists()
    # Both models were tested on the same images.
    tests = {(Path(v.path) / "split.json").read_text() for v in ModelVersion.objects.all()}
    assert len(tests) == 1
