"""Temperature scaling (Guo et al., 2017) and expected calibration error."""

from __future__ import annotations

import itertools

import numpy as np
import torch


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits.astype(np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def fit_temperature(logits: np.ndarray, labels: np.ndarray, *, max_iter: int = 200) -> float:
    """The temperature minimising the negative log-likelihood of ``labels`` on ``logits``
    (fitted on the validation split; optimised in log space so it stays positive)."""
    x = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(x / log_t.exp(), y)
        loss.backward()
        return loss

    optimiser.step(closure)
    temperature = float(log_t.exp().item())
    if not np.isfinite(temperature):
        return 1.0
    return float(np.clip(temperature, 0.05, 20.0))


def reliability_bins(
    probs: np.ndarray, labels: np.ndarray, n_bins: int = 15
) -> list[dict[str, float]]:
    """Per confidence bin: bounds, count, mean confidence and accuracy of the top-1 prediction."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = []
    for low, high in itertools.pairwise(edges):
        mask = (confidence > low) & (confidence <= high)
        count = int(mask.sum())
        bins.append(
            {
                "low": float(low),
                "high": float(high),
                "count": count,
                "confidence": float(confidence[mask].mean()) if count else 0.0,
                "accuracy": float(correct[mask].mean()) if count else 0.0,
            }
        )
    return bins


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    total = len(labels)
    if total == 0:
        return 0.0
    return float(
        sum(
            b["count"] / total * abs(b["accuracy"] - b["confidence"])
            for b in reliability_bins(probs, labels, n_bins)
        )
    )
