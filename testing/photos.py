"""Photos for the browser, fault and load tests and the benchmarks: real ones from ../shared,
generated ones, and phone-sized ones made from real ones.

Generated photos look roughly like a close-up of skin with a darker spot (smooth gradients and a
little grain, so they compress and decode like a photograph, not like flat colour). Real ones are
read from ``../shared/data/skin10`` beside the checkout, which only CI and developers have.

A phone photo (``phone_jpeg``) is a real image upscaled to 4000x3000 (bicubic), with a little
luminance noise so that it compresses like a real sensor's picture (about 3 MB at quality 90
instead of 0.7 MB for a perfectly smooth upscale, which would decode unrealistically fast), saved
as JPEG quality 90 with an EXIF orientation tag (6: rotate 90 degrees, as a phone held upright
writes it).
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SKIN10 = (ROOT / ".." / "shared" / "data" / "skin10").resolve()
#: A photo the diagnosis tests use too (HAM10000 melanoma, dermoscopic).
PREFERRED = Path("2. Melanoma") / "ham_ISIC_0024310.jpg"


def shared_photos(limit: int = 40, *, seed: int = 0) -> list[Path]:
    """Up to ``limit`` real photos from skin10, spread over the ten classes ([] when absent)."""
    if not SKIN10.is_dir():
        return []
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    photos: list[Path] = []
    folders = sorted(p for p in SKIN10.iterdir() if p.is_dir())
    per_class = max(1, limit // max(1, len(folders)))
    for folder in folders:
        files = sorted(folder.glob("*.jpg"))
        photos += rng.sample(files, min(per_class, len(files)))
    preferred = SKIN10 / PREFERRED
    if preferred.is_file():
        photos = [preferred, *[p for p in photos if p != preferred]]
    return photos[:limit]


def lesion_photo(size: tuple[int, int] = (800, 600), *, seed: int = 0, quality: int = 90) -> bytes:
    """A JPEG of skin-coloured gradient with a fine skin texture and a dark irregular spot with
    a soft edge in the middle. Its texture scales with the photo, so the quality check sees the
    same sharpness at any size; seeds 2 and 3 are well inside what the shipped model's not-skin
    gate accepts (``mltrain/tests/test_trust.py`` checks it), others may be refused."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    skin = np.array([224, 172, 140], dtype=np.float32) + rng.uniform(-20, 20, 3)
    shade = 1 - 0.15 * (x / width) - 0.1 * (y / height)
    image = skin[None, None, :] * shade[:, :, None]
    pores = gaussian_filter(rng.normal(0, 1, (height, width)).astype(np.float32), min(size) / 300)
    image *= (1 + 0.03 * (pores - pores.mean()) / (pores.std() + 1e-6))[:, :, None]
    cx, cy = width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.6)
    radius = min(width, height) * rng.uniform(0.12, 0.22)
    angle = np.arctan2(y - cy, x - cx)
    wobble = 1 + 0.15 * np.sin(3 * angle + rng.uniform(0, 6)) + 0.08 * np.sin(7 * angle)
    distance = np.hypot(x - cx, y - cy) / (radius * wobble)
    weight = (np.clip((1.15 - distance) / 0.3, 0, 1) * 0.75)[:, :, None]
    spot = np.array([90, 55, 40], dtype=np.float32) + rng.uniform(-15, 15, 3)
    image = image * (1 - weight) + spot * weight
    image += rng.normal(0, 3, image.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def photo_set(count: int, *, prefer_real: bool = True) -> list[bytes]:
    """``count`` JPEG byte strings: real photos when available, else generated ones of
    several sizes (a small one, a laptop-camera one, a downsized phone one)."""
    real = shared_photos(count) if prefer_real else []
    if real:
        return [p.read_bytes() for p in real]
    sizes = [(640, 480), (1024, 768), (1600, 1200)]
    return [lesion_photo(sizes[i % len(sizes)], seed=2 + i % 2) for i in range(count)]


PHONE_SIZE = (4000, 3000)
PHONE_QUALITY = 90
ORIENTATION_TAG = 0x0112
_NOISE_SIGMA = 5.0
_noise_cache: dict[tuple[int, int], np.ndarray] = {}


def _noise(size: tuple[int, int]) -> np.ndarray:
    # One seeded field shared by every photo: the cost that matters is decoding, not variety.
    if size not in _noise_cache:
        rng = np.random.default_rng(12345)
        _noise_cache[size] = rng.normal(0.0, _NOISE_SIGMA, (size[1], size[0], 1)).astype(np.int16)
    return _noise_cache[size]


def phone_jpeg(source: Path, size: tuple[int, int] = PHONE_SIZE, orientation: int = 6) -> bytes:
    """A phone-sized JPEG of ``source`` (see the module docstring)."""
    with Image.open(source) as image:
        big = image.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    noisy = np.asarray(big, dtype=np.int16) + _noise(size)
    picture = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=PHONE_QUALITY, exif=exif)
    return out.getvalue()


def small_jpeg(source: Path, side: int = 224) -> bytes:
    """A ``side`` x ``side`` JPEG (quality 90) of ``source``."""
    with Image.open(source) as image:
        small = image.convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=PHONE_QUALITY)
    return out.getvalue()
