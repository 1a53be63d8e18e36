"""What the person reads when the checker refuses a photo or cannot tell: one wording for the
result page, history and the browser's own check before upload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class QualityAdvice:
    title: Promise
    fix: Promise


#: Keyed by ``mltrain.ml.quality.QualityIssue`` values.
QUALITY_ADVICE = {
    "too_small": QualityAdvice(
        _("This photo is too small to judge"),
        _(
            "Send the original photo, not a thumbnail or a screenshot, and move closer so the "
            "spot fills more of the picture."
        ),
    ),
    "too_dark": QualityAdvice(
        _("This photo is too dark to judge"),
        _("Move to better light, for example near a window in daylight, and take it again."),
    ),
    "overexposed": QualityAdvice(
        _("This photo is too bright to judge"),
        _(
            "Avoid direct sunlight or the flash shining on the spot: use even, indirect light "
            "and take it again."
        ),
    ),
    "blurred": QualityAdvice(
        _("This photo is too blurred to judge"),
        _(
            "Hold the phone steady, tap the spot on the screen to focus, keep about 10 cm "
            "away, and take it again."
        ),
    ),
}

#: Tips for a photo the checker can judge (shown with every refusal).
PHOTO_TIPS = (
    _("A close-up of the skin spot, filling about half of the picture."),
    _("In focus: hold the phone steady and tap the spot to focus."),
    _("Good, even light: daylight near a window, no flash glare."),
    _("Only skin in the picture: no clothes, jewellery or background around the spot."),
)

#: How the result page names the photo type when it quotes the model's figures.
PHOTO_TYPE_NAMES = {
    "clinical": _("ordinary camera photos"),
    "dermoscopic": _("dermoscope photos"),
}


def quality_advice(issue: str) -> QualityAdvice:
    return QUALITY_ADVICE.get(issue, QUALITY_ADVICE["blurred"])


def browser_quality_messages() -> dict[str, dict[str, str]]:
    """The advice for every issue, as plain strings for the upload page's own check."""
    return {
        issue: {"title": str(advice.title), "fix": str(advice.fix)}
        for issue, advice in QUALITY_ADVICE.items()
    }


def times_in_ten(accuracy: Any) -> int | None:
    """An accuracy as "about N times in 10" (None when unknown)."""
    if accuracy is None:
        return None
    return max(0, min(10, round(float(accuracy) * 10)))
