"""Predictors over an artifact directory: ONNX Runtime (serving) or PyTorch (checks, GPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from .artifacts import ArtifactError, ModelManifest, load_manifest, sha256_file
from .calibration import softmax


class Predictor(Protocol):
    manifest: ModelManifest

    def predict_logits(self, batch: np.ndarray) -> np.ndarray: ...

    def predict_proba(self, batch: np.ndarray) -> np.ndarray: ...


class OnnxPredictor:
    def __init__(self, manifest: ModelManifest, *, num_threads: int | None = None) -> None:
        import onnxruntime as ort

        self.manifest = manifest
        options = ort.SessionOptions()
        # The caller decides (the site passes settings.INFERENCE_THREADS); None or 0 keeps
        # ONNX Runtime's default of one thread per physical core.
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(manifest.file("model.onnx")),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        self.input_name = self.session.get_inputs()[0].name

    def predict_logits(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.asarray(batch, dtype=np.float32)})[0]

    def predict_proba(self, batch: np.ndarray) -> np.ndarray:
        return softmax(self.predict_logits(batch), self.manifest.temperature)


class TorchPredictor:
    def __init__(
        self, manifest: ModelManifest, *, device: str = "cpu", num_threads: int | None = None
    ) -> None:
        import torch

        from .architectures import build_model

        self.manifest = manifest
        self.device = torch.device(device)
        if num_threads:
            torch.set_num_threads(num_threads)
        model = build_model(manifest.arch, num_classes=len(manifest.class_keys), weights="none")
        state = torch.load(manifest.file("model.pt"), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        self.model = model.eval().to(self.device)

    def predict_logits(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            logits = self.model(torch.as_tensor(batch, dtype=torch.float32, device=self.device))
        return logits.float().cpu().numpy()

    def predict_proba(self, batch: np.ndarray) -> np.ndarray:
        return softmax(self.predict_logits(batch), self.manifest.temperature)


def load_predictor(
    artifact_dir: Path | str,
    *,
    backend: str = "onnx",
    device: str = "cpu",
    num_threads: int | None = None,
) -> Predictor:
    """Load a predictor, checking the sha256 of the weights file it will run.

    ``num_threads`` is the only source of the thread count (this package reads no environment):
    None or 0 keeps the library's default."""
    manifest = load_manifest(artifact_dir)
    name = {"onnx": "model.onnx", "torch": "model.pt"}.get(backend)
    if name is None:
        raise ArtifactError(f"Unknown backend {backend!r}; use onnx or torch.")
    target = manifest.file(name)
    if not target.is_file():
        raise ArtifactError(f"Artifact {manifest.version} has no {name}.")
    expected = manifest.sha256 if name == "model.onnx" else manifest.files.get(name)
    if expected and sha256_file(target) != expected:
        raise ArtifactError(f"Artifact {manifest.version}: {name} does not match its sha256.")
    try:
        if backend == "onnx":
            return OnnxPredictor(manifest, num_threads=num_threads)
        return TorchPredictor(manifest, device=device, num_threads=num_threads)
    except ArtifactError:
        raise
    except Exception as exc:
        raise ArtifactError(f"Artifact {manifest.version} cannot be loaded: {exc}") from exc
