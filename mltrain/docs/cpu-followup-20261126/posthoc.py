"""What the default model gains, without training, from test-time changes: a larger input size
than it was trained at, horizontal-flip averaging, and logit adjustment by the training prior.

    .venv/bin/python mltrain/docs/cpu-followup-20261126/posthoc.py \
        mltrain/default_model/mobilenet_v2-skin10-20261126 ../shared/data/skin10 > posthoc.md

Every choice is printed for validation and test alike: a change is only worth taking when it
helps on validation, where it would be chosen.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import balanced_accuracy_score

from mltrain.ml.architectures import build_model
from mltrain.ml.data import load_dataset
from mltrain.ml.preprocess import preprocess
from mltrain.ml.split import apply_split, load_split

SIZES = (160, 192, 224)
TAUS = (-0.5, -0.25, 0.25, 0.5, 1.0)  # logits - tau * log(training class frequency)
MELANOMA = 1


def logits_at(model, records, size: int, mean, std) -> tuple[np.ndarray, np.ndarray]:
    """Logits of the images as they are and flipped left-right."""
    plain, flipped = [], []
    for start in range(0, len(records), 64):
        arrays = []
        for record in records[start : start + 64]:
            with Image.open(record.path) as image:
                arrays.append(preprocess(image, input_size=size, mean=mean, std=std))
        batch = torch.from_numpy(np.stack(arrays)).contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            plain.append(model(batch).numpy())
            flipped.append(model(batch.flip(-1)).numpy())
    return np.concatenate(plain), np.concatenate(flipped)


def scores(logits: np.ndarray, records) -> str:
    labels = np.array([r.label for r in records])
    clinical = np.array([r.photo_type == "clinical" for r in records])
    predicted = logits.argmax(axis=1)
    melanoma = clinical & (labels == MELANOMA)
    return " | ".join(
        [
            f"{(predicted == labels).mean():.3f}",
            f"{balanced_accuracy_score(labels, predicted):.3f}",
            f"{balanced_accuracy_score(labels[clinical], predicted[clinical]):.3f}",
            f"{int((predicted[melanoma] == MELANOMA).sum())}/{int(melanoma.sum())}",
        ]
    )


def main(artifact: Path, data: Path) -> None:
    torch.set_num_threads(2)
    manifest = json.loads((artifact / "manifest.json").read_text())
    model = build_model(manifest["arch"], weights=str(artifact / "model.pt")).eval()
    model.to(memory_format=torch.channels_last)
    parts = apply_split(load_dataset(data, check=False), load_split(artifact / "split.json"))
    counts = np.bincount([r.label for r in parts["train"]], minlength=10).astype(float)
    log_prior = np.log(counts / counts.sum())

    rows: list[tuple[str, dict[str, str]]] = []
    for size in SIZES:
        cells: dict[str, dict[str, str]] = {"plain": {}, "flip": {}}
        for part in ("val", "test"):
            plain, flipped = logits_at(model, parts[part], size, manifest["mean"], manifest["std"])
            cells["plain"][part] = scores(plain, parts[part])
            cells["flip"][part] = scores((plain + flipped) / 2, parts[part])
            if size == manifest["input_size"]:
                for tau in TAUS:
                    name = f"{size} px, logit adjustment tau {tau:+}"
                    adjusted = scores(plain - tau * log_prior, parts[part])
                    cells.setdefault(name, {})[part] = adjusted
        for name, by_part in cells.items():
            label = name if name.startswith(str(size)) else f"{size} px, {name}"
            rows.append((label, by_part))

    head = "acc | balanced | clinical balanced | clinical melanoma"
    lines = [f"| test-time change | val: {head} | test: {head} |", "|---" * 9 + "|"]
    lines += [f"| {name} | {by_part['val']} | {by_part['test']} |" for name, by_part in rows]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
