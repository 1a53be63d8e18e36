"""Watermark neutralisation: the mark is estimated, pasted where it equalises classes, and only
during training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mltrain.ml.data import ImageDataset, ImageRecord
from mltrain.ml.watermark import (
    Watermark,
    WatermarkedDataset,
    estimate_watermark,
    paste_probabilities,
    training_set,
)
from mltrain.tests.conftest import SHARED_DIR

SIZE = (80, 120)  # height, width of the synthetic photos; the longer side is 120


def true_mark() -> Watermark:
    """A bar with two strokes, white, 35% opaque, 20 x 70 px at the centre of 120 px photos."""
    alpha = np.zeros((20, 70), dtype=np.float32)
    alpha[8:12, 5:65] = 0.35
    alpha[3:17, 20:24] = alpha[3:17, 45:49] = 0.35
    colour = np.full((20, 70, 3), 240, dtype=np.float32)
    return Watermark(alpha=alpha, colour=colour, long_side=120)


def scene(seed: int) -> Image.Image:
    """A photo-like scene: a smooth random colour gradient plus texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : SIZE[0], 0 : SIZE[1]] / 100
    base = rng.uniform(40, 200, 3) + rng.uniform(-60, 60, 3) * (x + y)[..., None]
    pixels = base + rng.normal(0, 20, (*SIZE, 3))
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


@pytest.fixture
def marked_photos(tmp_path: Path) -> list[Path]:
    paths = []
    for i in range(60):
        path = tmp_path / f"marked_{i}.png"
        true_mark().paste(scene(i)).save(path)
        paths.append(path)
    return paths


def test_the_mark_is_recovered_from_photos_that_carry_it(marked_photos):
    estimate = estimate_watermark(marked_photos, window=(30, 90))
    truth = np.zeros((30, 90))
    truth[5:25, 10:80] = true_mark().alpha
    correlation = np.corrcoef(estimate.alpha.ravel(), truth.ravel())[0, 1]
    assert correlation > 0.9
    assert 0.25 < float(estimate.alpha.max()) < 0.45
    assert float(estimate.colour[estimate.alpha > 0.2].mean()) > 200  # a white mark
    assert float(estimate.alpha[:4].max()) == 0.0  # nothing above the mark


def test_too_few_photos_cannot_give_a_mark(marked_photos):
    with pytest.raises(ValueError, match="too few"):
        estimate_watermark(marked_photos[:5], window=(30, 90))


def _records() -> list[ImageRecord]:
    records = []
    for label, source, n in [
        (0, "dermnet", 10), (0, "dermnetcom", 30),
        (1, "dermnet", 20), (1, "ham", 30),
        (2, "fitz17k", 8), (2, "dermnetcom", 2),
    ]:  # fmt: skip
        records += [ImageRecord(Path(f"{source}{label}_{i}.jpg"), label, f"{source}{label}{i}",
                                source) for i in range(n)]  # fmt: skip
    return records


def test_pasting_gives_every_class_the_same_share_of_marked_clinical_photos():
    records = _records()
    chances, shares = paste_probabilities(records)
    assert shares["target"] == pytest.approx(0.75)
    for label in (0, 1, 2):
        clinical = [(r, p) for r, p in zip(records, chances, strict=True)
                    if r.label == label and r.photo_type == "clinical"]  # fmt: skip
        expected = sum((1.0 if r.source == "dermnetcom" else p) for r, p in clinical)
        assert expected / len(clinical) == pytest.approx(0.75)
    by_source = {(r.label, r.source): p for r, p in zip(records, chances, strict=True)}
    assert by_source[(1, "ham")] == 0.0  # dermoscopic photos are left alone
    assert by_source[(0, "dermnetcom")] == 0.0  # already marked
    assert by_source[(1, "dermnet")] == pytest.approx(0.75)


def test_the_dataset_pastes_at_its_rate_and_only_in_the_centre(tmp_path: Path):
    path = tmp_path / "clean.png"
    scene(1).save(path)
    records = [ImageRecord(path, 1, "g", "dermnet")] * 200
    dataset = WatermarkedDataset(records, np.asarray, true_mark(), [0.3] * 200)
    clean = np.asarray(Image.open(path).convert("RGB"))
    torch.manual_seed(0)
    pasted = [not np.array_equal(dataset[i][0], clean) for i in range(200)]
    assert 0.2 < np.mean(pasted) < 0.4
    torch.manual_seed(0)
    assert [not np.array_equal(dataset[i][0], clean) for i in range(200)] == pasted
    one = dataset.watermark.paste(Image.open(path))
    changed = np.argwhere(np.any(np.asarray(one) != clean, axis=2))
    assert changed[:, 0].min() >= 30 and changed[:, 0].max() < 50  # rows 30-49: the centre
    assert changed[:, 1].min() >= 25 and changed[:, 1].max() < 95


def test_a_training_set_without_marked_photos_is_left_as_it_was(marked_photos, tmp_path):
    clean = [ImageRecord(tmp_path / "a.jpg", 0, "a", "dermnet")]
    assert type(training_set(clean, np.asarray)) is ImageDataset
    marked = [ImageRecord(p, 0, p.name, "dermnetcom") for p in marked_photos]
    lines: list[str] = []
    plain = training_set(marked + clean, np.asarray, neutralise=False, log=lines.append)
    assert type(plain) is ImageDataset and "no neutralisation" in lines[0]


def test_the_real_dermnet_com_mark_is_found_at_the_centre():
    folder = SHARED_DIR / "data" / "dermnet-com"
    if not (folder / "metadata.csv").is_file():
        pytest.skip(f"real data not available: {folder} is absent (only CI and developers have it)")
    paths = sorted(folder.glob("*/*.jpg"))
    mark = estimate_watermark(paths, limit=300)
    rows = mark.alpha.max(axis=1)
    assert rows.max() > 0.2  # a clear mark ...
    assert rows[:8].max() < 0.1 and rows[-8:].max() < 0.1  # ... in a band across the centre


def test_a_run_with_a_marked_train_only_root_pastes_its_mark_and_never_tests_on_it(
    manifest_data: Path, tmp_path: Path
):
    import csv

    from mltrain.ml.architectures import build_model
    from mltrain.ml.pipeline import RunOptions, run_training
    from mltrain.ml.roots import data_roots, load_roots
    from mltrain.tests.conftest import tiny_config

    marked = tmp_path / "marked"
    (marked / "1. Eczema").mkdir(parents=True)
    rows = []
    for i in range(24):
        photo = scene(i).resize((208, 140))
        name = f"1. Eczema/dermnetcom_{i}.jpg"
        true_mark().paste(photo).save(marked / name, quality=92)
        rows.append({"path": name, "label": "0", "source": "dermnetcom", "group_id": f"m{i}"})
    with (marked / "metadata.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines: list[str] = []
    outcome = run_training(
        listing=load_roots(data_roots([manifest_data], [marked])),
        model=build_model("custom_cnn"), config=tiny_config(),
        options=RunOptions(output_root=tmp_path / "models", version="wm", log=lines.append,
                           progress=False, latency_repeats=0),
    )  # fmt: skip
    assert any(line.startswith("watermark: 24 marked photos") for line in lines)
    split = outcome.split
    assert sum(n.startswith("marked/") for n in split["train"]) == 24
    assert not any(n.startswith("marked/") for n in split["val"] + split["test"])
    assert outcome.metrics["split"]["roots"][1]["role"] == "train_only"
