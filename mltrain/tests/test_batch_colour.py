"""The batched colour augmentation of the ``strong`` recipe, and training through it."""

from __future__ import annotations

from pathlib import Path

import torch

from mltrain.ml.transforms import BatchColourJitter, batch_transform, train_transform

LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def jitter(**strengths: float) -> BatchColourJitter:
    values = {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "hue": 0.0,
              "greyscale_p": 0.0, **strengths}  # fmt: skip
    return BatchColourJitter(**values, mean=(0.0,) * 3, std=(1.0,) * 3)


def mid_tones(n: int = 6, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(70, 180, (n, 3, 8, 10), dtype=torch.uint8, generator=generator)


def test_without_jitter_it_only_scales_and_normalises():
    images = mid_tones()
    stage = BatchColourJitter(brightness=0, contrast=0, saturation=0, hue=0, greyscale_p=0,
                              mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))  # fmt: skip
    expected = (images.float() / 255 - torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)) / (
        torch.tensor([0.2, 0.25, 0.3]).view(1, 3, 1, 1)
    )
    torch.testing.assert_close(stage(images), expected, rtol=0, atol=1e-5)


def test_brightness_scales_each_image_by_one_factor_within_its_range():
    images = mid_tones(n=32)
    out = jitter(brightness=0.3)(images, torch.Generator().manual_seed(1))
    ratio = out / (images.float() / 255)
    per_image = ratio.flatten(1)
    torch.testing.assert_close(per_image.min(1).values, per_image.max(1).values, atol=1e-4, rtol=0)
    assert per_image.min() >= 0.7 - 1e-4 and per_image.max() <= 1.3 + 1e-4
    assert per_image[:, 0].std() > 0.05  # the factor differs from image to image


def test_a_hue_shift_keeps_the_luma_and_changes_the_colour():
    images = mid_tones()
    out = jitter(hue=0.5)(images, torch.Generator().manual_seed(2))
    before = images.float() / 255
    torch.testing.assert_close((out * LUMA).sum(1), (before * LUMA).sum(1), atol=2e-3, rtol=0)
    assert (out - before).abs().max() > 0.05


def test_greyscale_makes_the_three_channels_equal_to_the_luma():
    images = mid_tones()
    out = jitter(greyscale_p=1.0)(images)
    luma = (images.float() / 255 * LUMA).sum(1)
    for channel in range(3):
        torch.testing.assert_close(out[:, channel], luma, atol=1e-5, rtol=0)


def test_contrast_and_saturation_keep_a_grey_image_grey_and_values_in_range():
    grey = torch.full((4, 3, 6, 6), 128, dtype=torch.uint8)
    out = jitter(contrast=0.3, saturation=0.25)(grey, torch.Generator().manual_seed(3))
    torch.testing.assert_close(out, torch.full_like(out, 128 / 255), atol=1e-5, rtol=0)
    wild = jitter(brightness=0.3, contrast=0.3, saturation=0.25, hue=0.03, greyscale_p=0.05)
    images = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    out = wild(images, torch.Generator().manual_seed(4))
    assert out.min() >= 0 and out.max() <= 1


def test_the_same_seed_gives_the_same_batch():
    stage = batch_transform("strong", (0.5,) * 3, (0.5,) * 3)
    assert stage is not None
    images = mid_tones()
    first = stage(images, torch.Generator().manual_seed(5))
    again = stage(images, torch.Generator().manual_seed(5))
    other = stage(images, torch.Generator().manual_seed(6))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_only_the_strong_recipe_has_a_batch_stage_and_its_images_stay_uint8():
    assert batch_transform("reference", (0.5,) * 3, (0.5,) * 3) is None
    assert batch_transform("none", (0.5,) * 3, (0.5,) * 3) is None
    from PIL import Image

    out = train_transform("strong", 48, (0.5,) * 3, (0.5,) * 3)(Image.new("RGB", (90, 70)))
    assert out.dtype == torch.uint8 and tuple(out.shape) == (3, 48, 48)


def test_the_strong_recipe_trains_and_its_artifact_predicts(manifest_data: Path, tmp_path):
    from mltrain.tests.conftest import train_tiny

    outcome = train_tiny(manifest_data, tmp_path, augment="strong", epochs=2)
    assert len(outcome.result.history) == 2
    assert all(row["train_loss"] > 0 for row in outcome.result.history)
    assert outcome.metrics["test"]["count"] > 0
