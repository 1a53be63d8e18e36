"""Small model artifacts built for tests with mltrain's own writer (nothing downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mltrain.ml.architectures import build_model
from mltrain.ml.artifacts import write_artifact
from mltrain.ml.classes import CLASS_KEYS
from mltrain.ml.preprocess import IMAGENET_MEAN, IMAGENET_STD


def build_artifact(
    directory: Path,
    *,
    arch: str = "custom_cnn",
    input_size: int = 64,
    weights: str | Path = "none",
    seed: int = 0,
    temperature: float = 1.5,
) -> Path:
    """Write a complete artifact (manifest, model.pt, model.onnx ...) with seeded weights."""
    torch.manual_seed(seed)
    model = build_model(arch, num_classes=len(CLASS_KEYS), weights=weights)
    rng = np.random.default_rng(seed)
    parity = rng.standard_normal((2, 3, input_size, input_size)).astype(np.float32)
    write_artifact(
        directory,
        manifest={
            "version": directory.name,
            "arch": arch,
            "class_keys": list(CLASS_KEYS),
            "input_size": input_size,
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
            "temperature": temperature,
            "data_fingerprint": "test",
            "metrics": {},
            "created_at": "2025-01-01T00:00:00Z",
        },
        model=model,
        metrics={},
        report_md="# test artifact\n",
        plots={},
        parity_batch=parity,
    )
    return directory
