"""Fitting a trust bundle for a model artifact (needs PyTorch for the gate's ONNX export).

Every choice is made on validation photos; the test photos are only measured:

* the gate's bank is the training photos' features (every root, train-only roots included: they
  are skin photos of more kinds and tones); its threshold passes ``GATE_PASS_QUANTILE`` of the
  validation photos of each type (a margin over the 97% target);
* the photo-type head is a logistic regression on the training photos' ``source`` column;
* one temperature per photo type, fitted on that type's validation logits;
* per type, the lowest calibrated top-1 probability at which validation answers are right at
  least ``TARGET_ANSWERED_ACCURACY`` of the time becomes the abstention threshold.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..artifacts import ArtifactError, ModelManifest, load_manifest, sha256_file
from ..calibration import expected_calibration_error, fit_temperature
from ..data import ImageRecord
from ..preprocess import IMAGENET_MEAN, IMAGENET_STD, preprocess
from .bundle import (
    GATE_LAYERS,
    PHOTO_TYPES,
    TRUST_FILES,
    TRUST_FORMAT,
    calibrated_probabilities,
    clinical_probability,
    gate_scores,
    knn_distance,
    l2_normalise,
    type_features,
)

Log = Callable[[str], None]

GATE_INPUT_SIZE = 160
#: The MobileNetV2 blocks whose pooled outputs the gate compares ("mid", "late").
GATE_BLOCKS = (13, 18)
GATE_K = 1
GATE_PASS_QUANTILE = 0.99
TARGET_ANSWERED_ACCURACY = 0.70
#: Validation answers must beat the target by this much: a few hundred clinical validation
#: photos put about 3 points of noise on the accuracy of the answers.
ABSTAIN_MARGIN = 0.03
#: The late layer's bank is reduced to this many k-means centres (1280-d features of ten
#: thousand photos would weigh 30 MB; 1024 centres rejected as many non-skin photos as 2048 and
#: passed as many skin photos); the mid layer's 96-d bank is kept whole.
LATE_BANK_SIZE = 1024
RISK_COVERAGE_STEPS = tuple(round(0.05 * i, 2) for i in range(20))


@dataclass
class Part:
    """One part of the data (train, val or test) with what the bundle needs of it."""

    records: list[ImageRecord]
    features: dict[str, np.ndarray]
    logits: np.ndarray | None = None

    @property
    def labels(self) -> np.ndarray:
        return np.asarray([r.label for r in self.records], dtype=np.int64)

    @property
    def photo_types(self) -> np.ndarray:
        return np.asarray([r.photo_type for r in self.records])


def build_gate_network(weights: Path | str) -> Any:
    """ImageNet MobileNetV2 (torchvision layout) returning the pooled outputs of GATE_BLOCKS."""
    import torch
    from torchvision.models import mobilenet_v2

    backbone = mobilenet_v2()
    try:
        state = torch.load(Path(weights), map_location="cpu", weights_only=True)
        backbone.load_state_dict(state, strict=True)
    except (OSError, RuntimeError) as exc:
        raise ArtifactError(f"{weights} is not an ImageNet MobileNetV2 state dict: {exc}") from exc

    class GateFeatures(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = backbone.features[: max(GATE_BLOCKS) + 1]

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            pooled = []
            for index, block in enumerate(self.blocks):
                x = block(x)
                if index in GATE_BLOCKS:
                    pooled.append(x.mean(dim=(2, 3)))
            return tuple(pooled)

    return GateFeatures().eval()


def export_gate(weights: Path | str, path: Path) -> None:
    import torch

    network = build_gate_network(weights)
    torch.onnx.export(
        network,
        (torch.zeros(1, 3, GATE_INPUT_SIZE, GATE_INPUT_SIZE),),
        str(path),
        input_names=["image"],
        output_names=list(GATE_LAYERS),
        dynamic_axes={"image": {0: "batch"}, **{name: {0: "batch"} for name in GATE_LAYERS}},
        opset_version=17,
        dynamo=False,
    )


def _session(path: Path, threads: int | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def extract(
    images: Sequence[Image.Image | Path],
    gate: Any,
    classifier: Any | None = None,
    manifest: ModelManifest | None = None,
    batch_size: int = 64,
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Gate features (and the classifier's logits when given) for photos or photo paths."""
    features: dict[str, list[np.ndarray]] = {layer: [] for layer in GATE_LAYERS}
    logits: list[np.ndarray] = []
    for start in range(0, len(images), batch_size):
        gate_batch, model_batch = [], []
        for item in images[start : start + batch_size]:
            image = Image.open(item) if isinstance(item, Path) else item
            try:
                rgb = image.convert("RGB")
                gate_batch.append(
                    preprocess(
                        rgb, input_size=GATE_INPUT_SIZE, mean=IMAGENET_MEAN, std=IMAGENET_STD
                    )
                )
                if classifier is not None and manifest is not None:
                    model_batch.append(
                        preprocess(
                            rgb,
                            input_size=manifest.input_size,
                            mean=manifest.mean,
                            std=manifest.std,
                        )
                    )
            finally:
                if isinstance(item, Path):
                    image.close()
        outputs = gate.run(list(GATE_LAYERS), {"image": np.stack(gate_batch)})
        for layer, values in zip(GATE_LAYERS, outputs, strict=True):
            features[layer].append(values)
        if model_batch and classifier is not None:
            logits.append(classifier.predict_logits(np.stack(model_batch)))
    stacked = {
        layer: np.concatenate(values) if values else np.zeros((0, 1), np.float32)
        for layer, values in features.items()
    }
    return stacked, (np.concatenate(logits) if logits else None)


