"""Serving a trust bundle: load and check its files, then judge one photo (numpy + ONNX Runtime).

See the package docstring for what the files hold and the order of the judgement.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import ArtifactError, ModelManifest, sha256_file
from ..calibration import softmax

logger = logging.getLogger(__name__)

TRUST_FORMAT = "skinsite-trust/1"
TRUST_FILES = ("trust.json", "trust.npz", "gate.onnx")
PHOTO_TYPES = ("clinical", "dermoscopic")
#: The gate's layers, in the order ``gate.onnx`` returns them.
GATE_LAYERS = ("mid", "late")


class Outcome(StrEnum):
    """What the checker concluded about one photo (stored on the diagnosis row)."""

    ANSWERED = "answered"
    CANT_TELL = "cant_tell"
    NOT_SKIN = "not_skin"
    POOR_QUALITY = "poor_quality"


@dataclass(frozen=True)
class Judgement:
    """The trust layer's verdict on one photo; ``probabilities`` are calibrated."""

    outcome: Outcome
    probabilities: np.ndarray
    gate_score: float | None
    photo_type: str
    clinical_probability: float | None
    #: How often the first answer was right in testing on photos of this type (answered ones).
    reference_accuracy: float | None


class TrustError(ArtifactError):
    """A trust bundle is present but missing a file, corrupt or inconsistent."""


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def knn_distance(queries: np.ndarray, bank: np.ndarray, k: int = 1) -> np.ndarray:
    """1 - mean cosine similarity of each query to its ``k`` nearest bank rows (both L2-normed)."""
    similarity = l2_normalise(queries) @ np.asarray(bank, dtype=np.float32).T
    if k <= 1:
        return 1.0 - similarity.max(axis=1)
    k = min(k, similarity.shape[1])
    nearest = -np.partition(-similarity, k - 1, axis=1)[:, :k]
    return 1.0 - nearest.mean(axis=1)


def gate_scores(
    features: Mapping[str, np.ndarray],
    banks: Mapping[str, np.ndarray],
    standardise: Mapping[str, tuple[float, float]],
    k: int = 1,
) -> np.ndarray:
    """Mean over layers of (kNN distance - median) / spread: higher is further from skin."""
    parts = []
    for layer in GATE_LAYERS:
        centre, spread = standardise[layer]
        parts.append((knn_distance(features[layer], banks[layer], k) - centre) / spread)
    return np.mean(parts, axis=0)


def type_features(features: Mapping[str, np.ndarray]) -> np.ndarray:
    """The photo-type head's input: both layers, each L2-normalised, side by side."""
    return np.concatenate([l2_normalise(features[layer]) for layer in GATE_LAYERS], axis=1)


def clinical_probability(
    features: Mapping[str, np.ndarray], weights: np.ndarray, bias: float
) -> np.ndarray:
    logits = type_features(features) @ np.asarray(weights, dtype=np.float32) + np.float32(bias)
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


def calibrated_probabilities(
    logits: np.ndarray, photo_types: list[str] | np.ndarray, temperatures: Mapping[str, float]
) -> np.ndarray:
    """Softmax of each row of ``logits`` at its photo type's temperature."""
    out = np.empty(np.shape(logits), dtype=np.float32)
    for row, (values, kind) in enumerate(zip(logits, photo_types, strict=True)):
        out[row] = softmax(np.asarray(values)[np.newaxis], float(temperatures[str(kind)]))[0]
    return out


