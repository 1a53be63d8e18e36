"""Evaluation metrics: overall, per class, per source and per photo type."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.utils.class_weight import compute_class_weight

from .calibration import expected_calibration_error
from .classes import CLASS_KEYS

CLASS_WEIGHTINGS = ("balanced", "sqrt", "none")


def class_weights(labels: Sequence[int], num_classes: int, mode: str = "balanced") -> np.ndarray:
    """Loss weights per class. ``balanced`` is scikit-learn's ``compute_class_weight``
    (n_samples / (n_classes * count)); ``sqrt`` its square root (softer); classes absent from
    ``labels`` get 1.0 (they never occur in the loss)."""
    y = np.asarray(labels)
    weights = np.ones(num_classes, dtype=np.float64)
    if mode == "none":
        return weights.astype(np.float32)
    if mode not in CLASS_WEIGHTINGS:
        raise ValueError(f"Unknown class weighting {mode!r}.")
    present = np.unique(y)
    weights[present] = compute_class_weight("balanced", classes=present, y=y)
    if mode == "sqrt":
        weights[present] = np.sqrt(weights[present])
    return weights.astype(np.float32)


def top_k_accuracy(probs: np.ndarray, labels: np.ndarray, k: int = 3) -> float:
    if len(labels) == 0:
        return 0.0
    top = np.argsort(-probs, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def macro_roc_auc(probs: np.ndarray, labels: np.ndarray) -> float | None:
    """One-vs-rest ROC AUC averaged over the classes present (None when undefined)."""
    scores = []
    for c in np.unique(labels):
        positive = labels == c
        if positive.all():
            continue
        scores.append(roc_auc_score(positive, probs[:, c]))
    return float(np.mean(scores)) if scores else None


def balanced_accuracy(labels: np.ndarray, preds: np.ndarray) -> float:
    """Mean recall over the classes present in ``labels``. A subset (one photo type, a small
    validation part) often lacks classes the model still predicts; that is expected here, so
    scikit-learn's warning about it is silenced instead of repeated on every evaluation."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return float(balanced_accuracy_score(labels, preds))


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def summarise(
    probs: np.ndarray, labels: np.ndarray, class_keys: Sequence[str] = CLASS_KEYS
) -> dict:
    """Metrics of one set of predictions (the classes absent from ``labels`` count in no mean)."""
    labels = np.asarray(labels)
    n = len(class_keys)
    if len(labels) == 0:
        return {"count": 0}
    preds = probs.argmax(axis=1)
    present = np.unique(labels)
    p, r, f, s = precision_recall_fscore_support(
        labels, preds, labels=np.arange(n), zero_division=0
    )
    macro = precision_recall_fscore_support(
        labels, preds, labels=present, average="macro", zero_division=0
    )
    weighted = precision_recall_fscore_support(
        labels, preds, labels=present, average="weighted", zero_division=0
    )
    return {
        "count": len(labels),
        "accuracy": _r((preds == labels).mean()),
        "balanced_accuracy": _r(balanced_accuracy(labels, preds)),
        "macro_precision": _r(macro[0]),
        "macro_recall": _r(macro[1]),
        "macro_f1": _r(macro[2]),
        "weighted_precision": _r(weighted[0]),
        "weighted_recall": _r(weighted[1]),
        "weighted_f1": _r(weighted[2]),
        "top3_accuracy": _r(top_k_accuracy(probs, labels, 3)),
        "macro_roc_auc": _r(macro_roc_auc(probs, labels)),
        "ece": _r(expected_calibration_error(probs, labels)),
        "per_class": {
            key: {
                "precision": _r(p[i]),
                "recall": _r(r[i]),
                "f1": _r(f[i]),
                "support": int(s[i]),
            }
            for i, key in enumerate(class_keys)
        },
        "confusion_matrix": confusion_matrix(labels, preds, labels=np.arange(n)).tolist(),
    }


def evaluate(
    probs: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    sources: Sequence[str] | None = None,
    photo_types: Sequence[str] | None = None,
    class_keys: Sequence[str] = CLASS_KEYS,
) -> dict:
    """Overall metrics plus the same split by ``source`` and by photo type, with melanoma and
    BCC recall on clinical photographs."""
    y = np.asarray(labels)
    result = summarise(probs, y, class_keys)
    for name, values in (("by_source", sources), ("by_photo_type", photo_types)):
        if values is None:
            continue
        tags = np.asarray(values)
        result[name] = {
            tag: summarise(probs[tags == tag], y[tags == tag], class_keys)
            for tag in sorted(set(values))
            if tag
        }
    clinical = result.get("by_photo_type", {}).get("clinical")
    if clinical and clinical.get("count"):
        for key in ("melanoma", "basal_cell_carcinoma"):
            if key in class_keys:
                row = clinical["per_class"][key]
                result[f"clinical_{key}_recall"] = row["recall"] if row["support"] else None
    return result
