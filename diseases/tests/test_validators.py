"""Admin image uploads: decoded type, size in bytes, pixel count, animation (the shared
validator's refusals, with the catalogue's own formats)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from diseases.tests.conftest import animated_webp, image_bytes
from diseases.validators import sniff_format, validate_image_upload


def upload(content: bytes, name: str = "picture.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def refusal(content: bytes, name: str = "picture.jpg") -> str:
    with pytest.raises(ValidationError) as caught:
        validate_image_upload(upload(content, name))
    return caught.value.code


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_it_accepts_the_web_formats_whatever_the_name(fmt: str) -> None:
    file = upload(image_bytes(fmt), name="no-extension")
    validate_image_upload(file)
    assert sniff_format(file) == fmt


def test_it_rejects_a_text_file_renamed_to_jpg() -> None:
    assert refusal(b"<html>not a picture</html>") == "unsupported_format"


def test_it_rejects_a_truncated_jpeg() -> None:
    assert refusal(image_bytes("JPEG", (400, 400))[:300]) == "corrupt"


def test_it_rejects_formats_browsers_do_not_all_show() -> None:
    assert refusal(image_bytes("TIFF"), "scan.tif") == "unsupported_format"


def test_it_rejects_an_animation() -> None:
    assert refusal(animated_webp(), "moving.webp") == "animated"


def test_it_rejects_files_over_the_size_limit(settings: Any) -> None:
    settings.DIAGNOSIS_MAX_UPLOAD_BYTES = 2048
    assert refusal(image_bytes("PNG") + b"\0" * 4096) == "too_large"


def test_it_rejects_too_many_pixels_before_decoding(settings: Any) -> None:
    settings.DIAGNOSIS_MAX_PIXELS = 100_000
    assert refusal(image_bytes("PNG", (400, 400))) == "too_many_pixels"


def test_it_rejects_tiny_images(settings: Any) -> None:
    settings.DIAGNOSIS_MIN_SIDE = 64
    assert refusal(image_bytes("PNG", (300, 20))) == "too_small"


def test_it_rejects_an_iphone_heic_that_people_may_send_as_a_photo() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    with pytest.raises(ValidationError) as caught:
        validate_image_upload(upload(image_bytes("HEIF"), "photo.heic"))
    assert caught.value.code == "unsupported_format"
    with translation.override("en"):
        assert "JPEG, PNG or WebP" in str(caught.value.message)
