"""The one definition of "too poor to judge": each check, its order, and its limits on real
photos (false refusals) and on degraded copies of them (catches)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from mltrain.ml import quality
from mltrain.ml.quality import QualityIssue
from testing.photos import lesion_photo

MIN_SIDE = quality.min_side_for(160)


def photo(size: tuple[int, int] = (800, 600), seed: int = 2) -> Image.Image:
    return Image.open(io.BytesIO(lesion_photo(size, seed=seed))).convert("RGB")


def test_a_sharp_well_lit_photo_passes() -> None:
    report = quality.assess(photo(), min_side=MIN_SIDE)
    assert report.acceptable and report.issue is None
    assert report.sharpness > quality.BLUR_VARIANCE


def test_the_too_small_limit_is_three_quarters_of_the_model_input() -> None:
    assert MIN_SIDE == 120
    assert quality.assess(photo((160, 119)), min_side=MIN_SIDE).issue is QualityIssue.TOO_SMALL
    assert quality.assess(photo((160, 120)), min_side=MIN_SIDE).issue is None


def test_the_size_the_person_sent_decides_smallness_not_the_working_copy() -> None:
    small_copy = photo((400, 300))
    report = quality.assess(small_copy, min_side=MIN_SIDE, original_size=(100, 80))
    assert report.issue is QualityIssue.TOO_SMALL and report.short_side == 80


@pytest.mark.parametrize(
    ("degrade", "issue"),
    [
        (lambda im: ImageEnhance.Brightness(im).enhance(0.15), QualityIssue.TOO_DARK),
        (lambda im: ImageEnhance.Brightness(im).enhance(3.0), QualityIssue.OVEREXPOSED),
        (lambda im: im.filter(ImageFilter.GaussianBlur(6)), QualityIssue.BLURRED),
        (lambda im: Image.new("RGB", im.size, (200, 150, 120)), QualityIssue.BLURRED),
        (lambda im: Image.new("RGB", im.size, (0, 0, 0)), QualityIssue.TOO_DARK),
    ],
    ids=["darkened", "overexposed", "blurred", "flat-colour", "black"],
)
def test_each_degradation_is_named(degrade, issue: QualityIssue) -> None:
    assert quality.assess(degrade(photo()), min_side=MIN_SIDE).issue is issue


def test_darkness_is_named_before_blur() -> None:
    dark_and_blurred = ImageEnhance.Brightness(photo().filter(ImageFilter.GaussianBlur(6)))
    report = quality.assess(dark_and_blurred.enhance(0.1), min_side=MIN_SIDE)
    assert report.issue is QualityIssue.TOO_DARK


def test_a_phone_sized_photo_and_its_small_copy_measure_alike() -> None:
    big = photo((4000, 3000))
    small = big.resize((1000, 750), Image.Resampling.BILINEAR)
    a = quality.grey_for_analysis(big)
    b = quality.grey_for_analysis(small)
    assert a.shape == b.shape == (256, 341)
    assert abs(quality.laplacian_variance(a) - quality.laplacian_variance(b)) < 0.5 * max(
        quality.laplacian_variance(a), 1
    )


def test_the_laplacian_of_a_flat_image_is_zero_and_of_a_checkerboard_large() -> None:
    assert quality.laplacian_variance(np.full((50, 50), 120, np.float32)) == 0.0
    checker = (np.indices((50, 50)).sum(axis=0) % 2 * 255).astype(np.float32)
    assert quality.laplacian_variance(checker) > 1000
    assert quality.laplacian_variance(np.zeros((2, 2), np.float32)) == 0.0


def test_the_browser_gets_the_same_limits() -> None:
    limits = quality.limits(MIN_SIDE)
    assert limits == {
        "minSide": 120,
        "analysisSide": quality.ANALYSIS_SIDE,
        "darkMean": quality.DARK_MEAN,
        "overexposedShare": quality.OVEREXPOSED_SHARE,
        "clippedLevel": quality.CLIPPED_LEVEL,
        "blurVariance": quality.BLUR_VARIANCE,
    }


def _test_photos(shared_dir: Path) -> list[Path]:
    import csv

    from mltrain.ml.split import load_split

    model = Path(__file__).resolve().parents[1] / "default_model"
    split = next(model.glob("*/split.json"))
    root = shared_dir / "data" / "skin10"
    names = load_split(split)["test"]
    extra = shared_dir / "data" / "clinical-extra"
    with (extra / "metadata.csv").open(encoding="utf-8") as handle:
        extra_paths = [extra / row["path"] for row in csv.DictReader(handle)]
    return [root / name for name in names] + extra_paths


def test_real_photos_are_rarely_refused_and_their_degraded_copies_are_caught(
    shared_dir: Path,
) -> None:
    paths = _test_photos(shared_dir)[::4]  # every fourth: about 550 photos, a few seconds
    refused = caught_blur = caught_dark = 0
    for path in paths:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
        refused += not quality.assess(rgb, min_side=MIN_SIDE).acceptable
        blurred = rgb.filter(ImageFilter.GaussianBlur(4))
        caught_blur += quality.assess(blurred, min_side=MIN_SIDE).issue is QualityIssue.BLURRED
        dark = ImageEnhance.Brightness(rgb).enhance(0.15)
        caught_dark += quality.assess(dark, min_side=MIN_SIDE).issue is QualityIssue.TOO_DARK
    assert refused / len(paths) <= 0.02
    assert caught_blur / len(paths) >= 0.95
    assert caught_dark / len(paths) >= 0.95
