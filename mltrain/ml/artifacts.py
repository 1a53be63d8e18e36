"""Self-describing model artifacts: one directory per model version.

Layout: ``manifest.json``, ``model.pt`` (state dict), ``model.onnx``, ``metrics.json``,
``report.md``, ``plots/*.png``. ``manifest["files"]`` maps every other file to its sha256 and
``manifest["sha256"]`` is the sha256 of ``model.onnx``, the file the site serves (the combined
identity of the version is ``files``). The directory is written as ``<version>.part`` and renamed
into place, so a crash or a full disk mid-save leaves no half-written version and never touches
an existing one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import nn

FORMAT = "skinsite-model/1"
REQUIRED = (
    "format",
    "version",
    "arch",
    "class_keys",
    "input_size",
    "resize",
    "mean",
    "std",
    "temperature",
    "files",
    "sha256",
)


class ArtifactError(Exception):
    """An artifact is missing, corrupt or incompatible."""


@dataclass(frozen=True)
class ModelManifest:
    path: Path
    version: str
    arch: str
    class_keys: tuple[str, ...]
    input_size: int
    resize: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    temperature: float
    sha256: str
    files: Mapping[str, str]
    data_fingerprint: str = ""
    metrics: Mapping = field(default_factory=dict)
    created_at: str = ""
    raw: Mapping = field(default_factory=dict)

    def file(self, name: str) -> Path:
        return self.path / name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest(path: Path | str, *, verify: bool = False) -> ModelManifest:
    """Read ``<path>/manifest.json`` (or the manifest file itself); ``verify`` also checks every
    file's sha256. Raises ``ArtifactError`` with a clear message."""
    path = Path(path)
    directory = path.parent if path.name == "manifest.json" else path
    manifest_file = directory / "manifest.json"
    if not manifest_file.is_file():
        raise ArtifactError(f"No model artifact at {directory} (manifest.json is missing).")
    try:
        raw = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{manifest_file} is unreadable or not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ArtifactError(f"{manifest_file} is not a JSON object.")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise ArtifactError(f"{manifest_file} lacks {', '.join(missing)}.")
    if raw["format"] != FORMAT:
        raise ArtifactError(
            f"{manifest_file} has format {raw['format']!r}; this code reads {FORMAT!r}."
        )
    if raw["resize"] != "squash":
        raise ArtifactError(
            f"{manifest_file} asks for resize {raw['resize']!r}; only 'squash' is known."
        )
    try:
        manifest = ModelManifest(
            path=directory,
            version=str(raw["version"]),
            arch=str(raw["arch"]),
            class_keys=tuple(str(k) for k in raw["class_keys"]),
            input_size=int(raw["input_size"]),
            resize=str(raw["resize"]),
            mean=tuple(float(v) for v in raw["mean"]),
            std=tuple(float(v) for v in raw["std"]),
            temperature=float(raw["temperature"]),
            sha256=str(raw["sha256"]),
            files=dict(raw["files"]),
            data_fingerprint=str(raw.get("data_fingerprint", "")),
            metrics=raw.get("metrics") or {},
            created_at=str(raw.get("created_at", "")),
            raw=raw,
        )
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{manifest_file} has a malformed field: {exc}") from exc
    if len(manifest.mean) != 3 or len(manifest.std) != 3 or manifest.temperature <= 0:
        raise ArtifactError(f"{manifest_file}: mean/std need 3 values and temperature must be > 0.")
    if verify:
        verify_files(manifest)
    return manifest


def verify_files(manifest: ModelManifest) -> None:
    for name, expected in manifest.files.items():
        target = manifest.path / name
        if not target.is_file():
            raise ArtifactError(f"Artifact {manifest.version}: {name} is missing.")
        if sha256_file(target) != expected:
            raise ArtifactError(f"Artifact {manifest.version}: {name} does not match its sha256.")


