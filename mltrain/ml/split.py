"""Stratified train/validation/test split, grouped by ``group_id``, seeded, saved as JSON.

Several photographs of one lesion share a ``group_id`` and always land in the same part, so test
scores are not inflated by lesions seen in training. The split is two rounds of scikit-learn's
``StratifiedGroupKFold`` over the strata "class and photo type": one fold of ``round(1 / test)``
is the test part, then one fold of ``round((1 - test) / val)`` of the rest is the validation part
(70/15/15 gives 1/7 and 1/6 folds, i.e. about 71.5/14.2/14.3). Images of train-only data roots
(see ``roots.py``) only ever go to the training part.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from .data import DataError, DatasetListing, ImageRecord
from .roots import WATERMARKED_SOURCES

PARTS = ("train", "val", "test")
# Version 2 records the data roots (name, role, fingerprint); version 1 files (one root, no
# "roots") still load.
SPLIT_FORMAT = "skinsite-split/2"


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
    labels: Sequence[Hashable],
    groups: Sequence[str],
    *,
    seed: int = 42,
    val: float = 0.15,
    test: float = 0.15,
) -> dict[str, list[int]]:
    """Return ``{"train": [...], "val": [...], "test": [...]}`` index lists (sorted).

    ``labels`` are the strata: class indices, or any hashable such as "class:photo type"."""
    y = np.asarray([str(label) for label in labels])
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


def stratum(record: ImageRecord) -> str:
    """What the split keeps in proportion: the class and, where the source says, the photo type
    (clinical melanoma is rare; stratifying by class alone can leave a part without it)."""
    return f"{record.label}:{record.photo_type}"


def make_split(
    listing: DatasetListing,
    *,
    seed: int = 42,
    val: float = 0.15,
    test: float = 0.15,
    keep: dict | None = None,
) -> dict:
    """A JSON-ready split of a listing, naming images by ``listing.relpath``.

    Images of train-only roots all go to ``train``, except those sharing a ``group_id`` with a
    validation or test image (a near-duplicate would leak): those are left out and counted.

    ``keep`` is an earlier split (e.g. the one a model we train on from was trained with): its
    images keep their parts, so that model's test images stay unseen and its test figures stay
    comparable; only images it does not name (a new root) are split afresh. Images sharing a
    group with a kept one follow it."""
    roles = {info.name: info.role for info in listing.roots}
    splittable = [r for r in listing.records if roles.get(r.root, "split") == "split"]
    train_only = [r for r in listing.records if roles.get(r.root, "split") == "train_only"]
    kept = kept_parts(listing, keep) if keep is not None else {}
    named: dict[str, list[str]] = {part: [] for part in PARTS}
    group_part: dict[str, str] = {}
    for record in splittable:
        part = kept.get(listing.relpath(record))
        if part is not None:
            named[part].append(listing.relpath(record))
            group_part[record.group_id] = part
    fresh = [r for r in splittable if listing.relpath(r) not in kept]
    for record in [r for r in fresh if r.group_id in group_part]:
        named[group_part[record.group_id]].append(listing.relpath(record))
    fresh = [r for r in fresh if r.group_id not in group_part]
    if fresh:
        indices = split_indices(
            [stratum(r) for r in fresh], [r.group_id for r in fresh], seed=seed, val=val, test=test
        )
        for part in PARTS:
            named[part] += [listing.relpath(fresh[i]) for i in indices[part]]
            group_part.update({fresh[i].group_id: part for i in indices[part]})
    held_out = {group for group, part in group_part.items() if part != "train"}
    extra = [r for r in train_only if r.group_id not in held_out]
    named["train"] += [listing.relpath(r) for r in extra]
    split = {
        "format": SPLIT_FORMAT if listing.roots else "skinsite-split/1",
        "seed": seed,
        "fractions": {"train": round(1 - val - test, 4), "val": val, "test": test},
        "method": "StratifiedGroupKFold by group_id, stratified by class and photo type",
        "data_fingerprint": listing.fingerprint(),
        **named,
    }
    if listing.roots:
        split["roots"] = [info.to_dict() for info in listing.roots]
        split["train_only_left_out"] = len(train_only) - len(extra)
    if keep is not None:
        split["kept_from"] = {
            "data_fingerprint": keep.get("data_fingerprint"),
            "images": len(kept),
        }
        split["method"] = f"{split['method']}; images of an earlier split keep their parts"
    return split


def kept_parts(listing: DatasetListing, keep: dict) -> dict[str, str]:
    """The part of each image of ``listing`` that the earlier split ``keep`` names.

    A split of one root names images by their plain path; it is matched to the root whose
    fingerprint it records (its data may not have changed since), else it is an error."""
    names = {name: part for part in PARTS for name in keep.get(part, [])}
    if not keep.get("roots") and listing.roots:
        fingerprint = keep.get("data_fingerprint")
        match = [info.name for info in listing.roots if info.fingerprint == fingerprint]
        if not match:
            raise DataError(
                "The split to keep was made on one data root whose images have changed or are "
                "not among the roots given (no root has its fingerprint)."
            )
        names = {f"{match[0]}/{name}": part for name, part in names.items()}
    present = {listing.relpath(r) for r in listing.records}
    return {name: part for name, part in names.items() if name in present}


def _names(listing: DatasetListing, split: dict) -> dict[str, ImageRecord]:
    """The listing's records by the names the split uses.

    A split of several roots names images ``<root>/<path>``; read against one root alone (e.g.
    evaluating on ``skin10`` only) the listing's plain paths get that root's prefix. A split of
    one root cannot be applied to several: which root it covers would be a guess."""
    by_name = {listing.relpath(r): r for r in listing.records}
    split_roots = split.get("roots") or []
    several = len(split_roots) > 1
    if several and not any(r.root for r in listing.records):
        match = [
            root["name"]
            for root in split_roots
            if root.get("fingerprint") == listing.fingerprint() or root["name"] == listing.root.name
        ]
        if not match:
            names = ", ".join(root["name"] for root in split_roots)
            raise DataError(
                f"The split covers the data roots {names}; {listing.root} is none of them."
            )
        by_name = {f"{match[0]}/{name}": r for name, r in by_name.items()}
    elif not several and any(r.root for r in listing.records):
        raise DataError(
            "This split was made on one data root; it cannot divide several. Make a new split "
            "(leave out --split) or pass only that root."
        )
    return by_name


def apply_split(listing: DatasetListing, split: dict) -> dict[str, list[ImageRecord]]:
    """Records of each part; images of the split missing from the listing are left out.

    Raises ``DataError`` when a validation or test image comes from a watermarked source."""
    by_name = _names(listing, split)
    parts = {part: [by_name[p] for p in split[part] if p in by_name] for part in PARTS}
    for part in ("val", "test"):
        marked = [r for r in parts[part] if r.source.lower() in WATERMARKED_SOURCES]
        if marked:
            raise DataError(
                f"The split's {part} part holds {len(marked)} watermarked photo(s) "
                f"(e.g. {listing.relpath(marked[0])}); they may only train."
            )
    return parts


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
