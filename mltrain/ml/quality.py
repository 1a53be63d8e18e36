"""THE definition of "too poor to judge": one set of checks the worker applies to every photo.

The browser runs the same checks on a canvas before sending (``diagnosis/static/diagnosis/
quality.js``, fed with ``QUALITY_LIMITS`` through the page), but only the server's verdict
counts. The checks, in the order a person should fix them:

1. too small: the shorter side is under ``MIN_SIDE_FRACTION`` of the model's input size (the
   model would have to enlarge it by more than a third; skin10's own dermoscopic images are
   200 x 150 px and must pass at 160 px);
2. too dark: the mean brightness of the grey image is under ``DARK_MEAN``;
3. overexposed: more than ``OVEREXPOSED_SHARE`` of the pixels are clipped white;
4. blurred: the variance of the Laplacian of the grey image, downscaled so its shorter side is
   ``ANALYSIS_SIDE`` px (so a phone photo and a small one are judged alike), is under
   ``BLUR_VARIANCE``. Flat, featureless images (a wall, a blank screen) fail here too.

The limits were set on real photos (skin10 and clinical-extra test parts: at most 2% of them may
be refused; see ``bench/RESULTS.md``) and checked on degraded copies (blurred, darkened,
downscaled) made at test time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PIL import Image

#: A photo's shorter side may be this share of the model's input size, no less.
MIN_SIDE_FRACTION = 0.75
#: The grey image is analysed with its shorter side at this size.
ANALYSIS_SIDE = 256
#: Mean grey level (0-255) under which a photo is too dark.
DARK_MEAN = 40.0
#: Share of pixels at or above ``CLIPPED_LEVEL`` over which a photo is overexposed.
OVEREXPOSED_SHARE = 0.40
CLIPPED_LEVEL = 250
#: Variance of the 4-neighbour Laplacian (grey levels 0-255) under which a photo is blurred.
BLUR_VARIANCE = 8.0


class QualityIssue(StrEnum):
    TOO_SMALL = "too_small"
    TOO_DARK = "too_dark"
    OVEREXPOSED = "overexposed"
    BLURRED = "blurred"


@dataclass(frozen=True)
class QualityReport:
    """The measurements and the first issue found (``None``: good enough to judge)."""

    issue: QualityIssue | None
    short_side: int
    brightness: float
    clipped_share: float
    sharpness: float

    @property
    def acceptable(self) -> bool:
        return self.issue is None


def min_side_for(input_size: int) -> int:
    """The shortest side accepted for a model of ``input_size`` px."""
    return round(input_size * MIN_SIDE_FRACTION)


def limits(min_side: int) -> dict[str, float | int]:
    """The limits as plain values, for the browser's copy of these checks."""
    return {
        "minSide": int(min_side),
        "analysisSide": ANALYSIS_SIDE,
        "darkMean": DARK_MEAN,
        "overexposedShare": OVEREXPOSED_SHARE,
        "clippedLevel": CLIPPED_LEVEL,
        "blurVariance": BLUR_VARIANCE,
    }


def grey_for_analysis(image: Image.Image) -> np.ndarray:
    """The photo as a float32 grey array with its shorter side at ``ANALYSIS_SIDE`` px (never
    enlarged)."""
    grey = image.convert("L")
    short = min(grey.size)
    if short > ANALYSIS_SIDE:
        scale = ANALYSIS_SIDE / short
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(grey, dtype=np.float32)


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian over the interior pixels."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    return float(lap.var())


def assess(
    image: Image.Image, *, min_side: int, original_size: tuple[int, int] | None = None
) -> QualityReport:
    """Measure ``image`` and name its first problem. ``original_size`` is the size the person
    sent when ``image`` is a smaller working copy (the too-small check uses it)."""
    width, height = original_size or image.size
    short_side = min(width, height)
    grey = grey_for_analysis(image)
    brightness = float(grey.mean()) if grey.size else 0.0
    clipped_share = float((grey >= CLIPPED_LEVEL).mean()) if grey.size else 0.0
    sharpness = laplacian_variance(grey)
    issue: QualityIssue | None = None
    if short_side < min_side:
        issue = QualityIssue.TOO_SMALL
    elif brightness < DARK_MEAN:
        issue = QualityIssue.TOO_DARK
    elif clipped_share > OVEREXPOSED_SHARE:
        issue = QualityIssue.OVEREXPOSED
    elif sharpness < BLUR_VARIANCE:
        issue = QualityIssue.BLURRED
    return QualityReport(issue, short_side, brightness, clipped_share, sharpness)
