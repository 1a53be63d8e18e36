"""Stratified train/validation/test split, grouped by ``group_id``, seeded, saved as JSON.

Several photographs of one lesion share a ``group_id`` and always land in the same part, so test
scores are not inflated by lesions seen in training. The split is two rounds of scikit-learn's
``StratifiedGroupKFold``: one fold of ``round(1 / test)`` is the test part, then one fold of
``round((1 - test) / val)`` of the rest is the validation part (70/15/15 gives 1/7 and 1/6 folds,
i.e. about 71.5/14.2/14.3).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from .data import DataError, DatasetListing, ImageRecord

PARTS = ("train", "val", "test")


def _one_fold(labels: np.ndarray, groups: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    """Indices of one stratified, grouped fold of about ``1 / n_splits`` of the samples."""
    n_groups = len(np.unique(groups))
    largest_class = int(np.unique(labels, return_counts=True)[1].max())
    # scikit-learn refuses more folds than the largest class has members (tiny data sets).
    n_splits = max(2, min(n_splits, n_groups, largest_class))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # Classes rarer than n_splits are expected in tiny data sets.
        warnings.simplefilter("ignore", UserWarning)
        _, fold = next(iter(splitter.split(np.zeros(len(labels)), labels, groups)))
    return fold


def split_indices(
    labels: Sequence[int],
    groups: Sequence[str],
    *,
    seed: int = 42,
    val: float = 0.15,
    test: float = 0.15,
) -> dict[str, list[int]]:
    """Return ``{"train": [...], "val": [...], "test": [...]}`` index lists (sorted)."""
    y = np.asarray(labels)
    g = np.asarray(groups)
    if len(np.unique(g)) < 3:
        raise DataError("A split needs at least three groups of images.")
    test_idx = _one_fold(y, g, round(1 / test), seed)
    rest = np.setdiff1d(np.arange(len(y)), test_idx)
    val_in_rest = _one_fold(y[rest], g[rest], round((1 - test) / val), seed + 1)
    val_idx = rest[val_in_rest]
    train_idx = np.setdiff1d(rest, val_idx)
    parts = {"train": train_idx, "val": val_idx, "test": test_idx}
    if any(len(v) == 0 for v in parts.values()):
        raise DataError("The data set is too small for a train/validation/test split.")
    return {name: sorted(int(i) for i in idx) for name, idx in parts.items()}


def make_split(
    listing: DatasetListing, *, seed: int = 42, val: float = 0.15, test: float = 0.15
) -> dict:
    """A JSON-ready split of a listing, naming images by their path relative to the data root."""
    records = listing.records
    indices = split_indices(
        [r.label for r in records], [r.group_id for r in records], seed=seed, val=val, test=test
    )
    return {
        "format": "skinsite-split/1",
        "seed": seed,
        "fractions": {"train": round(1 - val - test, 4), "val": val, "test": test},
        "method": "StratifiedGroupKFold by group_id",
        "data_fingerprint": listing.fingerprint(),
        **{part: [listing.relpath(records[i]) for i in indices[part]] for part in PARTS},
    }


def apply_split(listing: DatasetListing, split: dict) -> dict[str, list[ImageRecord]]:
    """Records of each part; images of the split missing from the listing are left out."""
    by_path = {listing.relpath(r): r for r in listing.records}
    return {part: [by_path[p] for p in split[part] if p in by_path] for part in PARTS}


def save_split(split: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(split, indent=1), encoding="utf-8")
    tmp.replace(path)


def load_split(path: Path) -> dict:
    try:
        split = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read the split {path}: {exc}") from exc
    if not all(isinstance(split.get(p), list) for p in PARTS):
        raise DataError(f"{path} is not a split file (needs train, val and test lists).")
    return split