def export_onnx(model: nn.Module, path: Path, input_size: int) -> None:
    """Export with a dynamic batch dimension (input ``image``, output ``logits``)."""
    import torch  # here, not at import: Django processes must not load torch

    model = model.eval().to("cpu").to(memory_format=torch.contiguous_format)
    dummy = torch.zeros(1, 3, input_size, input_size)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def check_onnx_parity(
    model: nn.Module,
    onnx_path: Path,
    batch: np.ndarray,
    *,
    temperature: float = 1.0,
    atol: float = 1e-4,
) -> dict:
    """Run ``batch`` through PyTorch and ONNX Runtime: the top-3 classes must be equal and the
    probabilities within ``atol``. Raises ``ArtifactError`` otherwise."""
    import onnxruntime as ort
    import torch  # here, not at import: Django processes must not load torch

    from .calibration import softmax

    model = model.eval().to("cpu").to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(batch)).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_logits = session.run(None, {"image": batch})[0]
    p_torch = softmax(torch_logits, temperature)
    p_onnx = softmax(onnx_logits, temperature)
    max_diff = float(np.abs(p_torch - p_onnx).max())
    top_torch = np.argsort(-p_torch, axis=1)[:, :3]
    top_onnx = np.argsort(-p_onnx, axis=1)[:, :3]
    top3_equal = bool((top_torch == top_onnx).all())
    if max_diff > atol or not top3_equal:
        raise ArtifactError(
            f"ONNX export disagrees with PyTorch (max probability difference {max_diff:.2e}, "
            f"top-3 equal: {top3_equal})."
        )
    return {"images": len(batch), "max_prob_diff": max_diff, "top3_equal": top3_equal}


def write_artifact(
    directory: Path,
    *,
    manifest: dict,
    model: nn.Module,
    metrics: dict,
    report_md: str,
    plots: Mapping[str, bytes],
    parity_batch: np.ndarray | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    overwrite: bool = False,
) -> ModelManifest:
    """Write a complete artifact to ``directory`` atomically and return its manifest.

    ``manifest`` carries the descriptive fields (version, arch, class_keys, input_size, mean, std,
    temperature, data_fingerprint, metrics, created_at, ...); ``files``, ``sha256``, ``format`` and
    ``resize`` are filled in here. With ``parity_batch`` the ONNX export is checked against
    PyTorch before anything is moved into place.
    """
    import torch  # here, not at import: Django processes must not load torch

    directory = Path(directory)
    if directory.exists() and not overwrite:
        raise ArtifactError(f"{directory} already exists; model versions are never overwritten.")
    directory.parent.mkdir(parents=True, exist_ok=True)
    part = directory.with_name(directory.name + ".part")
    if part.exists():
        shutil.rmtree(part)
    try:
        (part / "plots").mkdir(parents=True)
        cpu_model = model.eval().to("cpu").to(memory_format=torch.contiguous_format)
        torch.save(cpu_model.state_dict(), part / "model.pt")
        export_onnx(cpu_model, part / "model.onnx", int(manifest["input_size"]))
        if parity_batch is not None:
            metrics = {
                **metrics,
                "onnx_parity": check_onnx_parity(
                    cpu_model,
                    part / "model.onnx",
                    parity_batch,
                    temperature=float(manifest["temperature"]),
                ),
            }
        (part / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
        (part / "report.md").write_text(report_md, encoding="utf-8")
        for name, data in plots.items():
            (part / "plots" / name).write_bytes(data)
        for name, data in (extra_files or {}).items():
            (part / name).write_bytes(data)
        files = {
            p.relative_to(part).as_posix(): sha256_file(p)
            for p in sorted(part.rglob("*"))
            if p.is_file()
        }
        full = {
            **manifest,
            "format": FORMAT,
            "resize": "squash",
            "files": files,
            "sha256": files["model.onnx"],
        }
        (part / "manifest.json").write_text(json.dumps(full, indent=1), encoding="utf-8")
        if directory.exists():
            old = directory.with_name(directory.name + ".old")
            if old.exists():
                shutil.rmtree(old)
            directory.replace(old)
            part.replace(directory)
            shutil.rmtree(old)
        else:
            part.replace(directory)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    return load_manifest(directory)
