"""Builders of test pictures, good and bad, in memory (nothing is read from disk)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()


def picture(size: tuple[int, int] = (320, 240), mode: str = "RGB") -> Image.Image:
    """A photo-like gradient with a fine texture (compresses like a photo, unlike noise, and is
    sharp enough for the quality check: a bare gradient is refused as blurred)."""
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    texture = (
        24
        * np.sin(np.arange(width, dtype=np.float32) / 1.5)[None, :]
        * np.sin(np.arange(height, dtype=np.float32) / 1.5)[:, None]
    )
    rgb = np.clip(
        np.stack(
            [
                np.broadcast_to(x, (height, width)) * 0.8 + 25 + texture,
                np.broadcast_to(y, (height, width)) * 0.8 + 25 + texture,
                np.full((height, width), 128, dtype=np.float32) + texture,
            ],
            axis=-1,
        ),
        0,
        255,
    ).astype(np.uint8)
    img = Image.fromarray(rgb)
    return img if mode == "RGB" else img.convert(mode)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (320, 240), **params: object) -> bytes:
    return encode(picture(size), "JPEG", quality=90, **params)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_raw(width: int, height: int, *, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG written by hand, for what Pillow cannot save (16-bit RGB)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def png_bomb(side: int = 20_000) -> bytes:
    """A real decompression bomb: a few hundred kB that inflate to side*side grey pixels."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + one byte per pixel
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def animated(fmt: str, size: tuple[int, int] = (120, 120)) -> bytes:
    frames = [picture(size), picture(size).rotate(90), picture(size).rotate(180)]
    if fmt == "GIF":
        frames = [f.convert("P") for f in frames]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_with_gps_and_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "Phone maker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (52.0, 22.0, 30.0)  # GPSLatitude
    gps[3] = "E"
    gps[4] = (4.0, 53.0, 15.0)
    return exif


def halves(size: tuple[int, int] = (200, 100)) -> Image.Image:
    """Left half red, right half blue: shows which way a picture was turned."""
    img = Image.new("RGB", size, (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return img


def heic(img: Image.Image, **params: object) -> bytes:
    return encode(img, "HEIF", quality=90, **params)
