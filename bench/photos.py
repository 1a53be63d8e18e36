"""Phone-sized photos of skin10 images (``testing.photos.phone_jpeg``) for the benchmarks,
cached under ``bench/out/photos`` because making one takes about half a second."""

from __future__ import annotations

from pathlib import Path

from bench.common import out_dir
from testing.photos import PHONE_SIZE, phone_jpeg

__all__ = ["PHONE_SIZE", "cached_phone_jpegs"]


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
