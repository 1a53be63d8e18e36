"""Model loading and prediction inside a worker process.

``get_predictor()`` is memoised per process: the first job of a pool child loads the active
model version (never at import, never in the prefork parent: CUDA cannot survive a fork), and
later jobs reuse it until a different version is activated, which ``active_model_version()``
(cached briefly by mltrain) reveals before the next job. A missing, corrupt or incompatible
artifact raises ``ModelUnavailable``; nothing is cached then, so the next job tries again.

``classify_image`` judges a photo in this order (``mltrain.ml.trust`` explains the last three):
too poor to judge (``mltrain.ml.quality``, any model) -> not skin -> photo type and per-type
calibration -> can't tell. A model without a trust bundle (an older artifact) still serves, with
one log line saying the gate is off; its answers then carry no photo type and no "right N times
in 10" figure, so the page claims nothing it does not know.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

logger = logging.getLogger(__name__)

TOP_K = 3


class ModelUnavailable(Exception):
    """No usable model: ``code`` is a ``Diagnosis.FailureCode`` value, ``detail`` for staff."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class LoadedModel:
    version: str
    sha256: str
    predictor: Any  # mltrain.ml.predictors.Predictor
    key: tuple[Any, ...]
    trust: Any = None  # mltrain.ml.trust.bundle.TrustBundle, None when the artifact has none


@dataclass(frozen=True)
class Classification:
    """The worker's verdict on one photo. ``predictions`` is empty when the photo was refused
    (not skin, too poor to judge): nothing names a condition then."""

    predictions: list[dict[str, Any]]
    model_version: str
    model_sha256: str
    inference_ms: int
    outcome: str = "answered"
    photo_type: str = ""
    gate_score: float | None = None
    quality_issue: str = ""
    reference_accuracy: float | None = None


_lock = threading.Lock()
_loaded: LoadedModel | None = None
_input_sizes: dict[tuple[str, str], int] = {}


def active_version() -> Any | None:
    """The active ``mltrain.models.ModelVersion`` or None (cached briefly by mltrain)."""
    from mltrain.services import active_model_version

    return active_model_version()


def active_input_size() -> int | None:
    """The active model's input size, from its manifest (None without a readable one). The web
    process reads only the manifest, once per version: the model itself loads in the worker."""
    version = active_version()
    if version is None:
        return None
    key = (str(version.path), str(version.sha256))
    if key not in _input_sizes:
        from mltrain.ml.artifacts import ArtifactError, load_manifest

        try:
            _input_sizes[key] = load_manifest(key[0]).input_size
        except (ArtifactError, OSError) as exc:
            # Not remembered: a manifest being replaced is read again on the next page.
            logger.warning("the active model's manifest at %s is unreadable: %s", key[0], exc)
            return None
    return _input_sizes[key]


def service_ready() -> bool:
    """Whether uploads may be queued: a model version is active."""
    return active_version() is not None


def get_predictor() -> LoadedModel:
    """The active model, loaded once per process and reloaded when the active version changes."""
    global _loaded
    version = active_version()
    if version is None:
        raise ModelUnavailable("no_model", "No model version is active.")
    backend = settings.INFERENCE_BACKEND
    device = settings.INFERENCE_DEVICE
    key = (version.pk, version.version, version.sha256, str(version.path), backend, device)
    current = _loaded
    if current is not None and current.key == key:
        return current
    with _lock:
        if _loaded is not None and _loaded.key == key:
            return _loaded
        _loaded = _load(version, key, backend=backend, device=device)
        return _loaded


