"""The upload page carries the validator's own limits and refusals for the browser's checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from diagnosis.services import image_limits
from skinsite.imaging import InvalidImage, validate_image


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_page_carries_the_size_limit_and_messages_from_settings(
    browser: Client, active_model: Any, settings: Any, language: str
) -> None:
    settings.DIAGNOSIS_MAX_UPLOAD_BYTES = 3 * 1024 * 1024
    html = browser.get(
        reverse("diagnosis:upload"), headers={"accept-language": language}
    ).content.decode()
    assert f'data-max-bytes="{3 * 1024 * 1024}"' in html
    with translation.override(language):
        # The very messages the validator raises for such files.
        with pytest.raises(InvalidImage) as too_large:
            validate_image(b"\xff" * (3 * 1024 * 1024 + 1), limits=image_limits())
        with pytest.raises(InvalidImage) as not_image:
            validate_image(b"%PDF-1.7 not a photo" * 10, limits=image_limits())
        assert f'data-too-large="{escape(too_large.value.message)}"' in html
        assert f'data-not-image="{escape(not_image.value.message)}"' in html
