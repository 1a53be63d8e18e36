"""A model for a LiveStack: the shipped default model, or a tiny seeded one built on the spot.

Runs inside the stack (its shell server), so the version is registered in the stack's database
and the artifact lives in the stack's folder. The tiny model is a real artifact written by
mltrain's own writer (manifest, model.pt, model.onnx checked against PyTorch), never trained:
its top-3 is arbitrary but well formed, which is all the browser, fault and load tests need.
``build_tiny_artifact`` is also every other suite's test model builder (and the benchmarks'
stand-in with an ImageNet backbone).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TINY_VERSION = "livestack-tiny-1"


def build_tiny_artifact(
    directory: Path,
    *,
    arch: str = "custom_cnn",
    input_size: int = 64,
    weights: str | Path = "none",
    seed: int = 0,
    temperature: float = 1.5,
    manifest: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a complete seeded, untrained ten-class artifact (manifest, model.pt, model.onnx
    checked against PyTorch ...) to ``directory``, its name the version. ``arch`` and
    ``weights`` (a backbone's file) make bigger ones; ``manifest`` adds or overrides entries."""
    import numpy as np
    import torch

    from mltrain.ml.architectures import build_model
    from mltrain.ml.artifacts import write_artifact
    from mltrain.ml.classes import CLASS_KEYS
    from mltrain.ml.preprocess import IMAGENET_MEAN, IMAGENET_STD

    torch.manual_seed(seed)
    model = build_model(arch, num_classes=len(CLASS_KEYS), weights=weights)
    parity = np.random.default_rng(seed).standard_normal((2, 3, input_size, input_size))
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
            **(manifest or {}),
        },
        model=model,
        metrics={},
        report_md="# test model (untrained)\n",
        plots={},
        parity_batch=parity.astype(np.float32),
        overwrite=overwrite,
    )
    return directory


def ensure_active_model(models_dir: Path, *, prefer: str = "default") -> Any:
    """Activate the shipped default model (``prefer="default"``, when one is shipped) or the
    tiny test model; returns the active ``ModelVersion``."""
    from mltrain import services

    if prefer == "default":
        version = services.ensure_default_model()
        if version is not None:
            return version
    directory = Path(models_dir) / TINY_VERSION
    if not (directory / "manifest.json").is_file():
        build_tiny_artifact(directory)
    return services.register_model_version(artifact_dir=directory, activate=True)
