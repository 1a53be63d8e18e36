"""PNG plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def confusion_matrix_png(matrix: Sequence[Sequence[int]], class_keys: Sequence[str]) -> bytes:
    cm = np.asarray(matrix, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_keys)), class_keys, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_keys)), class_keys, fontsize=8)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    str(int(cm[i, j])),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (test split; colour = row-normalised)")
    return _png(fig)


def training_curves_png(history: Sequence[dict]) -> bytes:
    epochs = [h["epoch"] for h in history]
    fig, left = plt.subplots(figsize=(7, 4))
    left.plot(epochs, [h["train_loss"] for h in history], "o-", color="tab:red", label="train loss")
    left.set_xlabel("epoch")
    left.set_ylabel("train loss")
    right = left.twinx()
    right.plot(epochs, [h["val_accuracy"] for h in history], "s-", label="val accuracy")
    right.plot(
        epochs, [h["val_balanced_accuracy"] for h in history], "^-", label="val balanced accuracy"
    )
    right.set_ylabel("validation")
    right.set_ylim(0, 1)
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    labels = left.get_legend_handles_labels()[1] + right.get_legend_handles_labels()[1]
    left.legend(handles, labels, loc="lower right", fontsize=8)
    left.set_title("Training loss and validation accuracy per epoch")
    return _png(fig)


def reliability_png(before: Sequence[dict], after: Sequence[dict], temperature: float) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    for bins, label in ((before, "before (T=1)"), (after, f"after (T={temperature:.2f})")):
        used = [b for b in bins if b["count"]]
        ax.plot([b["confidence"] for b in used], [b["accuracy"] for b in used], "o-", label=label)
    ax.set_xlabel("confidence of the top prediction")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Reliability diagram (test split)")
    return _png(fig)


def comparison_png(rows: Sequence[dict]) -> bytes:
    names = [r["arch"] for r in rows]
    metrics = ("accuracy", "balanced_accuracy", "macro_f1")
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(names)), 4))
    for i, metric in enumerate(metrics):
        ax.bar(x + (i - 1) * 0.27, [r.get(metric) or 0 for r in rows], width=0.27, label=metric)
    ax.set_xticks(x, names, rotation=20)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Architectures on the same split (test)")
    return _png(fig)
