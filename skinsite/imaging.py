"""Image safety for every picture the site accepts: people's photos and the catalogue's images.

One validator, ``validate_image(source, limits=..., formats=...)``, for photos that the site
re-encodes (the diagnosis uploads): it reads at most ``limits.max_bytes + 1`` bytes, decodes them
with Pillow (never trusting the file name or the browser's content type) and returns a
``ValidatedImage``: an upright RGB picture whose longest side is at most
``limits.stored_max_side``, re-encoded as a metadata-free JPEG, plus a square thumbnail.
``check_image`` runs the same checks and a full decode for pictures kept in their own format (the
catalogue's illustrations), and ``reencode`` then stores them upright and without metadata. Every
refusal is one exception class, ``InvalidImage(code, message)``, whose ``code`` is stable (for
tests and logs) and whose ``message`` is translatable (for the person). ``formats`` says what
``Image.open`` may try and what the person is told otherwise: ``PHOTO_FORMATS`` (photos, HEIC
included) unless the caller names its own.

The steps, in order (each one cheap before the next, costly one):

1. size in bytes (before reading the rest of an over-sized file);
2. ``Image.open`` restricted to the accepted formats: it reads the header only;
3. pixel count from the header (decompression bombs), minimum side, animation;
4. decode once, in JPEG draft mode when the photo is at least twice the stored size: libjpeg
   then scales by 1/2, 1/4 or 1/8 while decoding, which is what makes a 12-megapixel phone
   photo affordable;
5. normalise the mode (16-bit to 8-bit, palette and alpha flattened on white, CMYK and embedded
   ICC profiles converted to sRGB), shrink to the stored size, apply the EXIF orientation;
6. encode the stored copy and the thumbnail without EXIF, XMP, ICC or any other chunk, so GPS
   tags and camera serial numbers never reach the disk.

This module imports nothing from Django but its lazy translation helpers (and the settings, in
``limits_from_settings`` only), so it can be used and tested alone.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Final

import numpy as np
import pillow_heif
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

pillow_heif.register_heif_opener()


@dataclass(frozen=True, slots=True)
class ImageFormats:
    """What ``Image.open`` may try (Pillow's format names), and what the person is told when the
    file is none of them."""

    names: tuple[str, ...]
    unsupported: StrOrPromise


#: People's photos. GIF is opened only to say "animated images are not accepted" or to accept a
#: still one. The JPEG opener also returns MPO, the multi-picture JPEG many phones write.
PHOTO_FORMATS: Final = ImageFormats(
    ("JPEG", "PNG", "WEBP", "HEIF", "GIF"),
    _("This file is not a photo we can read. Send a JPEG, PNG, WebP or HEIC image."),
)
#: Multi-frame files of these formats are animations; MPO and HEIF hold a primary picture plus
#: previews or depth maps, of which the first frame is the photo.
_ANIMATABLE_FORMATS: Final = frozenset({"GIF", "PNG", "WEBP"})

#: What Pillow's decoders raise on hostile or damaged input (found by the fuzz test).
#: ``Image.DecompressionBombError`` is not among them: it is refused as too many pixels.
DECODE_ERRORS: Final = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zlib.error,
    ZeroDivisionError,
    OverflowError,
    MemoryError,
)

ORIENTATION_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_SRGB_PROFILE: Final = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class InvalidImage(Exception):
    """The upload is not a photo we accept. ``code`` is stable; ``message`` is for the person."""

    def __init__(self, code: str, message: StrOrPromise) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Bounds on what is accepted and on what is stored. The defaults suit phone photos."""

    max_bytes: int = 10 * 1024 * 1024
    #: 50 megapixels lets 48-megapixel phone photos through and stops decompression bombs.
    max_pixels: int = 50_000_000
    #: A lesion photo smaller than this is too small for the model to say anything about.
    min_side: int = 64
    stored_max_side: int = 1024
    thumbnail_side: int = 256
    jpeg_quality: int = 90


DEFAULT_LIMITS: Final = ImageLimits()


def limits_from_settings() -> ImageLimits:
    """The upload limits a person may change (``DIAGNOSIS_MAX_UPLOAD_BYTES``,
    ``DIAGNOSIS_MAX_PIXELS``, ``DIAGNOSIS_MIN_SIDE``), for every kind of upload."""
    from django.conf import settings

    return ImageLimits(
        max_bytes=settings.DIAGNOSIS_MAX_UPLOAD_BYTES,
        max_pixels=settings.DIAGNOSIS_MAX_PIXELS,
        min_side=settings.DIAGNOSIS_MIN_SIDE,
    )


@dataclass(frozen=True, slots=True)
class ValidatedImage:
    """An accepted photo: upright RGB, bounded, with its metadata-free JPEG encodings."""

    image: Image.Image
    content: bytes
    thumbnail: bytes
    source_format: str
    source_size: tuple[int, int]

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


def validate_image(
    source: bytes | IO[bytes],
    *,
    limits: ImageLimits = DEFAULT_LIMITS,
    formats: ImageFormats = PHOTO_FORMATS,
) -> ValidatedImage:
    """Check, decode and normalise one uploaded photo, or raise ``InvalidImage``.

    ``source`` is the raw bytes or a binary file object (a Django ``UploadedFile`` works: its
    declared ``size`` is checked before anything is read).
    """
    with _opened(source, limits, formats) as img:
        source_format = img.format or ""
        source_size = img.size
        picture = _decode(img, limits)

    content = _encode_jpeg(picture, limits.jpeg_quality)
    side = limits.thumbnail_side
    thumb = ImageOps.fit(picture, (side, side), Image.Resampling.BICUBIC)
    return ValidatedImage(
        image=picture,
        content=content,
        thumbnail=_encode_jpeg(thumb, limits.jpeg_quality),
        source_format=source_format,
        source_size=source_size,
    )


def check_image(source: bytes | IO[bytes], *, limits: ImageLimits, formats: ImageFormats) -> str:
    """Run ``validate_image``'s checks and decode every pixel once, for a picture stored in its
    own format; returns the decoded format (one of ``formats.names``) or raises
    ``InvalidImage``. A file object is read from its start and left there."""
    try:
        with _opened(source, limits, formats) as img:
            img.load()  # a full decode catches truncated and corrupt files
            return str(img.format)
    finally:
        if not isinstance(source, bytes | bytearray | memoryview) and hasattr(source, "seek"):
            source.seek(0)


def sniff_format(file: IO[bytes], formats: ImageFormats) -> str | None:
    """The format named by the file's header, without decoding it; None when not one of
    ``formats``. The file is left at its start."""
    file.seek(0)
    try:
        with Image.open(file, formats=formats.names) as img:
            return str(img.format)
    except (Image.DecompressionBombError, *DECODE_ERRORS):
        return None
    finally:
        file.seek(0)


#: ``reencode``'s options per format: lossless stays lossless, lossy keeps a high quality.
_SAVE_OPTIONS: Final[dict[str, dict[str, Any]]] = {
    "JPEG": {"quality": 92, "subsampling": 0},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 92},
}


