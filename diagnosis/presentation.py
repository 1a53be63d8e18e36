"""What the result and history pages say about predictions: names, words, advice.

Names, summaries and links come from the catalogue (``diseases.lookup.disease_map()``, cached:
never a query per prediction).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from diagnosis.outcomes import PHOTO_TYPE_NAMES, QualityAdvice, quality_advice, times_in_ten
from diagnosis.red_flag import warning_signs

#: (lowest probability, words), highest first. Calibrated probabilities, said plainly.
CONFIDENCE_WORDS = (
    (0.8, _("high confidence")),
    (0.5, _("moderate confidence")),
    (0.25, _("low confidence")),
    (0.0, _("very low confidence")),
)


@dataclass(frozen=True)
class PredictionView:
    key: str
    name: str
    url: str
    summary: str
    probability: float
    percent_text: str
    bar_value: int
    words: str


def disease_catalogue() -> Mapping[str, Any]:
    from diseases.lookup import disease_map

    return disease_map()


def confidence_words(probability: float) -> str:
    for lowest, words in CONFIDENCE_WORDS:
        if probability >= lowest:
            return str(words)
    return str(CONFIDENCE_WORDS[-1][1])


#: Unicode's left-to-right isolate (LRI ... PDI) around every percentage.
_LTR_ISOLATE = "\u2066{}\u2069"


def percent_text(probability: float) -> str:
    """The one percent formatter of every page: "44%", in both languages.

    The number is a left-to-right isolate. Otherwise an Arabic page reordered it by context:
    "%44" inside a sentence or after the date in the history, "44%" alone in the top-3 list.
    With Latin digits, CLDR's Arabic convention is the number then the sign, as in English.
    """
    percent = round(probability * 100)
    text = "<1%" if percent == 0 and probability > 0 else f"{percent}%"
    return _LTR_ISOLATE.format(text)


def describe(
    predictions: Iterable[Mapping[str, Any]],
    *,
    catalogue: Mapping[str, Any] | None = None,
    language: str | None = None,
) -> list[PredictionView]:
    """Predictions as the pages show them, in ``language`` (the active one by default)."""
    catalogue = disease_catalogue() if catalogue is None else catalogue
    language = (language or get_language() or "en")[:2]
    views = []
    for item in predictions:
        key = str(item.get("key", ""))
        probability = float(item.get("probability", 0.0))
        info = catalogue.get(key)
        views.append(
            PredictionView(
                key=key,
                name=info.name(language) if info else key.replace("_", " ").capitalize(),
                url=info.url if info else "",
                summary=info.summary(language) if info else "",
                probability=probability,
                percent_text=percent_text(probability),
                bar_value=max(0, min(100, round(probability * 100))),
                words=confidence_words(probability),
            )
        )
    return views


@dataclass(frozen=True)
class RedFlagView:
    """The one message shown when a skin cancer is plausible: which, how likely, how soon."""

    prediction: PredictionView
    timeframe: str


@dataclass(frozen=True)
class ResultView:
    """Everything the result panel shows for a finished check (see ``result_view``)."""

    outcome: str
    predictions: list[PredictionView]
    top: PredictionView | None
    red_flag: RedFlagView | None
    quality: QualityAdvice | None
    photo_type_name: str
    times_in_ten: int | None
    #: The sentences of ``red_flag.warning_signs`` for what the person noticed, if any.
    warning_signs: tuple[str, ...] = ()


def result_view(diagnosis: Any, *, catalogue: Mapping[str, Any] | None = None) -> ResultView:
    """What the page says about ``diagnosis``: refused photos name no condition; the red flag
    (``diagnosis.red_flag``, set by the worker) leads whenever it is raised, can't-tell or not;
    the "right N times in 10" figure is the model's own, for the photo type it saw.

    Warning signs in the person's answers (``diagnosis.answers``, when they gave any) are
    shown whatever the outcome, refused or failed photos included: they are about the spot,
    not the photo. The page puts them first, except that a red flag stays above them (its
    timeframe, "within days" for melanoma, is the more urgent one); neither hides the other.
    Callers listing many rows should ``select_related("answers")``.
    """
    catalogue = disease_catalogue() if catalogue is None else catalogue
    answered = diagnosis.has_answer
    predictions = describe(diagnosis.top_predictions(), catalogue=catalogue) if answered else []
    flagged = next((p for p in predictions if p.key == diagnosis.red_flag), None)
    red_flag = None
    if flagged is not None:
        info = catalogue.get(flagged.key)
        red_flag = RedFlagView(flagged, info.urgency_timeframe if info else "")
    outcome = diagnosis.outcome or ("answered" if diagnosis.has_answer else "")
    return ResultView(
        outcome=outcome,
        predictions=predictions,
        top=predictions[0] if predictions else None,
        red_flag=red_flag,
        quality=quality_advice(diagnosis.quality_issue) if outcome == "poor_quality" else None,
        photo_type_name=str(PHOTO_TYPE_NAMES.get(diagnosis.photo_type, "")),
        times_in_ten=times_in_ten(diagnosis.reference_accuracy),
        warning_signs=tuple(
            str(sign.label) for sign in warning_signs(getattr(diagnosis, "answers", None))
        ),
    )


def class_choices(catalogue: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """(key, name) for the history filter, in the model's class order."""
    from mltrain.ml.classes import CLASS_KEYS

    catalogue = disease_catalogue() if catalogue is None else catalogue
    language = (get_language() or "en")[:2]
    choices = []
    for key in CLASS_KEYS:
        info = catalogue.get(key)
        choices.append((key, info.name(language) if info else key.replace("_", " ").capitalize()))
    return choices
