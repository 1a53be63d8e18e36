"""Phone-photo augmentations: deterministic under a seed, outputs in range, doing what they say."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mltrain.ml import augment
from mltrain.ml.config import TrainConfig
from mltrain.ml.transforms import BatchColourJitter, batch_transform, train_transform

PER_IMAGE = {
    "jpeg": lambda: augment.RandomJpeg(p=1.0),
    "defocus": lambda: augment.Defocus(p=1.0),
    "motion_blur": lambda: augment.MotionBlur(p=1.0),
    "rescale": lambda: augment.Rescale(p=1.0),
    "perspective": lambda: augment.Perspective(p=1.0),
    "safe_crop": lambda: augment.CornerSafeCrop(32),
}


@pytest.fixture
def photo() -> Image.Image:
    """A small photo with edges and texture (blur and compression have something to remove)."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (40, 48, 3)).astype(np.float64)
    pixels[:, :24] = pixels[:, :24] * 0.3 + 160  # a bright half and a sharp edge
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def _run(name: str, image: Image.Image, seed: int) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    return np.asarray(PER_IMAGE[name]()(image, generator))


@pytest.mark.parametrize("name", sorted(PER_IMAGE))
def test_each_per_image_augmentation_is_deterministic_under_a_seed(name: str, photo):
    first, again, other = _run(name, photo, 1), _run(name, photo, 1), _run(name, photo, 2)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3
    expected = (32, 32) if name == "safe_crop" else (photo.height, photo.width)
    assert first.shape[:2] == expected


def _sharpness(image: np.ndarray) -> float:
    grey = image.astype(np.float64).mean(axis=2)
    return float(np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean())


@pytest.mark.parametrize("name", ["defocus", "motion_blur", "rescale", "jpeg"])
def test_degradations_change_detail_but_keep_the_picture(name: str, photo):
    before = np.asarray(photo)
    after = _run(name, photo, 3)
    if name != "jpeg":  # compression adds block edges to pure noise rather than smoothing it
        assert _sharpness(after) < 0.9 * _sharpness(before)
    assert np.abs(after.astype(int) - before).mean() > 2
    # The bright half stays bright: the picture is degraded, not replaced.
    assert abs(after[:, :20].mean() - before[:, :20].mean()) < 12


def test_off_means_untouched(photo):
    generator = torch.Generator().manual_seed(0)
    for make in (augment.RandomJpeg, augment.Defocus, augment.MotionBlur, augment.Rescale):
        assert make(p=0.0)(photo, generator) is photo


def test_the_motion_kernel_is_a_normalised_line():
    kernel = augment.motion_kernel(7, 0.0)
    assert float(kernel.sum()) == pytest.approx(1.0)
    assert torch.count_nonzero(kernel[3]) == 7 and torch.count_nonzero(kernel) == 7
    diagonal = augment.motion_kernel(5, np.pi / 4)
    across = float(diagonal.flip(1).diagonal().sum() - diagonal[2, 2])  # the other diagonal
    assert float(diagonal.diagonal().sum()) > 5 * across
    assert torch.allclose(diagonal, diagonal.flip(0, 1))  # centred: the blur does not shift


def test_safe_crops_usually_leave_out_the_corners():
    crop = augment.CornerSafeCrop(32, margin=0.12, p_safe=1.0)
    generator = torch.Generator().manual_seed(4)
    boxes = [crop.box(320, 240, generator) for _ in range(300)]
    for left, top, w, h in boxes:
        assert left >= 0 and top >= 0 and left + w <= 320 and top + h <= 240
        assert not augment._touches_a_corner(left, top, w, h, 320, 240, 38.4, 28.8)
    any_crop = augment.CornerSafeCrop(32, p_safe=0.0)
    touching = sum(
        augment._touches_a_corner(*any_crop.box(320, 240, generator), 320, 240, 38.4, 28.8)
        for _ in range(300)
    )
    assert touching > 30  # without the rule, corners are often in the crop


def test_perspective_moves_the_corners_inward(photo):
    bright = Image.new("RGB", (60, 60), (200, 200, 200))
    out = np.asarray(augment.Perspective(p=1.0, distortion=0.2)(bright, torch.Generator()))
    assert out[30, 30].tolist() == [200, 200, 200]
    assert (out[[0, 0, -1, -1], [0, -1, 0, -1]] < 200).any()  # some corner shows the fill


