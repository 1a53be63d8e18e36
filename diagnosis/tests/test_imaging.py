"""What the upload pages say about photos (``diagnosis.imaging``)."""

from __future__ import annotations

import pytest

from diagnosis.imaging import browser_refusals, format_hint
from diagnosis.tests import images
from skinsite.imaging import ImageLimits, InvalidImage, validate_image


def test_the_format_hint_names_the_formats_and_the_size_limit() -> None:
    hint = str(format_hint(ImageLimits(max_bytes=10 * 1024 * 1024)))
    assert "HEIC" in hint
    assert "10 MB" in hint


def test_the_browser_refuses_in_the_validators_own_words() -> None:
    limits = ImageLimits(max_bytes=2 * 1024 * 1024)
    refusals = browser_refusals(limits)
    with pytest.raises(InvalidImage) as not_image:
        validate_image(b"not a picture at all", limits=limits)
    with pytest.raises(InvalidImage) as too_large:
        validate_image(images.jpeg() + b"\0" * (3 * 1024 * 1024), limits=limits)

    assert refusals["not_image"] == not_image.value.message
    assert str(refusals["too_large"]) == str(too_large.value.message)
    assert "2 MB" in str(refusals["too_large"])
