"""The red-flag rule: when a skin cancer is plausible, the person is told to see a doctor.

One rule, used by the worker (which stores the flag on the row, for history, the filter and the
export) and by the pages. Plausible means: in the top-3 at or above DIAGNOSIS_URGENT_THRESHOLD
(calibrated probability). Abstaining ("can't tell") never hides it; a photo refused as not skin
or too poor to judge names no condition, so it raises none.

Beside it, the warning-sign rule (``warning_signs``): what the person noticed about the spot
that calls for a doctor whatever the model says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from django.conf import settings
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

#: The two skin cancers the model knows, most urgent first (the catalogue's urgency for each
#: says how soon: melanoma within days, basal cell carcinoma within a few weeks).
URGENT_CLASSES = ("melanoma", "basal_cell_carcinoma")


def red_flag_class(predictions: Iterable[Mapping[str, Any]]) -> str:
    """The most urgent plausible skin cancer among ``predictions`` (a class key), or ""."""
    threshold = settings.DIAGNOSIS_URGENT_THRESHOLD
    plausible = {
        str(item.get("key"))
        for item in predictions
        if float(item.get("probability", 0.0)) >= threshold
    }
    return next((key for key in URGENT_CLASSES if key in plausible), "")


class NoticedAnswers(Protocol):
    """What the person said they noticed (``spots.models.Answers`` has these attributes)."""

    pigmented: str  # "yes", "no", "unsure" or "" (not answered)
    is_new: bool
    grew: bool
    changed_shape: bool
    changed_colour: bool
    itches: bool
    bleeds: bool  # bleeds without having been injured


class WarningSign(TextChoices):
    """A warning sign in the person's own answers; the label is the sentence they read."""

    NEW_PIGMENTED = "new_pigmented", _("You reported a new mole or dark spot.")
    CHANGED_PIGMENTED = (
        "changed_pigmented",
        _("You reported that a mole or dark spot has changed in size, shape or colour."),
    )
    ITCHY_PIGMENTED = "itchy_pigmented", _("You reported that a mole or dark spot itches.")
    BLEEDS = "bleeds", _("You reported that the spot bleeds without being injured.")


def warning_signs(answers: NoticedAnswers | None) -> list[WarningSign]:
    """The warning signs in the person's answers, most telling first; [] when there are none.

    Any one of them shows the "see a doctor soon" advice, whatever the model says and even
    when the photo itself was refused: the answers are about the spot, not about the photo.

    The rule follows the NHS page on moles (nhs.uk/conditions/moles, "Non-urgent advice: see a
    GP if you have a mole that: changes shape or looks uneven, changes colour, gets darker or
    has more than 2 colours, starts itching, crusting, flaking or bleeding, gets larger or
    more raised, or if you have a new mole"), and Cancer Research UK's "signs and symptoms of
    melanoma" (a new mole, or a change in an existing one):

    - a new pigmented spot (a new mole);
    - a pigmented spot that has changed in size, shape or colour;
    - a pigmented spot that itches;
    - any spot that bleeds without being injured (NHS: a mole that bleeds; a bleeding spot
      that is not a mole is also a sign of other skin cancers, so pigment is not required).

    "Pigmented" counts "I am not sure" as yes: a person unsure whether a changing spot is a
    mole should still be told to show it to a doctor. Hurting alone is recorded but is not a
    sign in this guidance.
    """
    if answers is None:
        return []
    pigmented = answers.pigmented in {"yes", "unsure"}
    signs = []
    if pigmented and answers.is_new:
        signs.append(WarningSign.NEW_PIGMENTED)
    if pigmented and (answers.grew or answers.changed_shape or answers.changed_colour):
        signs.append(WarningSign.CHANGED_PIGMENTED)
    if pigmented and answers.itches:
        signs.append(WarningSign.ITCHY_PIGMENTED)
    if answers.bleeds:
        signs.append(WarningSign.BLEEDS)
    return signs