def _load(version: Any, key: tuple[Any, ...], *, backend: str, device: str) -> LoadedModel:
    from mltrain.ml.artifacts import ArtifactError
    from mltrain.ml.predictors import load_predictor
    from mltrain.ml.trust.bundle import load_trust

    if backend == "onnx" and device != "cpu":
        logger.warning(
            "INFERENCE_DEVICE=%s is ignored by the onnx backend (CPU); use INFERENCE_BACKEND=torch",
            device,
        )
    started = time.perf_counter()
    try:
        predictor = load_predictor(
            Path(version.path),
            backend=backend,
            device=device,
            num_threads=settings.INFERENCE_THREADS or None,
        )
        trust = load_trust(predictor.manifest, num_threads=settings.INFERENCE_THREADS or None)
        if trust is not None and backend == "onnx" and shares_input(trust, predictor.manifest):
            # One ONNX Runtime session for classifier and gate: two sessions' thread pools
            # fought for the cores and the gate cost twice its own time.
            trust.attach_classifier(
                predictor.manifest.file("model.onnx"),
                num_threads=settings.INFERENCE_THREADS or None,
            )
    except (ArtifactError, OSError, ValueError, RuntimeError) as exc:
        logger.error("model %s cannot be loaded: %s", version.version, exc)
        raise ModelUnavailable("model_unusable", f"{version.version}: {exc}") from exc
    manifest = predictor.manifest
    if version.sha256 and manifest.sha256 != version.sha256:
        raise ModelUnavailable(
            "model_unusable",
            f"{version.version}: the artifact's sha256 {manifest.sha256} is not the registered "
            f"{version.sha256}",
        )
    logger.info(
        "loaded model %s (%s on %s) in %.0f ms",
        version.version,
        backend,
        device,
        (time.perf_counter() - started) * 1000,
    )
    if trust is None:
        logger.warning(
            "model %s has no trust bundle: the not-skin gate, the photo-type calibration and "
            '"can\'t tell" are off (manage.py fit_trust adds them)',
            version.version,
        )
    return LoadedModel(
        version=str(version.version),
        sha256=manifest.sha256,
        predictor=predictor,
        key=key,
        trust=trust,
    )


def classify_image(
    source: str | Path | IO[bytes], *, original_size: tuple[int, int] | None = None
) -> Classification:
    """Judge a stored (already normalised) photo with the active model: its quality first, then
    the trust bundle's gate, photo type and calibration, then the top-3.

    ``original_size`` is the size the person sent (the stored copy may be smaller)."""
    import numpy as np
    from PIL import Image

    from mltrain.ml import quality
    from mltrain.ml.calibration import softmax
    from mltrain.ml.preprocess import preprocess

    loaded = get_predictor()
    manifest = loaded.predictor.manifest
    trust = loaded.trust
    started = time.perf_counter()
    with Image.open(source) as img:
        size = original_size or img.size
        if img.format == "JPEG":
            img.draft("RGB", (2 * manifest.input_size, 2 * manifest.input_size))
        rgb = img.convert("RGB")
    report = quality.assess(
        rgb, min_side=quality.min_side_for(manifest.input_size), original_size=size
    )

    def done(**fields: Any) -> Classification:
        return Classification(
            model_version=loaded.version,
            model_sha256=loaded.sha256,
            inference_ms=round((time.perf_counter() - started) * 1000),
            **fields,
        )

    if report.issue is not None:
        return done(predictions=[], outcome="poor_quality", quality_issue=str(report.issue))
    batch = preprocess(rgb, input_size=manifest.input_size, mean=manifest.mean, std=manifest.std)
    if trust is not None and trust.combined is not None:
        logits, features = trust.run_combined(batch[np.newaxis])
        judgement = trust.judge_features(logits, features)
    else:
        logits = np.asarray(loaded.predictor.predict_logits(batch[np.newaxis]))
        if trust is None:
            probabilities = softmax(logits, manifest.temperature)[0]
            return done(predictions=top_k(probabilities, manifest.class_keys))
        gate_batch = (
            batch
            if shares_input(trust, manifest)
            else preprocess(rgb, input_size=trust.input_size, mean=trust.mean, std=trust.std)
        )
        judgement = trust.judge(logits, gate_batch[np.newaxis])
    refused = judgement.outcome == "not_skin"
    return done(
        predictions=[] if refused else top_k(judgement.probabilities, manifest.class_keys),
        outcome=str(judgement.outcome),
        photo_type=judgement.photo_type,
        gate_score=judgement.gate_score,
        reference_accuracy=judgement.reference_accuracy,
    )


def shares_input(trust: Any, manifest: Any) -> bool:
    """Whether the gate reads the classifier's own preprocessed batch (size and normalisation)."""
    return bool(
        (trust.input_size, tuple(trust.mean), tuple(trust.std))
        == (manifest.input_size, tuple(manifest.mean), tuple(manifest.std))
    )


def top_k(probabilities: Any, class_keys: tuple[str, ...], k: int = TOP_K) -> list[dict[str, Any]]:
    """The ``k`` most likely classes, most likely first."""
    order = sorted(range(len(class_keys)), key=lambda i: -float(probabilities[i]))[:k]
    return [{"key": class_keys[i], "probability": float(probabilities[i])} for i in order]
