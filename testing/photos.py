"""Photos for the browser, fault and load tests: real ones from ../shared, or generated ones.

Generated photos look roughly like a close-up of skin with a darker spot (smooth gradients and a
little grain, so they compress and decode like a photograph, not like flat colour). Real ones are
read from ``../shared/data/skin10`` beside the checkout, which only CI and developers have.
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