def _batch() -> torch.Tensor:
    generator = torch.Generator().manual_seed(5)
    return torch.randint(0, 256, (6, 3, 16, 16), generator=generator, dtype=torch.uint8)


def _stage(**phone: float) -> BatchColourJitter:
    return BatchColourJitter(
        brightness=0.3, contrast=0.3, saturation=0.25, hue=0.03, greyscale_p=0.05,
        mean=(0.5,) * 3, std=(0.5,) * 3, **phone,
    )  # fmt: skip


def test_the_batch_phone_options_are_deterministic_and_in_range():
    images = _batch()
    stage = _stage(white_balance=0.15, exposure=0.5, noise=0.04)
    first = stage(images.clone(), torch.Generator().manual_seed(1))
    again = stage(images.clone(), torch.Generator().manual_seed(1))
    other = stage(images.clone(), torch.Generator().manual_seed(2))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.min() >= -1.0 and first.max() <= 1.0  # [0, 1] normalised with 0.5 / 0.5
    assert torch.isfinite(first).all()


def test_the_batch_phone_options_off_leave_the_colour_stage_as_it_was():
    images = _batch()
    old = batch_transform("strong", (0.5,) * 3, (0.5,) * 3)
    new = batch_transform("strong", (0.5,) * 3, (0.5,) * 3, phone=("jpeg",))
    assert old is not None and new is not None
    a = old(images.clone(), torch.Generator().manual_seed(3))
    b = new(images.clone(), torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_white_balance_moves_red_against_blue():
    grey = torch.full((64, 3, 4, 4), 128, dtype=torch.uint8)
    neutral = BatchColourJitter(brightness=0, contrast=0, saturation=0, hue=0, greyscale_p=0,
                                mean=(0.0,) * 3, std=(1.0,) * 3, white_balance=0.15)  # fmt: skip
    out = neutral(grey, torch.Generator().manual_seed(0)).mean(dim=(2, 3))
    red_over_blue = out[:, 0] / out[:, 2]
    assert red_over_blue.min() < 0.85 and red_over_blue.max() > 1.15
    assert red_over_blue.max() < 1.36  # within exp(2 * 0.15)


def test_noise_is_zero_mean_and_bounded():
    grey = torch.full((8, 3, 32, 32), 128, dtype=torch.uint8)
    stage = BatchColourJitter(brightness=0, contrast=0, saturation=0, hue=0, greyscale_p=0,
                              mean=(0.0,) * 3, std=(1.0,) * 3, noise=0.04)  # fmt: skip
    out = stage(grey, torch.Generator().manual_seed(0))
    assert abs(float(out.mean()) - 128 / 255) < 0.005
    assert 0.002 < float(out.std()) < 0.04


def test_the_strong_transform_with_every_phone_augmentation_gives_a_uint8_tensor(photo):
    transform = train_transform("strong", 32, (0.5,) * 3, (0.5,) * 3, augment.PER_IMAGE)
    torch.manual_seed(0)
    first = transform(photo)
    torch.manual_seed(0)
    assert torch.equal(first, transform(photo))
    assert first.dtype == torch.uint8 and first.shape == (3, 32, 32)


def test_the_config_refuses_unknown_or_misplaced_phone_augmentations():
    assert TrainConfig(augment="strong", phone_augment=["jpeg"]).phone_augment == ("jpeg",)
    with pytest.raises(ValueError, match="blurry"):
        TrainConfig(augment="strong", phone_augment=("blurry",))
    with pytest.raises(ValueError, match="augment strong"):
        TrainConfig(augment="reference", phone_augment=("jpeg",))
    saved = TrainConfig(augment="strong", phone_augment=("noise",)).to_dict()
    assert TrainConfig.from_dict(saved).phone_augment == ("noise",)


def test_a_run_with_every_phone_augmentation_trains_and_records_them(manifest_data, tmp_path):
    from mltrain.tests.conftest import train_tiny

    names = augment.PHONE_AUGMENTATIONS
    outcome = train_tiny(manifest_data, tmp_path, augment="strong", phone_augment=names)
    assert len(outcome.result.history) == 1
    assert outcome.metrics["training"]["config"]["phone_augment"] == list(names)