def reencode(file: IO[bytes], formats: ImageFormats) -> bytes:
    """A checked picture (see ``check_image``) re-encoded in its own format, turned upright,
    with no EXIF, XMP or comments: a photo can carry the camera's serial number and the GPS
    position where it was taken. The colour profile is kept: it changes how the picture looks,
    not who took it. Formats without an entry in ``_SAVE_OPTIONS`` are encoded with Pillow's
    defaults."""
    file.seek(0)
    with Image.open(file, formats=formats.names) as img:
        image_format = str(img.format)
        icc = img.info.get("icc_profile")
        lossless = bool(img.info.get("lossless"))
        img.load()
        transpose = ORIENTATION_TRANSPOSE.get(_orientation(img))
        upright = img.transpose(transpose) if transpose is not None else img.copy()
    file.seek(0)
    options: dict[str, Any] = dict(_SAVE_OPTIONS.get(image_format, {}))
    if image_format == "WEBP" and lossless:
        options = {"lossless": True}
    if icc:
        options["icc_profile"] = icc
    if image_format == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
        upright = upright.convert("RGB")
    out = io.BytesIO()
    upright.save(out, format=image_format, **options)
    return out.getvalue()


@contextmanager
def _opened(
    source: bytes | IO[bytes], limits: ImageLimits, formats: ImageFormats
) -> Iterator[Image.Image]:
    """Steps 1 to 3; inside the ``with`` block, a decoding error is refused as a damaged file."""
    data = _read_bounded(source, limits.max_bytes)
    try:
        img = Image.open(io.BytesIO(data), formats=formats.names)
    except UnidentifiedImageError as exc:
        raise InvalidImage("unsupported_format", formats.unsupported) from exc
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(limits) from exc
    except DECODE_ERRORS as exc:
        raise _corrupt() from exc

    with img:
        try:
            # Inside the try: some header checks read on (a GIF's next frame for is_animated),
            # where a damaged file fails as a damaged picture does (found by the fuzz test).
            _check_header(img, limits)
            yield img
        except Image.DecompressionBombError as exc:
            raise _too_many_pixels(limits) from exc
        except DECODE_ERRORS as exc:
            raise _corrupt() from exc


