"""Knowledge distillation: a student learns from a teacher's logits as well as from the labels.

The teacher's logits are computed once per training image, on the un-augmented image at the
teacher's own input size and normalisation, and cached on disk under a key made of the training
images' fingerprint and the teacher's identity (the sha256 of its weights and its input
settings), so later runs and sweeps with the same data and teacher skip the teacher entirely.
The student sees augmented views of the images and is pulled towards the teacher's softened
distribution of the clean image, plus the label loss (Hinton et al. 2015)::

    loss = alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
           + (1 - alpha) * cross_entropy(student, label)

``T^2`` keeps the soft part's gradients on the scale of the label part's as ``T`` grows.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .architectures import build_model
from .data import ImageDataset, ImageRecord
from .transforms import EvalTransform

Log = Callable[[str], None]


def distillation_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    labels: torch.Tensor,
    *,
    temperature: float,
    alpha: float,
    label_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """The module docstring's loss, averaged over the batch. ``label_loss`` defaults to plain
    cross-entropy; the engine passes its own (class weights, label smoothing)."""
    if temperature <= 0 or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"Need temperature > 0 and 0 <= alpha <= 1 (got {temperature}, {alpha}).")
    # In float32 whatever the autocast: a bf16 log-softmax of logits / T loses the soft part.
    student = student.float()
    soft_student = F.log_softmax(student / temperature, dim=1)
    soft_teacher = F.log_softmax(teacher.detach().float() / temperature, dim=1)
    soft = F.kl_div(soft_student, soft_teacher, log_target=True, reduction="batchmean")
    hard = (label_loss or F.cross_entropy)(student, labels)
    return alpha * temperature**2 * soft + (1 - alpha) * hard


class TrainingLoss:
    """A batch's loss from the model's outputs and the DataLoader's targets: the label loss
    alone, or distillation when the targets carry teacher logits (``TeacherTargets``).
    Returns the loss and the batch size."""

    def __init__(
        self,
        criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        *,
        alpha: float,
        temperature: float,
    ) -> None:
        self.criterion, self.alpha, self.temperature = criterion, alpha, temperature

    def __call__(self, outputs: torch.Tensor, targets) -> tuple[torch.Tensor, int]:
        if isinstance(targets, list | tuple):
            labels, teacher = targets
            loss = distillation_loss(
                outputs, teacher, labels, temperature=self.temperature, alpha=self.alpha,
                label_loss=self.criterion,
            )  # fmt: skip
            return loss, len(labels)
        return self.criterion(outputs, targets), len(targets)


def to_device(targets, device: torch.device):
    """Labels, or [labels, teacher logits], on ``device``."""
    if isinstance(targets, list | tuple):
        return [t.to(device, non_blocking=True) for t in targets]
    return targets.to(device, non_blocking=True)


class TeacherTargets(ImageDataset):
    """A training dataset whose targets are ``(label, teacher logits)``. It keeps the wrapped
    dataset's records and transform, so samplers and class weights see no change, and takes its
    images from the wrapped dataset (which may paste a watermark, see ``watermark.py``)."""

    def __init__(self, dataset: ImageDataset, logits: np.ndarray) -> None:
        super().__init__(dataset.records, dataset.transform)
        if len(logits) != len(dataset):
            raise ValueError(f"{len(logits)} teacher logit rows for {len(dataset)} images.")
        self.dataset = dataset
        self.logits = torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32))

    def __getitem__(self, index: int):
        image, label = self.dataset[index]
        return image, (label, self.logits[index])


@dataclass
class Teacher:
    model: nn.Module
    arch: str
    input_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    identity: str  # sha256 of the weights and input settings: part of the cache key
    source: str


def load_teacher(path: Path | str) -> Teacher:
    """A teacher from a model artifact folder (``manifest.json`` + ``model.pt``) or a trained
    state written by the sweep (``save_state``). Raises ``ValueError`` for anything else."""
    path = Path(path)
    if path.is_dir():
        manifest_file = path / "manifest.json"
        if not manifest_file.is_file():
            raise ValueError(f"Teacher {path} is a folder without manifest.json.")
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        weights = path / "model.pt"
        arch, size = str(manifest["arch"]), int(manifest["input_size"])
        mean, std = tuple(manifest["mean"]), tuple(manifest["std"])
    elif path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not (isinstance(state, dict) and str(state.get("format", "")).startswith(
            "skinsite-trained-state/"
        )):  # fmt: skip
            raise ValueError(f"Teacher {path} is neither a model artifact nor a trained state.")
        config = state["config"]
        weights = path
        arch, size = str(config["arch"]), int(config["input_size"])
        mean, std = tuple(config["mean"]), tuple(config["std"])
    else:
        raise ValueError(f"Teacher {path} does not exist.")
    digest = hashlib.sha256(weights.read_bytes())
    digest.update(json.dumps([arch, size, mean, std]).encode())
    model = build_model(arch, weights=weights).eval()
    return Teacher(model, arch, size, mean, std, digest.hexdigest(), str(path))


def records_fingerprint(records: Sequence[ImageRecord]) -> str:
    """sha256 over the records' (path, label, size) in order: the data half of the cache key."""
    digest = hashlib.sha256()
    for record in records:
        size = record.path.stat().st_size if record.path.exists() else -1
        digest.update(f"{record.path.as_posix()}\t{record.label}\t{size}\n".encode())
    return digest.hexdigest()


def cache_path(cache_dir: Path, records: Sequence[ImageRecord], teacher: Teacher) -> Path:
    key = hashlib.sha256(f"{records_fingerprint(records)}\n{teacher.identity}".encode())
    return Path(cache_dir) / f"teacher-logits-{key.hexdigest()[:24]}.npy"


@torch.no_grad()
def teacher_logits(
    teacher: Teacher,
    records: Sequence[ImageRecord],
    *,
    cache_dir: Path,
    batch_size: int = 64,
    log: Log = print,
) -> np.ndarray:
    """The teacher's logits (float32, one row per record, in order), from the cache when the
    same images and teacher were seen before; computed and cached otherwise."""
    target = cache_path(cache_dir, records, teacher)
    if target.is_file():
        logits = np.load(target)
        if logits.shape[0] == len(records):
            log(f"teacher logits: cached in {target.name}")
            return logits
    log(f"teacher logits: {teacher.source} on {len(records)} training images (once) ...")
    dataset = ImageDataset(records, EvalTransform(teacher.input_size, teacher.mean, teacher.std))
    model = teacher.model.eval()
    device = next(model.parameters()).device
    rows = []
    for start in range(0, len(dataset), batch_size):
        batch = [dataset[i][0] for i in range(start, min(start + batch_size, len(dataset)))]
        rows.append(model(torch.stack(batch).to(device)).float().cpu().numpy())
    logits = np.concatenate(rows).astype(np.float32)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, logits)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(buffer.getvalue())
    partial.replace(target)  # a crash mid-write leaves no half cache behind
    return logits


def with_teacher(
    train_set: ImageDataset,
    teacher_path: str,
    *,
    cache_dir: Path,
    device: str = "cpu",
    log: Log = print,
) -> TeacherTargets:
    """``train_set`` with the cached (or freshly computed) logits of the teacher at
    ``teacher_path`` as extra targets."""
    teacher = load_teacher(teacher_path)
    teacher.model.to(device)
    logits = teacher_logits(teacher, train_set.records, cache_dir=cache_dir, log=log)
    return TeacherTargets(train_set, logits)
