from __future__ import annotations

from pathlib import Path

import numpy as np

from mltrain.ml.data import load_dataset
from mltrain.ml.split import apply_split, load_split, make_split, save_split, split_indices


def _synthetic(n_groups: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels, groups = [], []
    for g in range(n_groups):
        label = int(rng.choice(5, p=[0.5, 0.2, 0.15, 0.1, 0.05]))
        for _ in range(int(rng.integers(1, 4))):  # 1-3 photos of one lesion
            labels.append(label)
            groups.append(f"lesion-{g}")
    return labels, groups


def test_no_group_straddles_two_parts():
    labels, groups = _synthetic()
    parts = split_indices(labels, groups, seed=7)
    owners = {}
    for part, indices in parts.items():
        for i in indices:
            assert owners.setdefault(groups[i], part) == part
    assert sorted(i for idx in parts.values() for i in idx) == list(range(len(labels)))


def test_parts_are_about_70_15_15_and_stratified():
    labels, groups = _synthetic()
    parts = split_indices(labels, groups, seed=7)
    n = len(labels)
    assert abs(len(parts["test"]) / n - 0.15) < 0.03
    assert abs(len(parts["val"]) / n - 0.15) < 0.03
    y = np.asarray(labels)
    for part in ("val", "test"):
        share = (y[parts[part]] == 0).mean()
        assert abs(share - (y == 0).mean()) < 0.06


def test_the_split_is_seeded():
    labels, groups = _synthetic()
    assert split_indices(labels, groups, seed=3) == split_indices(labels, groups, seed=3)
    assert split_indices(labels, groups, seed=3) != split_indices(labels, groups, seed=4)


def test_a_saved_split_reloads_to_the_same_records(manifest_data: Path, tmp_path: Path):
    listing = load_dataset(manifest_data)
    split = make_split(listing, seed=1)
    save_split(split, tmp_path / "split.json")
    again = apply_split(listing, load_split(tmp_path / "split.json"))
    assert [r.path for r in again["test"]] == [r.path for r in apply_split(listing, split)["test"]]
    test_groups = {r.group_id for r in again["test"]}
    assert not test_groups & {r.group_id for r in again["train"]}
