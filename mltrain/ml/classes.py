"""The ten classes every model, the catalogue and the results share, in model index order.

The order is the order of the Kaggle "Skin Diseases Image Dataset" folders
(`1. Eczema ...` to `10. Warts Molluscum and other Viral Infections ...`); index ``i`` of a
model's output is ``CLASS_KEYS[i]``. Keys are stable: never rename one, add new ones at the end.
"""

from __future__ import annotations

CLASS_KEYS: tuple[str, ...] = (
    "eczema",
    "melanoma",
    "atopic_dermatitis",
    "basal_cell_carcinoma",
    "melanocytic_nevi",
    "benign_keratosis",
    "psoriasis_lichen_planus",
    "seborrheic_keratosis_benign_tumors",
    "fungal_infections",
    "viral_infections",
)

NUM_CLASSES = len(CLASS_KEYS)
