"""Smoke tests on real images from ../shared/data/skin10 (skipped when it is absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mltrain.ml.data import load_dataset
from mltrain.ml.predictors import load_predictor
from mltrain.ml.preprocess import preprocess
from mltrain.tests.conftest import train_tiny

pytestmark = pytest.mark.shared_data
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "default_model"


def _subset(skin10: Path, target: Path, per_class: int) -> Path:
    """A manifest of the first ``per_class`` images of each (class, source) (absolute paths)."""
    rows, seen = [], {}
    with (skin10 / "metadata.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            cell = (row["label"], row["source"])
            if seen.get(cell, 0) < per_class:
                seen[cell] = seen.get(cell, 0) + 1
                rows.append({**row, "path": str(skin10 / row["path"])})
    target.mkdir(parents=True, exist_ok=True)
    with (target / "subset.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target / "subset.csv"


def test_skin10_metadata_is_read_with_groups_and_sources(shared_skin10: Path, tmp_path: Path):
    listing = load_dataset(_subset(shared_skin10, tmp_path, 3))
    # skin10 has 18 (class, source) cells: 5 HAM10000, 3 ISIC and 10 DermNet NZ.
    assert len(listing.records) == 18 * 3
    assert not listing.skipped
    assert {r.photo_type for r in listing.records} == {"dermoscopic", "clinical"}


def test_a_small_real_subset_trains_end_to_end(shared_skin10: Path, tmp_path: Path):
    outcome = train_tiny(_subset(shared_skin10, tmp_path, 5), tmp_path / "models", input_size=48)
    test = outcome.metrics["test"]
    assert test["count"] > 0
    assert "clinical" in test["by_photo_type"]
    assert outcome.manifest.files["model.onnx"] == outcome.manifest.sha256


def test_the_shipped_default_model_classifies_real_test_images(shared_skin10: Path):
    folders = sorted(DEFAULT_MODEL_DIR.glob("*/manifest.json"))
    if not folders:
        pytest.skip("no default model is shipped in mltrain/default_model/")
    predictor = load_predictor(folders[-1].parent, backend="onnx")
    manifest = predictor.manifest
    split = __import__("json").loads((manifest.path / "split.json").read_text())
    listing = {r.path: r for r in load_dataset(shared_skin10 / "metadata.csv", check=False).records}
    chosen = [listing[shared_skin10 / p] for p in split["test"][::25]][:60]
    batch = []
    for record in chosen:
        with Image.open(record.path) as image:
            batch.append(preprocess(image, input_size=manifest.input_size, mean=manifest.mean,
                                    std=manifest.std))  # fmt: skip
    probs = predictor.predict_proba(np.stack(batch))
    accuracy = float((probs.argmax(1) == np.array([r.label for r in chosen])).mean())
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert accuracy > 0.5, f"the default model got {accuracy:.2f} on {len(chosen)} test images"