def _kmeans_centres(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) <= n:
        return x
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(n_clusters=n, random_state=0, n_init=1, batch_size=4096).fit(x)
    return l2_normalise(km.cluster_centers_)


def fit_gate(
    train: dict[str, np.ndarray], val: Part
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The bank and the threshold; the threshold passes GATE_PASS_QUANTILE of each val type."""
    banks = {
        "mid": l2_normalise(train["mid"]),
        "late": _kmeans_centres(l2_normalise(train["late"]), LATE_BANK_SIZE),
    }
    banks = {k: v.astype(np.float16).astype(np.float32) for k, v in banks.items()}
    standardise: dict[str, tuple[float, float]] = {}
    for layer in GATE_LAYERS:
        distance = knn_distance(val.features[layer], banks[layer], GATE_K)
        centre = float(np.median(distance))
        spread = float(np.quantile(distance, 0.99) - centre) or 1.0
        standardise[layer] = (centre, spread)
    scores = gate_scores(val.features, banks, standardise, GATE_K)
    types = val.photo_types
    threshold = max(
        float(np.quantile(scores[types == kind], GATE_PASS_QUANTILE))
        for kind in PHOTO_TYPES
        if (types == kind).any()
    )
    config = {
        "k": GATE_K,
        "blocks": list(GATE_BLOCKS),
        "pass_quantile": GATE_PASS_QUANTILE,
        "standardise": {k: list(v) for k, v in standardise.items()},
        "threshold": threshold,
        "bank_sizes": {k: len(v) for k, v in banks.items()},
    }
    return config, banks


def fit_type_head(train: Part) -> tuple[np.ndarray, float, float]:
    """Logistic regression clinical-vs-dermoscopic; returns weights, bias, training accuracy."""
    from sklearn.linear_model import LogisticRegression

    known = train.photo_types != "unknown"
    x = type_features({k: v[known] for k, v in train.features.items()})
    y = (train.photo_types[known] == "clinical").astype(int)
    if len(np.unique(y)) < 2:
        raise ArtifactError("The photo-type head needs clinical and dermoscopic training photos.")
    head = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(x, y)
    return head.coef_[0].astype(np.float32), float(head.intercept_[0]), float(head.score(x, y))


def predicted_types(part: Part, weights: np.ndarray, bias: float) -> np.ndarray:
    p = clinical_probability(part.features, weights, bias)
    return np.where(p >= 0.5, "clinical", "dermoscopic")


def fit_temperatures(logits: np.ndarray, labels: np.ndarray, types: np.ndarray) -> dict[str, float]:
    """One temperature per photo type (the same for both when a type has no val photos)."""
    overall = fit_temperature(logits, labels)
    return {
        kind: fit_temperature(logits[types == kind], labels[types == kind])
        if (types == kind).sum() >= 10
        else overall
        for kind in PHOTO_TYPES
    }


def risk_coverage(
    probs: np.ndarray, labels: np.ndarray, steps: Sequence[float] = RISK_COVERAGE_STEPS
) -> list[dict[str, float]]:
    """For each threshold: the share of photos answered and the accuracy of those answers."""
    confidence = probs.max(axis=1) if len(probs) else np.zeros(0)
    correct = probs.argmax(axis=1) == labels if len(probs) else np.zeros(0, bool)
    rows = []
    for threshold in steps:
        answered = confidence >= threshold
        rows.append(
            {
                "threshold": float(threshold),
                "coverage": float(answered.mean()) if len(answered) else 0.0,
                "accuracy": float(correct[answered].mean()) if answered.any() else 0.0,
                "count": int(answered.sum()),
            }
        )
    return rows


def choose_abstain_threshold(
    probs: np.ndarray, labels: np.ndarray, target: float = TARGET_ANSWERED_ACCURACY + ABSTAIN_MARGIN
) -> float:
    """The lowest threshold (0.01 steps) whose answered photos are right ``target`` of the time
    (0.99 when none is)."""
    steps = [round(0.01 * i, 2) for i in range(100)]
    for row in risk_coverage(probs, labels, steps):
        if row["count"] >= 10 and row["accuracy"] >= target:
            return row["threshold"]
    return 0.99


def measure(
    config: dict[str, Any],
    banks: dict[str, np.ndarray],
    weights: np.ndarray,
    bias: float,
    part: Part,
) -> dict[str, Any]:
    """The bundle's figures on one part: gate pass rates, type-head accuracy, per-type ECE,
    risk-coverage, answered accuracy and coverage, per true photo type."""
    gate = config["gate"]
    standardise = {k: (float(v[0]), float(v[1])) for k, v in gate["standardise"].items()}
    scores = gate_scores(part.features, banks, standardise, int(gate["k"]))
    passed = scores <= float(gate["threshold"])
    guessed = predicted_types(part, weights, bias)
    truth = part.photo_types
    known = truth != "unknown"
    result: dict[str, Any] = {
        "count": len(part.records),
        "gate_pass_rate": float(passed.mean()) if len(passed) else None,
        "type_head_accuracy": float((guessed[known] == truth[known]).mean())
        if known.any()
        else None,
        "by_photo_type": {},
    }
    if part.logits is None:
        return result
    probs = calibrated_probabilities(part.logits, guessed, config["temperatures"])
    labels = part.labels
    for kind in PHOTO_TYPES:
        mask = truth == kind
        if not mask.any():
            continue
        threshold = float(config["abstain_thresholds"][kind])
        in_scope = mask & passed
        confidence = probs.max(axis=1)
        answered = in_scope & (confidence >= threshold)
        correct = probs.argmax(axis=1) == labels
        result["by_photo_type"][kind] = {
            "count": int(mask.sum()),
            "gate_pass_rate": float(passed[mask].mean()),
            "accuracy": float(correct[mask].mean()),
            "ece": expected_calibration_error(probs[mask], labels[mask]),
            "abstain_threshold": threshold,
            "answered_coverage": float(answered.sum() / max(1, in_scope.sum())),
            "answered_accuracy": float(correct[answered].mean()) if answered.any() else None,
            "risk_coverage": risk_coverage(probs[in_scope], labels[in_scope]),
        }
    return result


def fit_bundle(
    train: Part, val: Part, test: Part, *, backbone_name: str, backbone_sha256: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit every part of the bundle on ``train``/``val``; measure it on ``val`` and ``test``.
    Returns ``trust.json``'s content and ``trust.npz``'s arrays."""
    if val.logits is None or test.logits is None:
        raise ArtifactError("Fitting a trust bundle needs the classifier's logits.")
    gate_config, banks = fit_gate(train.features, val)
    weights, bias, train_type_accuracy = fit_type_head(train)
    val_types = predicted_types(val, weights, bias)
    temperatures = fit_temperatures(val.logits, val.labels, val_types)
    val_probs = calibrated_probabilities(val.logits, val_types, temperatures)
    abstain = {}
    for kind in PHOTO_TYPES:
        mask = val_types == kind
        abstain[kind] = (
            choose_abstain_threshold(val_probs[mask], val.labels[mask]) if mask.sum() >= 10 else 0.0
        )
    config: dict[str, Any] = {
        "format": TRUST_FORMAT,
        "input_size": GATE_INPUT_SIZE,
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "backbone": {"name": backbone_name, "sha256": backbone_sha256},
        "gate": gate_config,
        "temperatures": temperatures,
        "abstain_thresholds": abstain,
        "target_answered_accuracy": TARGET_ANSWERED_ACCURACY,
        "abstain_margin": ABSTAIN_MARGIN,
        "type_head": {"train_accuracy": train_type_accuracy},
    }
    config["validation"] = measure(config, banks, weights, bias, val)
    config["test"] = measure(config, banks, weights, bias, test)
    config["reference_accuracy"] = {
        kind: row.get("answered_accuracy") for kind, row in config["test"]["by_photo_type"].items()
    }
    arrays = {
        **{f"bank_{k}": v.astype(np.float16) for k, v in banks.items()},
        "type_weights": weights,
        "type_bias": np.float32(bias),
    }
    return config, arrays


def write_bundle(
    artifact_dir: Path, config: dict[str, Any], arrays: dict[str, Any], gate_onnx: Path
) -> ModelManifest:
    """Add (or replace) the trust files in an artifact and list them in its manifest.

    The files are written beside the manifest first, then the manifest is replaced in one
    rename, so a crash leaves the old manifest (which ignores unlisted files) in force.
    """
    manifest = load_manifest(artifact_dir, verify=True)
    directory = manifest.path
    (directory / "trust.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    with (directory / "trust.npz").open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    if gate_onnx.resolve() != (directory / "gate.onnx").resolve():
        shutil.copyfile(gate_onnx, directory / "gate.onnx")
    raw = dict(manifest.raw)
    raw["files"] = {**raw["files"], **{name: sha256_file(directory / name) for name in TRUST_FILES}}
    raw["trust"] = "trust.json"
    part = directory / "manifest.json.part"
    part.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    part.replace(directory / "manifest.json")
    return load_manifest(directory, verify=True)