@dataclass
class TrustBundle:
    """A loaded bundle. ``config`` is ``trust.json``; the arrays come from ``trust.npz``."""

    config: dict[str, Any]
    banks: dict[str, np.ndarray]
    type_weights: np.ndarray
    type_bias: float
    session: Any  # onnxruntime.InferenceSession over gate.onnx (+ the nearest-neighbour search)
    #: One session running the classifier and the gate on the same input, when they share it
    #: (``attach_classifier``): two sessions' thread pools fought for the two cores.
    combined: Any = None
    #: ``gate.onnx`` with the nearest-neighbour search, serialised (for ``attach_classifier``).
    gate_model: bytes = b""

    @property
    def input_size(self) -> int:
        return int(self.config["input_size"])

    @property
    def mean(self) -> tuple[float, ...]:
        return tuple(self.config["mean"])

    @property
    def std(self) -> tuple[float, ...]:
        return tuple(self.config["std"])

    @property
    def gate_threshold(self) -> float:
        return float(self.config["gate"]["threshold"])

    def features(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """The pooled features of both layers and, from the same run, each layer's cosine
        similarity to its nearest bank row (``<layer>_nearest``; see ``with_nearest``)."""
        outputs = self.session.run(None, {"image": np.asarray(batch, dtype=np.float32)})
        names = [output.name for output in self.session.get_outputs()]
        return dict(zip(names, outputs, strict=True))

    def gate_scores(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        gate = self.config["gate"]
        standardise = {k: (float(v[0]), float(v[1])) for k, v in gate["standardise"].items()}
        if int(gate["k"]) == 1 and all(f"{layer}_nearest" in features for layer in GATE_LAYERS):
            parts = [
                (1.0 - features[f"{layer}_nearest"] - standardise[layer][0]) / standardise[layer][1]
                for layer in GATE_LAYERS
            ]
            return np.mean(parts, axis=0)
        return gate_scores(features, self.banks, standardise, int(gate["k"]))

    def clinical_probabilities(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        return clinical_probability(features, self.type_weights, self.type_bias)

    def attach_classifier(self, model_onnx: str | Path, *, num_threads: int | None = None) -> None:
        """Serve the classifier and the gate from one ONNX Runtime session (same input)."""
        import onnx

        classifier = onnx.load(str(model_onnx))
        gate = onnx.load_model_from_string(self.gate_model)
        self.combined = _session(combined_graph(classifier, gate).SerializeToString(), num_threads)

    def run_combined(self, batch: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The classifier's logits and the gate's features from one run (``attach_classifier``)."""
        outputs = self.combined.run(None, {"image": np.asarray(batch, dtype=np.float32)})
        names = [output.name for output in self.combined.get_outputs()]
        values = dict(zip(names, outputs, strict=True))
        logits = values.pop("logits")
        return logits, {name.removeprefix("gate/"): value for name, value in values.items()}

    def judge(self, logits: np.ndarray, gate_batch: np.ndarray) -> Judgement:
        """Judge one photo from the classifier's raw ``logits`` (1 x classes) and the photo
        preprocessed for the gate (1 x 3 x size x size)."""
        return self.judge_features(logits, self.features(gate_batch))

    def judge_features(self, logits: np.ndarray, features: Mapping[str, np.ndarray]) -> Judgement:
        """``judge`` once the gate's features are known (e.g. from ``run_combined``)."""
        score = float(self.gate_scores(features)[0])
        p_clinical = float(self.clinical_probabilities(features)[0])
        photo_type = "clinical" if p_clinical >= 0.5 else "dermoscopic"
        probabilities = calibrated_probabilities(
            np.asarray(logits)[:1], [photo_type], self.config["temperatures"]
        )[0]
        if score > self.gate_threshold:
            outcome = Outcome.NOT_SKIN
        elif float(probabilities.max()) < float(self.config["abstain_thresholds"][photo_type]):
            outcome = Outcome.CANT_TELL
        else:
            outcome = Outcome.ANSWERED
        reference = (self.config.get("reference_accuracy") or {}).get(photo_type)
        return Judgement(
            outcome=outcome,
            probabilities=probabilities,
            gate_score=score,
            photo_type=photo_type,
            clinical_probability=p_clinical,
            reference_accuracy=float(reference) if reference is not None else None,
        )


def with_nearest(model: Any, banks: Mapping[str, np.ndarray]) -> Any:
    """The gate's ONNX graph with the 1-nearest-neighbour search appended (normalise, product
    with the bank, maximum), so one ONNX Runtime run gives the gate everything. Done in numpy
    right after the run, the small matrix products fought ONNX Runtime's still-spinning threads
    for the two cores and cost 5-20 ms instead of 0.1."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    for layer in GATE_LAYERS:
        bank = np.ascontiguousarray(np.asarray(banks[layer], dtype=np.float32).T)
        graph.initializer.append(numpy_helper.from_array(bank, f"{layer}_bank_t"))
        eps = numpy_helper.from_array(np.array(1e-8, dtype=np.float32), f"{layer}_eps")
        graph.initializer.append(eps)
        graph.node.extend(
            [
                helper.make_node("ReduceL2", [layer], [f"{layer}_norm"], axes=[1], keepdims=1),
                helper.make_node("Max", [f"{layer}_norm", f"{layer}_eps"], [f"{layer}_safe"]),
                helper.make_node("Div", [layer, f"{layer}_safe"], [f"{layer}_unit"]),
                helper.make_node("MatMul", [f"{layer}_unit", f"{layer}_bank_t"], [f"{layer}_sim"]),
                helper.make_node(
                    "ReduceMax", [f"{layer}_sim"], [f"{layer}_nearest"], axes=[1], keepdims=0
                ),
            ]
        )
        graph.output.append(
            helper.make_tensor_value_info(f"{layer}_nearest", TensorProto.FLOAT, ["batch"])
        )
    return model


def combined_graph(classifier: Any, gate: Any) -> Any:
    """The classifier's graph with the gate's nodes beside it, reading the same ``image`` input;
    the gate's names get a ``gate/`` prefix and its outputs are added to ``logits``."""
    from onnx import compose

    gate = compose.add_prefix(gate, "gate/")
    for node in gate.graph.node:
        node.input[:] = ["image" if name == "gate/image" else name for name in node.input]
    graph = classifier.graph
    graph.initializer.extend(gate.graph.initializer)
    graph.node.extend(gate.graph.node)
    graph.output.extend(gate.graph.output)
    return classifier


def _session(model: bytes | str, num_threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if num_threads:
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def has_trust(manifest: ModelManifest) -> bool:
    return bool(manifest.raw.get("trust"))


def load_trust(manifest: ModelManifest, *, num_threads: int | None = None) -> TrustBundle | None:
    """The artifact's trust bundle, or None when it has none (an older model: the gate is off).

    Raises ``TrustError`` when a bundle is named but a file is missing, does not match its
    sha256, or holds malformed values: a corrupt bundle is refused like a corrupt model.
    """
    if not has_trust(manifest):
        return None
    for name in TRUST_FILES:
        expected = manifest.files.get(name)
        target = manifest.file(name)
        if not expected or not target.is_file():
            raise TrustError(f"Artifact {manifest.version}: trust file {name} is missing.")
        if sha256_file(target) != expected:
            raise TrustError(f"Artifact {manifest.version}: {name} does not match its sha256.")
    try:
        config = json.loads(manifest.file("trust.json").read_text(encoding="utf-8"))
        with np.load(manifest.file("trust.npz"), allow_pickle=False) as arrays:
            banks = {layer: arrays[f"bank_{layer}"].astype(np.float32) for layer in GATE_LAYERS}
            type_weights = arrays["type_weights"].astype(np.float32)
            type_bias = float(arrays["type_bias"])
    except (OSError, ValueError, KeyError) as exc:
        raise TrustError(
            f"Artifact {manifest.version}: the trust bundle is unreadable: {exc}"
        ) from exc
    _check_config(manifest.version, config, banks, type_weights)
    try:
        import onnx

        gate_model = with_nearest(onnx.load(str(manifest.file("gate.onnx"))), banks)
        serialised = gate_model.SerializeToString()
        session = _session(serialised, num_threads)
    except Exception as exc:
        raise TrustError(f"Artifact {manifest.version}: gate.onnx cannot be loaded: {exc}") from exc
    return TrustBundle(config, banks, type_weights, type_bias, session, gate_model=serialised)


def _check_config(
    version: str, config: Any, banks: Mapping[str, np.ndarray], type_weights: np.ndarray
) -> None:
    def fail(what: str) -> TrustError:
        return TrustError(f"Artifact {version}: trust.json {what}.")

    if not isinstance(config, dict) or config.get("format") != TRUST_FORMAT:
        raise fail(f"is not of format {TRUST_FORMAT!r}")
    try:
        gate = config["gate"]
        threshold = float(gate["threshold"])
        k = int(gate["k"])
        spreads = [float(gate["standardise"][layer][1]) for layer in GATE_LAYERS]
        temperatures = [float(config["temperatures"][t]) for t in PHOTO_TYPES]
        abstain = [float(config["abstain_thresholds"][t]) for t in PHOTO_TYPES]
        size = int(config["input_size"])
        if len(config["mean"]) != 3 or len(config["std"]) != 3:
            raise fail("needs three mean and three std values")
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise fail(f"lacks or mangles a field ({exc})") from exc
    if not np.isfinite(threshold) or k < 1 or size < 32:
        raise fail("has an impossible gate threshold, k or input size")
    if min(spreads) <= 0 or min(temperatures) <= 0 or not all(0 <= a <= 1 for a in abstain):
        raise fail("has a non-positive spread or temperature, or an abstention outside [0, 1]")
    widths = {
        layer: banks[layer].shape[1] if banks[layer].ndim == 2 else -1 for layer in GATE_LAYERS
    }
    if min(b.shape[0] if b.ndim == 2 else 0 for b in banks.values()) < 1:
        raise fail("comes with an empty feature bank")
    if type_weights.shape != (sum(widths.values()),):
        raise fail("comes with a photo-type head that does not fit the features")
