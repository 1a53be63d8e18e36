"""Fuzzing the validator: whatever the bytes, it returns a good picture or raises InvalidImage."""

from __future__ import annotations

import io
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from diagnosis.tests import images
from skinsite.imaging import ImageLimits, InvalidImage, ValidatedImage, validate_image

CODES = {
    "empty",
    "too_large",
    "too_many_pixels",
    "too_small",
    "animated",
    "unsupported_format",
    "corrupt",
}
LIMITS = ImageLimits(
    max_bytes=2 * 1024 * 1024,
    max_pixels=4_000_000,
    min_side=16,
    stored_max_side=256,
    thumbnail_side=64,
)

#: ``FUZZ_SCALE=100`` runs a hundred times more examples than the bounded run in ``make test``.
SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))

FORMATS_AND_MODES = {
    "JPEG": ["RGB", "L", "CMYK"],
    "PNG": ["RGB", "RGBA", "L", "LA", "P", "1", "I;16"],
    "WEBP": ["RGB", "RGBA"],
    "GIF": ["P", "L"],
    "HEIF": ["RGB"],
}


@st.composite
def encoded_pictures(draw: st.DrawFn) -> bytes:
    fmt = draw(st.sampled_from(sorted(FORMATS_AND_MODES)))
    mode = draw(st.sampled_from(FORMATS_AND_MODES[fmt]))
    size = (draw(st.integers(1, 300)), draw(st.integers(1, 300)))
    img = images.picture(size)
    img = (
        img.convert(mode)
        if mode != "I;16"
        else Image.fromarray(images.np.asarray(img.convert("L"), dtype="uint16") * 257)
    )
    params: dict[str, object] = {}
    if fmt == "JPEG" and draw(st.booleans()):
        exif = Image.Exif()
        exif[0x0112] = draw(st.integers(0, 9))
        params["exif"] = exif
    if fmt in {"GIF", "PNG", "WEBP"} and draw(st.booleans()):
        params |= {"save_all": True, "append_images": [img.rotate(90)]}
    return images.encode(img, fmt, **params)


@st.composite
def damaged(draw: st.DrawFn, source: st.SearchStrategy[bytes]) -> bytes:
    data = bytearray(draw(source))
    how = draw(st.sampled_from(["intact", "truncate", "flip", "splice"]))
    if how == "truncate" and data:
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif how == "flip" and data:
        for _ in range(draw(st.integers(1, 8))):
            position = draw(st.integers(0, len(data) - 1))
            data[position] = draw(st.integers(0, 255))
    elif how == "splice":
        position = draw(st.integers(0, len(data)))
        data[position:position] = draw(st.binary(max_size=64))
    return bytes(data)


def check(data: bytes) -> None:
    try:
        result = validate_image(data, limits=LIMITS)
    except InvalidImage as exc:
        assert exc.code in CODES
        assert str(exc.message)
        return
    assert isinstance(result, ValidatedImage)
    assert result.image.mode == "RGB"
    assert max(result.image.size) <= LIMITS.stored_max_side
    stored = Image.open(io.BytesIO(result.content))
    assert stored.format == "JPEG" and stored.size == result.image.size
    assert not stored.getexif()
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.size == (LIMITS.thumbnail_side, LIMITS.thumbnail_side)


@settings(
    max_examples=250 * SCALE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(damaged(encoded_pictures()))
def test_damaged_pictures_give_a_picture_or_an_invalid_image(data: bytes) -> None:
    check(data)


@settings(max_examples=150 * SCALE, deadline=None, database=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_an_invalid_image_or_a_picture(data: bytes) -> None:
    check(data)


@settings(max_examples=100 * SCALE, deadline=None, database=None)
@given(
    st.sampled_from(
        [
            b"\xff\xd8\xff",
            b"\x89PNG\r\n\x1a\n",
            b"RIFF\x00\x00\x00\x00WEBPVP8 ",
            b"GIF89a",
            b"\x00\x00\x00\x18ftypheic",
        ]
    ),
    st.binary(max_size=2048),
)
def test_a_valid_signature_followed_by_garbage_is_refused_cleanly(head: bytes, tail: bytes) -> None:
    check(head + tail)
