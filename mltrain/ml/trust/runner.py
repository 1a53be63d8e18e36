"""Fit a trust bundle for an artifact from data folders, or measure an artifact's bundle.

``fit_trust`` is what ``manage.py fit_trust`` runs; ``evaluate_trust`` is what ``evaluate_model``
prints. Each data root is split the way the artifact's ``split.json`` splits it when that file
covers the root (same fingerprint), else by its own grouped, stratified split (seed 42), so a
root the model never saw still gives validation photos for the thresholds and test photos to
report. ``bank_only`` roots (e.g. the watermarked dermnet-com) only add skin photos to the bank.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..artifacts import ArtifactError, load_manifest, sha256_file
from ..data import DatasetListing, ImageRecord, load_dataset
from ..split import PARTS, apply_split, load_split, split_indices, stratum
from .bundle import load_trust
from .fit import Part, export_gate, extract, fit_bundle, measure, write_bundle

Log = Callable[[str], None]


def split_root(
    listing: DatasetListing, artifact_split: dict | None
) -> dict[str, list[ImageRecord]]:
    """The parts of one root: the artifact's split when it covers this root, else its own."""
    if artifact_split and split_covers(artifact_split, listing):
        return apply_split(listing, artifact_split)
    records = listing.records
    indices = split_indices([stratum(r) for r in records], [r.group_id for r in records], seed=42)
    return {part: [records[i] for i in indices[part]] for part in PARTS}


def split_covers(split: dict, listing: DatasetListing) -> bool:
    """Whether ``split`` divides this root: a one-root split made on the same data, or a split of
    several roots that records this root's fingerprint among those it splits. (Re-splitting a
    root the model trained on would put its training photos among the validation and test
    photos, and every threshold and figure would be flattered.)"""
    fingerprint = listing.fingerprint()
    roots = split.get("roots") or []
    if len(roots) > 1:
        return any(
            root.get("fingerprint") == fingerprint and root.get("role", "split") == "split"
            for root in roots
        )
    return split.get("data_fingerprint") == fingerprint


def gather(
    data: Sequence[Path | str],
    bank_only: Sequence[Path | str],
    artifact_split: dict | None,
    log: Log,
) -> dict[str, list[ImageRecord]]:
    """Train/val/test records over every root (bank-only roots go to train)."""
    parts: dict[str, list[ImageRecord]] = {part: [] for part in PARTS}
    for root in data:
        listing = load_dataset(root)
        for part, records in split_root(listing, artifact_split).items():
            parts[part] += records
        log(f"{root}: {len(listing.records)} photos")
    for root in bank_only:
        listing = load_dataset(root)
        parts["train"] += listing.records
        log(f"{root}: {len(listing.records)} photos (bank only)")
    for part, records in parts.items():
        log(f"{part}: {len(records)} photos")
    return parts


def fit_trust(
    artifact_dir: Path | str,
    *,
    data: Sequence[Path | str],
    bank_only: Sequence[Path | str] = (),
    gate_weights: Path | str,
    log: Log = print,
) -> dict[str, Any]:
    """Fit and write the trust bundle of ``artifact_dir``; returns ``trust.json``'s content."""
    from ..predictors import load_predictor

    if not data:
        raise ArtifactError("fit_trust needs at least one data root with validation photos.")
    gate_weights = Path(gate_weights)
    if not gate_weights.is_file():
        raise ArtifactError(f"Gate weights {gate_weights} do not exist.")
    predictor = load_predictor(artifact_dir, backend="onnx")
    manifest = predictor.manifest
    split_file = manifest.file("split.json")
    artifact_split = load_split(split_file) if split_file.is_file() else None
    parts = gather(data, bank_only, artifact_split, log)
    if not parts["val"] or not parts["test"]:
        raise ArtifactError("The data gave no validation or test photos.")
    from .fit import _session

    with tempfile.TemporaryDirectory() as tmp:
        gate_path = Path(tmp) / "gate.onnx"
        export_gate(gate_weights, gate_path)
        gate = _session(gate_path)
        loaded: dict[str, Part] = {}
        for part, records in parts.items():
            log(f"features of {part} ({len(records)} photos)...")
            paths = [r.path for r in records]
            with_logits = part != "train"
            features, logits = extract(
                paths, gate, predictor if with_logits else None, manifest if with_logits else None
            )
            loaded[part] = Part(records, features, logits)
        config, arrays = fit_bundle(
            loaded["train"],
            loaded["val"],
            loaded["test"],
            backbone_name=gate_weights.name,
            backbone_sha256=sha256_file(gate_weights),
        )
        config["data"] = [str(Path(root).name) for root in data]
        config["bank_only"] = [str(Path(root).name) for root in bank_only]
        write_bundle(manifest.path, config, arrays, gate_path)
    return config


def evaluate_trust(
    artifact_dir: Path | str, records: Sequence[ImageRecord]
) -> dict[str, Any] | None:
    """The bundle's figures on ``records`` (None when the artifact has no bundle)."""
    from ..predictors import load_predictor

    predictor = load_predictor(artifact_dir, backend="onnx")
    manifest = load_manifest(artifact_dir)
    bundle = load_trust(manifest)
    if bundle is None:
        return None
    features, logits = extract(
        [r.path for r in records], bundle.session, predictor, predictor.manifest
    )
    part = Part(list(records), features, logits)
    banks = bundle.banks
    return measure(bundle.config, banks, bundle.type_weights, bundle.type_bias, part)


def trust_figures(
    artifact_dir: Path | str, data: Sequence[Path | str], part: str = "test"
) -> dict[str, Any] | None:
    """The bundle's figures on ``part`` of ``data``, split as ``fit_trust`` splits it (None when
    the artifact has no bundle)."""
    manifest = load_manifest(artifact_dir)
    if load_trust(manifest) is None:
        return None
    split_file = manifest.file("split.json")
    artifact_split = load_split(split_file) if split_file.is_file() else None
    records = gather(data, [], artifact_split, lambda _: None)[part]
    return evaluate_trust(artifact_dir, records)
