"""Serving agrees with itself: draft-mode upload path vs full decode, ONNX vs PyTorch.

The real-image tests need ../shared (skin10 and the ImageNet MobileNetV2 weights) and skip
without it; the synthetic ones below always run.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from PIL import Image, ImageOps

from diagnosis.inference import top_k
from diagnosis.tests import images
from mltrain.ml.predictors import load_predictor
from mltrain.ml.preprocess import preprocess
from skinsite.imaging import validate_image

PER_CLASS = 1  # ten real photos (twenty decodes per path): quick on two cores
#: Probabilities closer than this are a tie: their order is noise, not a changed result.
TIE = 0.02  # classes this close may swap places 2 and 3 (measured: 0.9 points)


def probabilities(predictor: Any, picture: Image.Image) -> np.ndarray:
    manifest = predictor.manifest
    batch = preprocess(
        picture, input_size=manifest.input_size, mean=manifest.mean, std=manifest.std
    )[np.newaxis]
    return np.asarray(predictor.predict_proba(batch)[0])


def predict(predictor: Any, picture: Image.Image) -> list[str]:
    return [
        p["key"] for p in top_k(probabilities(predictor, picture), predictor.manifest.class_keys)
    ]


def full_decode(data: bytes) -> Image.Image:
    """The reference path: decode every pixel, turn upright, RGB."""
    return ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")


def served(data: bytes) -> Image.Image:
    """What the worker sees: the stored copy the validator wrote at upload."""
    return Image.open(io.BytesIO(validate_image(data).content))


def as_phone_photo(path: Path) -> bytes:
    """A skin10 photo blown up to a 12-megapixel-class JPEG, as a phone would send it."""
    small = Image.open(path).convert("RGB")
    scale = 4032 / max(small.size)
    big = small.resize(
        (round(small.width * scale), round(small.height * scale)), Image.Resampling.BICUBIC
    )
    return images.encode(big, "JPEG", quality=92)


@pytest.fixture(scope="module")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped default model when there is one, else ImageNet MobileNetV2 + a seeded head."""
    shipped = sorted(Path(settings.DEFAULT_MODEL_DIR).glob("*/manifest.json"))
    if shipped:
        return shipped[-1].parent
    weights = Path(__file__).resolve().parents[2] / ".." / "shared" / "weights"
    weights = weights / "mobilenet_v2_imagenet.pth"
    if not weights.is_file():
        pytest.skip(f"real data not available: {weights} is absent")
    from testing.artifacts import build_tiny_artifact

    return build_tiny_artifact(
        tmp_path_factory.mktemp("real") / "mobilenet-imagenet-test",
        arch="mobilenet_v2",
        input_size=224,
        weights=weights,
    )


@pytest.fixture(scope="module")
def skin10_photos() -> list[Path]:
    root = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "skin10"
    if not (root / "metadata.csv").is_file():
        pytest.skip(f"real data not available: {root} is absent")
    chosen: dict[str, list[Path]] = {}
    with (root / "metadata.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            picked = chosen.setdefault(row["label"], [])
            if len(picked) < PER_CLASS:
                picked.append(root / row["path"])
    return [path for label in sorted(chosen) for path in chosen[label]]


@pytest.mark.shared_data
def test_the_draft_mode_stored_copy_gives_the_same_top3_as_the_full_decode(
    real_model: Path, skin10_photos: list[Path], shared_dir: Path
) -> None:
    predictor = load_predictor(real_model, backend="onnx")
    order = np.array(predictor.manifest.class_keys)
    for path in skin10_photos:
        for label, data in (("phone", as_phone_photo(path)), ("original", path.read_bytes())):
            reference = probabilities(predictor, full_decode(data))
            ours = probabilities(predictor, served(data))
            where = f"{path.name} ({label})"
            # Re-encoding the stored copy moves percentages a little (measured: up to 3 points).
            assert np.abs(reference - ours).max() <= 0.05, where
            ranked_ref = order[np.argsort(-reference)[:3]]
            ranked_ours = order[np.argsort(-ours)[:3]]
            assert ranked_ref[0] == ranked_ours[0], f"{where}: the top class changed"
            # Below first place, only near-ties may change places or swap in and out.
            third = np.sort(reference)[-3]
            for key in ranked_ours:
                assert reference[list(order).index(key)] >= third - TIE, (
                    f"{where}: {list(ranked_ref)} != {list(ranked_ours)}"
                )


@pytest.mark.shared_data
def test_onnx_and_pytorch_give_the_same_top3_on_real_photos(
    real_model: Path, skin10_photos: list[Path], shared_dir: Path
) -> None:
    onnx = load_predictor(real_model, backend="onnx")
    torch = load_predictor(real_model, backend="torch")
    for path in skin10_photos:
        picture = served(path.read_bytes())
        assert predict(onnx, picture) == predict(torch, picture), path.name


def test_onnx_and_pytorch_give_the_same_top3_on_the_tiny_artifact(tiny_artifact: Path) -> None:
    onnx = load_predictor(tiny_artifact, backend="onnx")
    torch = load_predictor(tiny_artifact, backend="torch")
    rng = np.random.default_rng(1)
    for _ in range(8):
        noise = rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)
        picture = served(images.encode(Image.fromarray(noise), "PNG"))
        assert predict(onnx, picture) == predict(torch, picture)


def test_the_stored_copy_of_a_phone_photo_keeps_the_top3_of_the_full_decode(
    tiny_artifact: Path,
) -> None:
    predictor = load_predictor(tiny_artifact, backend="onnx")
    for size in ((4032, 3024), (3024, 4032), (2048, 1536)):
        data = images.jpeg(size)
        assert predict(predictor, served(data)) == predict(predictor, full_decode(data))


def test_top_k_orders_by_probability_and_keeps_the_keys() -> None:
    keys = ("a", "b", "c", "d")
    assert top_k(np.array([0.1, 0.5, 0.15, 0.25]), keys) == [
        {"key": "b", "probability": 0.5},
        {"key": "d", "probability": 0.25},
        {"key": "c", "probability": 0.15},
    ]
