"""Tiny generated image sets: a few small JPEGs per class, coloured so a model can learn them."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mltrain.ml.classes import CLASS_KEYS

KAGGLE_FOLDERS = (
    "1. Eczema 1677",
    "2. Melanoma 15.75k",
    "3. Atopic Dermatitis - 1.25k",
    "4. Basal Cell Carcinoma (BCC) 3323",
    "5. Melanocytic Nevi (NV) - 7970",
    "6. Benign Keratosis-like Lesions (BKL) 2624",
    "7. Psoriasis pictures Lichen Planus and related diseases - 2k",
    "8. Seborrheic Keratoses and other Benign Tumors - 1.8k",
    "9. Tinea Ringworm Candidiasis and other Fungal Infections - 1.7k",
    "10. Warts Molluscum and other Viral Infections - 2103",
)
SHARED_DIR = Path(__file__).resolve().parents[2] / ".." / "shared"


def make_image(label: int, index: int, size: int = 24) -> Image.Image:
    rng = np.random.default_rng(label * 1000 + index)
    hue = np.array([(label * 37) % 255, (label * 91 + 40) % 255, (label * 53 + 90) % 255])
    pixels = hue + rng.normal(0, 18, (size, size + 4, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def write_folder_dataset(root: Path, per_class: int = 4, classes: int = 10) -> Path:
    for label in range(classes):
        folder = root / KAGGLE_FOLDERS[label]
        folder.mkdir(parents=True)
        for i in range(per_class):
            make_image(label, i).save(folder / f"img_{i}.jpg", quality=92)
    return root


def write_manifest_dataset(root: Path, per_class: int = 6, per_group: int = 2) -> Path:
    """Images plus ``manifest.csv`` with group_id (``per_group`` photos per lesion) and source."""
    (root / "images").mkdir(parents=True)
    rows = []
    for label, key in enumerate(CLASS_KEYS):
        for i in range(per_class):
            name = f"images/{key}_{i}.jpg"
            make_image(label, i).save(root / name, quality=92)
            rows.append(
                {
                    "path": name,
                    "label": key if i % 2 else str(label),
                    "group_id": f"{key}-lesion-{i // per_group}",
                    "source": "ham" if i % 3 else "dermnet",
                }
            )
    with (root / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "group_id", "source"])
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.fixture
def folder_data(tmp_path: Path) -> Path:
    return write_folder_dataset(tmp_path / "folders")


@pytest.fixture
def manifest_data(tmp_path: Path) -> Path:
    return write_manifest_dataset(tmp_path / "manifest")


@pytest.fixture
def shared_skin10() -> Path:
    skin10 = SHARED_DIR / "data" / "skin10"
    if not (skin10 / "metadata.csv").is_file():
        pytest.skip(f"real data not available: {skin10} is absent (only CI and developers have it)")
    return skin10


def tiny_config(arch: str = "custom_cnn", **overrides):
    from mltrain.ml.config import TrainConfig

    values = {"arch": arch, "epochs": 1, "batch_size": 8, "input_size": 32, "patience": 5}
    values.update(overrides)
    return TrainConfig(**values)


def tiny_train_val_sets(data: Path):
    """The training and validation parts of a tiny data set, as the engine's tests train on."""
    from mltrain.ml.data import ImageDataset, load_dataset
    from mltrain.ml.split import apply_split, make_split
    from mltrain.ml.transforms import EvalTransform, train_transform

    listing = load_dataset(data)
    parts = apply_split(listing, make_split(listing, seed=1))
    config = tiny_config()
    return (
        ImageDataset(parts["train"], train_transform("reference", 32, config.mean, config.std)),
        ImageDataset(parts["val"], EvalTransform(32, config.mean, config.std)),
    )


def train_tiny(data: Path, out: Path, arch: str = "custom_cnn", version: str = "v1", **overrides):
    from mltrain.ml.architectures import build_model
    from mltrain.ml.pipeline import RunOptions, run_training
    from mltrain.ml.roots import as_roots, load_roots

    config = tiny_config(arch, **overrides)
    return run_training(
        listing=load_roots(as_roots(data)),
        model=build_model(config.arch, num_classes=len(CLASS_KEYS), weights="none"),
        config=config,
        options=RunOptions(
            output_root=out,
            version=version,
            log=lambda _msg: None,
            progress=False,
            latency_repeats=0,
        ),
    )


@pytest.fixture(scope="session")
def tiny_sources(tmp_path_factory) -> tuple[Path, Path]:
    """Two tiny trained artifacts (different weights), trained once per test session."""
    data = write_manifest_dataset(tmp_path_factory.mktemp("source-data") / "data")
    out = tmp_path_factory.mktemp("source-models")
    first = train_tiny(data, out, version="source-a").manifest.path
    second = train_tiny(data, out, version="source-b", seed=7).manifest.path
    return first, second


def copy_artifact(source: Path, root: Path, version: str) -> Path:
    """A copy of an artifact under another version name (the manifest is not in ``files``)."""
    import json
    import shutil

    target = root / version
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["version"] = version
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target
