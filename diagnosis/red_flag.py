"""The red-flag rule: when a skin cancer is plausible, the person is told to see a doctor.

One rule, used by the worker (which stores the flag on the row, for history, the filter and the
export) and by the pages. Plausible means: in the top-3 at or above DIAGNOSIS_URGENT_THRESHOLD
(calibrated probability). Abstaining ("can't tell") never hides it; a photo refused as not skin
or too poor to judge names no condition, so it raises none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

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