def _read_bounded(source: bytes | IO[bytes], max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        declared = getattr(source, "size", None)
        if isinstance(declared, int) and declared > max_bytes:
            raise too_large(max_bytes)
        if hasattr(source, "seek"):
            source.seek(0)
        # One byte past the limit is enough to know the file is too large.
        data = source.read(max_bytes + 1)
    if not data:
        raise InvalidImage("empty", _("The file is empty. Choose a photo and try again."))
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    return data


def _check_header(img: Image.Image, limits: ImageLimits) -> None:
    """Refuse on what the header says, before a single pixel is decoded."""
    width, height = img.size
    if width * height > limits.max_pixels:
        raise _too_many_pixels(limits)
    if min(width, height) < limits.min_side:
        raise InvalidImage(
            "too_small",
            format_lazy(
                _(
                    "The photo is too small ({width}x{height} pixels). "
                    "Send a photo at least {side} pixels wide and high."
                ),
                width=width,
                height=height,
                side=limits.min_side,
            ),
        )
    if img.format in _ANIMATABLE_FORMATS and getattr(img, "is_animated", False):
        raise InvalidImage(
            "animated",
            _("Animated images are not accepted. Send a single photo."),
        )


def _decode(img: Image.Image, limits: ImageLimits) -> Image.Image:
    """Decode once (draft mode for big JPEGs), normalise to RGB, shrink, make upright."""
    if img.format in {"JPEG", "MPO"}:
        reduction = _draft_reduction(img.size, limits.stored_max_side)
        if reduction > 1:
            width, height = img.size
            # Pillow picks the largest 1/2^k with size // request >= k, hence the floor.
            img.draft(None, (width // reduction, height // reduction))
    img.load()
    orientation = _orientation(img)
    icc = img.info.get("icc_profile")
    # Shrink before the colour conversion: it then works on a quarter of the pixels or fewer.
    picture = _shrink(_flatten(img), limits.stored_max_side)
    picture = _to_rgb(picture, icc if isinstance(icc, bytes) and icc else None)
    transpose = ORIENTATION_TRANSPOSE.get(orientation)
    if transpose is not None:
        picture = picture.transpose(transpose)
    # Closing the opened file also frees its pixels; hand back an image of our own.
    return picture.copy() if picture is img else picture


def _draft_reduction(size: tuple[int, int], max_side: int) -> int:
    """The largest JPEG scaling (8, 4, 2 or 1) that keeps the longest side >= 3/4 of max_side.

    Decoding 4032x3024 at 1/4 gives 1008x756, already inside the bound: no resampling at all,
    where decoding at 1/2 and resizing 2016 -> 1024 costs more than the decoding itself.
    """
    longest = max(size)
    for reduction in (8, 4, 2):
        if longest / reduction >= max_side * 3 / 4:
            return reduction
    return 1


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(ExifTags.Base.Orientation, 1)
    except DECODE_ERRORS:
        # A damaged EXIF block is no reason to refuse the photo; it only loses its rotation.
        return 1
    return value if isinstance(value, int) else 1


def _flatten(img: Image.Image) -> Image.Image:
    """Bring any decoded mode to 8-bit L, RGB or CMYK without transparency."""
    if img.mode in {"I;16", "I;16L", "I;16B", "I;16N", "I"}:
        # Pillow's own convert("L") clips 16-bit values at 255 (an almost white picture).
        img = Image.fromarray((np.asarray(img, dtype=np.uint32) >> 8).astype(np.uint8))
    elif img.mode == "F":
        img = Image.fromarray(np.clip(np.asarray(img), 0, 255).astype(np.uint8))
    if "A" in img.getbands() or "a" in img.getbands() or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, (255, 255, 255))
        img.paste(rgba, mask=rgba.getchannel("A"))
    elif img.mode not in {"L", "RGB", "CMYK"}:
        img = img.convert("RGB")
    return img


def _to_rgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        converted = _to_srgb(img, icc)
        if converted is not None:
            return converted
    return img if img.mode == "RGB" else img.convert("RGB")


def _to_srgb(img: Image.Image, icc: bytes) -> Image.Image | None:
    """Convert through the embedded colour profile (Display P3 iPhones, CMYK print files)."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        result = ImageCms.profileToProfile(img, profile, _SRGB_PROFILE, outputMode="RGB")
    except (ImageCms.PyCMSError, *DECODE_ERRORS):
        # An unusable or mismatched profile: fall back to Pillow's plain conversion.
        return None
    return result


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    if max(img.size) <= max_side:
        return img
    ratio = max_side / max(img.size)
    size = (max(1, round(img.width * ratio)), max(1, round(img.height * ratio)))
    # reducing_gap: large reductions (big PNG or HEIC) first average whole pixel blocks.
    return img.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


def _encode_jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or comment: the stored file carries pixels only. Full-resolution
    # chroma (4:4:4): halving it shifted the model's top-3 on small clinical photos.
    img.save(out, format="JPEG", quality=quality, subsampling=0)
    return out.getvalue()


def megabytes(num_bytes: int) -> str:
    """``num_bytes`` in whole megabytes, or with one decimal below 10 MB ("2.5")."""
    value = num_bytes / (1024 * 1024)
    return f"{value:.0f}" if value >= 10 or value.is_integer() else f"{value:.1f}"


def too_large(max_bytes: int) -> InvalidImage:
    """The refusal of a file over ``max_bytes`` (also what the upload page says early)."""
    return InvalidImage(
        "too_large",
        format_lazy(
            _("The file is too large. Send a photo of at most {size} MB."),
            size=megabytes(max_bytes),
        ),
    )


def _too_many_pixels(limits: ImageLimits) -> InvalidImage:
    return InvalidImage(
        "too_many_pixels",
        format_lazy(
            _("The photo has too many pixels. Send one of at most {megapixels} megapixels."),
            megapixels=limits.max_pixels // 1_000_000,
        ),
    )


def _corrupt() -> InvalidImage:
    return InvalidImage(
        "corrupt",
        _("The photo could not be read: the file is damaged or incomplete. Try sending it again."),
    )
