"""What the upload pages say about photos, with the limits and words of the shared validator.

The validation itself is ``skinsite.imaging.validate_image``, shared with the catalogue's images.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from skinsite.imaging import DEFAULT_LIMITS, PHOTO_FORMATS, ImageLimits, megabytes, too_large

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def format_hint(limits: ImageLimits = DEFAULT_LIMITS) -> StrOrPromise:
    """The sentence the upload pages show under the file picker."""
    return format_lazy(
        _("JPEG, PNG, WebP or HEIC (iPhone), at most {size} MB and at least {side} pixels wide."),
        size=megabytes(limits.max_bytes),
        side=limits.min_side,
    )


def browser_refusals(limits: ImageLimits = DEFAULT_LIMITS) -> dict[str, StrOrPromise]:
    """What the upload page refuses before sending (too large, not an image), in the words and
    with the limits the validator uses, so the browser and the server never disagree."""
    return {
        "too_large": too_large(limits.max_bytes).message,
        "not_image": PHOTO_FORMATS.unsupported,
    }
