"""The diagnosis pages speak Arabic: the catalogue is complete and used."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

from diagnosis.models import Diagnosis
from diagnosis.presentation import confidence_words
from diagnosis.tests import images
from skinsite.imaging import ImageLimits, InvalidImage, validate_image

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "ar" / "LC_MESSAGES" / "django.po"


def entries() -> list[str]:
    blocks = CATALOGUE.read_text(encoding="utf-8").split("\n\n")[1:]
    return [block for block in blocks if "msgid " in block]


def test_every_message_has_an_arabic_translation_and_none_is_fuzzy() -> None:
    text = CATALOGUE.read_text(encoding="utf-8")
    assert "#, fuzzy" not in text
    found = entries()
    assert len(found) > 50
    for block in found:
        # A long translation is wrapped: msgstr "" then its lines, each in quotes.
        strings = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', block, flags=re.MULTILINE)
        assert strings and all(re.sub(r'"\s*', "", text) for text in strings), block


def test_a_refused_photo_is_explained_in_arabic() -> None:
    try:
        validate_image(images.jpeg((40, 40)), limits=ImageLimits(min_side=64))
    except InvalidImage as exc:
        with translation.override("ar"):
            message = str(exc.message)
    assert "الصورة صغيرة جدًا" in message
    assert "40x40" in message


def test_failure_reasons_and_confidence_words_are_translated() -> None:
    with translation.override("ar"):
        assert confidence_words(0.9) == "ثقة عالية"
        reason = str(Diagnosis.FailureCode.MODEL_UNUSABLE.label)
    assert "نموذج" in reason
