"""The warning-sign rule (``diagnosis.red_flag.warning_signs``): its table of cases."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import translation

from diagnosis.red_flag import WarningSign, warning_signs

W = WarningSign


@dataclass
class Said:
    pigmented: str = ""
    is_new: bool = False
    grew: bool = False
    changed_shape: bool = False
    changed_colour: bool = False
    itches: bool = False
    bleeds: bool = False
    hurts: bool = False


CASES = [
    # (what the person said, the signs, why)
    (Said(), [], "nothing reported"),
    (Said(pigmented="yes"), [], "an unchanged mole"),
    (Said(pigmented="yes", is_new=True), [W.NEW_PIGMENTED], "a new mole"),
    (Said(pigmented="unsure", is_new=True), [W.NEW_PIGMENTED], "unsure counts as pigmented"),
    (Said(pigmented="no", is_new=True), [], "a new pink spot alone"),
    (Said(pigmented="", is_new=True), [], "pigment not answered"),
    (Said(pigmented="yes", grew=True), [W.CHANGED_PIGMENTED], "a mole that grew"),
    (Said(pigmented="yes", changed_shape=True), [W.CHANGED_PIGMENTED], "changed shape"),
    (Said(pigmented="unsure", changed_colour=True), [W.CHANGED_PIGMENTED], "changed colour"),
    (Said(pigmented="no", grew=True), [], "a growing pink spot alone"),
    (Said(pigmented="yes", itches=True), [W.ITCHY_PIGMENTED], "an itchy mole (NHS)"),
    (Said(pigmented="no", itches=True), [], "an itchy rash"),
    (Said(bleeds=True), [W.BLEEDS], "bleeding without injury, pigment unknown"),
    (Said(pigmented="no", bleeds=True), [W.BLEEDS], "bleeding pink spot"),
    (Said(pigmented="no", hurts=True), [], "hurting alone is not a sign"),
    (Said(pigmented="yes", hurts=True), [], "a sore mole alone is not a sign"),
    (
        Said(pigmented="yes", is_new=True, grew=True, itches=True, bleeds=True),
        [W.NEW_PIGMENTED, W.CHANGED_PIGMENTED, W.ITCHY_PIGMENTED, W.BLEEDS],
        "every sign, in a fixed order",
    ),
]


@pytest.mark.parametrize(("said", "signs", "why"), CASES, ids=[case[2] for case in CASES])
def test_the_warning_sign_rule(said: Said, signs: list[WarningSign], why: str) -> None:
    assert warning_signs(said) == signs


def test_no_answers_mean_no_signs() -> None:
    assert warning_signs(None) == []


def test_every_sign_reads_in_arabic() -> None:
    for sign in WarningSign:
        with translation.override("ar"):
            arabic = str(sign.label)
        with translation.override("en"):
            english = str(sign.label)
        assert arabic != english
        assert "ذكرتَ" in arabic
