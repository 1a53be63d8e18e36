"""Test photographs made from real skin10 images: 12-megapixel "phone" JPEGs and small ones.

A phone photo is a skin10 image upscaled to 4000x3000 (bicubic), with a little luminance noise
so that it compresses like a real sensor's picture (about 3 MB at quality 90 instead of 0.7 MB
for a perfectly smooth upscale, which would decode unrealistically fast), saved as JPEG quality 90
with an EXIF orientation tag (6: rotate 90 degrees, as a phone held upright writes it). They are
cached under ``bench/out/photos`` because making one takes about half a second.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import out_dir

PHONE_SIZE = (4000, 3000)
PHONE_QUALITY = 90
ORIENTATION_TAG = 0x0112
_NOISE_SIGMA = 5.0


def _noise(size: tuple[int, int]) -> np.ndarray:
    # One seeded field shared by every photo: the cost that matters is decoding, not variety.
    rng = np.random.default_rng(12345)
    return rng.normal(0.0, _NOISE_SIGMA, (size[1], size[0], 1)).astype(np.int16)


_noise_cache: dict[tuple[int, int], np.ndarray] = {}


def phone_jpeg(source: Path, size: tuple[int, int] = PHONE_SIZE, orientation: int = 6) -> bytes:
    """A phone-sized JPEG of ``source`` (see the module docstring)."""
    with Image.open(source) as image:
        big = image.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    if size not in _noise_cache:
        _noise_cache[size] = _noise(size)
    noisy = np.asarray(big, dtype=np.int16) + _noise_cache[size]
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


def cached_phone_jpegs(sources: list[Path], size: tuple[int, int] = PHONE_SIZE) -> list[Path]:
    """Phone JPEGs of ``sources``, made once and kept under ``bench/out/photos/phone-WxH``."""
    folder = out_dir() / "photos" / f"phone-{size[0]}x{size[1]}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for source in sources:
        target = folder / f"{source.parent.name[:2].strip('. ')}-{source.stem}.jpg"
        if not target.is_file():
            part = target.with_name(target.name + ".part")
            part.write_bytes(phone_jpeg(source, size))
            part.replace(target)
        paths.append(target)
    return paths
