"""Checks on the images curators upload in the admin, through the site's one image validator.

``skinsite.imaging`` does the work for people's photos and for these images alike (size in bytes,
decoded type, pixel count, animation, damaged files; limits from the ``DIAGNOSIS_*`` settings).
What is the catalogue's own: the formats (those every browser shows; the image is served as it is
stored, never converted to JPEG) and the field validator on ``DiseaseImage.image``.
"""

from __future__ import annotations

from typing import IO, Any, Final

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _

from skinsite import imaging

#: Formats a browser shows everywhere. The type comes from decoding the bytes, never from the
#: file name or the content type the browser sent.
FORMATS: Final = imaging.ImageFormats(
    ("JPEG", "PNG", "WEBP"), _("This file is not a JPEG, PNG or WebP image, or it is damaged.")
)
EXTENSIONS: Final = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
CONTENT_TYPES: Final = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def sniff_format(file: IO[bytes]) -> str | None:
    """The format named by the file's header, without decoding it; None when not accepted."""
    return imaging.sniff_format(file, FORMATS)


def validate_image_upload(value: Any) -> None:
    """Field validator for ``DiseaseImage.image``: ``skinsite.imaging.check_image``.

    Files already in storage were checked when they were uploaded and are not re-read on every
    save of the disease.
    """
    if not value or getattr(value, "_committed", False):
        return
    try:
        imaging.check_image(
            getattr(value, "file", value), limits=imaging.limits_from_settings(), formats=FORMATS
        )
    except imaging.InvalidImage as exc:
        raise ValidationError(exc.message, code=exc.code) from exc


def without_metadata(file: IO[bytes], name: str) -> ContentFile:
    """The image re-encoded in its own format, upright, without EXIF, XMP or comments (a
    curator's own photo can carry the GPS position where it was taken, and the catalogue shows
    its images to everyone); see ``skinsite.imaging.reencode``."""
    return ContentFile(imaging.reencode(file, FORMATS), name=name)
