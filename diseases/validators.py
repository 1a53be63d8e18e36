"""Checks on the images curators upload in the admin.

The rules are the same as for people's photos (size in bytes, decoded type, pixel count, limits
from the ``DIAGNOSIS_*`` settings), but the code is kept here so the catalogue does not depend on
the diagnosis app's internals. ``validate_image_upload`` is an ordinary Django field validator:
when a shared validator exists it can be swapped in by changing ``DiseaseImage.image``'s
``validators`` list, without a data change.
"""

from __future__ import annotations

import io
from typing import IO, Any, Final

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from diagnosis.imaging import DECODE_ERRORS

#: Formats a browser shows everywhere. The type comes from decoding the bytes, never from the
#: file name or the content type the browser sent.
ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP")
EXTENSIONS: Final = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
CONTENT_TYPES: Final = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

#: What Pillow raises on damaged or hostile files: the upload validator's list (found by its
#: fuzz test), plus the decompression-bomb error this module lets Pillow raise.
_DECODE_ERRORS: Final = (*DECODE_ERRORS, Image.DecompressionBombError)


def _limits() -> tuple[int, int, int]:
    return (
        settings.DIAGNOSIS_MAX_UPLOAD_BYTES,
        settings.DIAGNOSIS_MAX_PIXELS,
        settings.DIAGNOSIS_MIN_SIDE,
    )


def sniff_format(file: IO[bytes]) -> str | None:
    """The format named by the file's header, without decoding it; None when not accepted."""
    file.seek(0)
    try:
        with Image.open(file, formats=ACCEPTED_FORMATS) as image:
            return str(image.format)
    except _DECODE_ERRORS:
        return None
    finally:
        file.seek(0)


def detect_format(file: IO[bytes]) -> str:
    """The decoded format of ``file`` ("JPEG", "PNG" or "WEBP"); raises ``ValidationError``."""
    _max_bytes, max_pixels, min_side = _limits()
    file.seek(0)
    try:
        with Image.open(file, formats=ACCEPTED_FORMATS) as image:
            width, height = image.size
            # Checked from the header, before the costly decode: stops decompression bombs.
            if width * height > max_pixels:
                raise ValidationError(
                    _("The image has %(pixels)s pixels; the limit is %(limit)s."),
                    code="too_many_pixels",
                    params={"pixels": f"{width * height:,}", "limit": f"{max_pixels:,}"},
                )
            if min(width, height) < min_side:
                raise ValidationError(
                    _("The image is too small: each side must be at least %(side)s pixels."),
                    code="too_small",
                    params={"side": min_side},
                )
            if getattr(image, "n_frames", 1) > 1:
                raise ValidationError(_("Animated images are not accepted."), code="animated")
            image.load()  # a full decode catches truncated and corrupt files
            image_format = str(image.format)
    except ValidationError:
        raise
    except _DECODE_ERRORS as exc:
        raise ValidationError(
            _("This file is not a JPEG, PNG or WebP image, or it is damaged."),
            code="invalid_image",
        ) from exc
    finally:
        file.seek(0)
    return image_format


def validate_image_upload(value: Any) -> None:
    """Field validator for ``DiseaseImage.image``: size, decoded type, pixels, animation.

    Files already in storage were checked when they were uploaded and are not re-read on every
    save of the disease.
    """
    if not value or getattr(value, "_committed", False):
        return
    max_bytes = _limits()[0]
    size = getattr(value, "size", None)
    if size is not None and size > max_bytes:
        raise ValidationError(
            _("The file is %(size)s; the limit is %(limit)s."),
            code="too_large",
            params={"size": filesizeformat(size), "limit": filesizeformat(max_bytes)},
        )
    detect_format(getattr(value, "file", value))


#: Re-encoding options per format: lossless stays lossless, lossy keeps a high quality.
_SAVE_OPTIONS: Final[dict[str, dict[str, Any]]] = {
    "JPEG": {"quality": 92, "subsampling": 0},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 92},
}


def without_metadata(file: IO[bytes], name: str) -> ContentFile:
    """The image re-encoded in its own format, turned upright, with no EXIF, XMP or comments.

    A curator's own photo can carry the camera's serial number and the GPS position where it
    was taken, and the catalogue shows its images to everyone. The colour profile is kept: it
    changes how the picture looks, not who took it.
    """
    file.seek(0)
    with Image.open(file, formats=ACCEPTED_FORMATS) as image:
        image_format = str(image.format)
        icc = image.info.get("icc_profile")
        lossless = bool(image.info.get("lossless"))
        upright = ImageOps.exif_transpose(image)  # a copy; the orientation tag is applied
    options: dict[str, Any] = dict(_SAVE_OPTIONS[image_format])
    if image_format == "WEBP" and lossless:
        options = {"lossless": True}
    if icc:
        options["icc_profile"] = icc
    if image_format == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
        upright = upright.convert("RGB")
    buffer = io.BytesIO()
    upright.save(buffer, format=image_format, **options)
    file.seek(0)
    return ContentFile(buffer.getvalue(), name=name)
