"""The training loop: seeded, resumable, with early stopping on a validation metric.

One epoch = one pass over ``epoch_samples`` training images (all of them by default). After each
epoch the model is evaluated on the validation split; the best epoch's weights are kept, training
stops after ``patience`` epochs without improvement, and a checkpoint (model, optimiser, scheduler,
history, best weights) is written atomically so ``resume=True`` continues after the last finished
epoch. Randomness is re-seeded from ``seed + epoch`` at the start of each epoch, which makes a
resumed run draw the same batches as an uninterrupted one.

``train`` reads as its steps: ``_Run`` builds the loss, optimiser, schedule and weight average
(``optimisation.py``), ``_Run.restore`` reads a checkpoint, then per epoch ``_Run.train_epoch``,
``_Run.validate`` and ``_Run.save``.
"""

from __future__ import annotations

import copy
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from .config import TrainConfig, TrainingError
from .data import ImageDataset
from .device import autocast, needs_loss_scaling, precision_name, resolve_device
from .distill import TeacherTargets, TrainingLoss, to_device
from .metrics import balanced_accuracy
from .optimisation import (
    build_criterion,
    build_optimiser,
    build_scheduler,
    set_trainable,
    weight_average,
)
from .sampling import epoch_sampler
from .transforms import batch_transform

Log = Callable[[str], None]

# What a checkpoint's weights, optimiser state or average would not fit: resuming with another
# value is refused.
RESUME_MUST_MATCH = (
    "arch",
    "input_size",
    "batch_size",
    "optimizer",
    "scheduler",
    "sampling",
    "ema_decay",
    "teacher",
)


@dataclass
class TrainResult:
    model: nn.Module
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = -1.0
    stopped_early: bool = False
    seconds: float = 0.0
    images_per_second: float = 0.0
    precision: str = "float32"

    def record(self) -> dict:
        """How the run went, JSON-ready: what artifacts and trained states keep of it."""
        return {
            "history": self.history,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "seconds": round(self.seconds, 1),
            "images_per_second": round(self.images_per_second, 2),
            "precision": self.precision,
        }

    @classmethod
    def from_record(cls, model: nn.Module, record: dict) -> TrainResult:
        """The inverse of ``record`` for a model trained elsewhere (``best_score`` is unknown)."""
        return cls(
            model=model,
            history=list(record["history"]),
            best_epoch=int(record["best_epoch"]),
            stopped_early=bool(record.get("stopped_early", False)),
            seconds=float(record["seconds"]),
            images_per_second=float(record["images_per_second"]),
            precision=f"{record['precision']} on {record.get('device', 'another machine')}",
        )


def _seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def _loader(
    dataset, batch_size: int, *, shuffle: bool, config: TrainConfig, generator=None, sampler=None
):
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=config.num_workers,
        generator=generator,
        drop_last=False,
        # Page-locked batches let the copy to a GPU overlap the next batch's loading.
        pin_memory=config.device.startswith("cuda"),
    )


@torch.no_grad()
def predict_logits(
    model: nn.Module, dataset, *, config: TrainConfig, batch_size: int = 64, desc: str | None = None
) -> np.ndarray:
    """Logits (float32, N x classes) of a dataset in order, in eval mode, without autocast."""
    device = resolve_device(config.device)
    model.eval()
    out = []
    loader = _loader(dataset, batch_size, shuffle=False, config=config)
    for images, _ in tqdm(
        loader, desc=desc, disable=desc is None, leave=False, file=sys.stderr, mininterval=10
    ):
        images = images.to(device)
        if config.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        out.append(model(images).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def _num_outputs(model: nn.Module) -> int:
    model.eval()
    with torch.no_grad():
        probe = torch.zeros(1, 3, 32, 32, device=next(model.parameters()).device)
        return int(model(probe).shape[1])


def _save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + ".part")
    torch.save(state, tmp)
    tmp.replace(path)


class _Run:
    """One training run's moving parts and where it stands: what ``train`` steps through."""

    def __init__(self, model: nn.Module, train_set: ImageDataset, config: TrainConfig) -> None:
        self.model, self.train_set, self.config = model, train_set, config
        self.device = resolve_device(config.device)
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        self.memory_format = (
            torch.channels_last if config.channels_last else torch.contiguous_format
        )
        model.to(self.device)
        model.to(memory_format=self.memory_format)
        num_classes = _num_outputs(model)
        criterion = build_criterion(train_set.labels, num_classes, config, self.device)
        if config.teacher and not isinstance(train_set, TeacherTargets):
            raise TrainingError("A teacher is set but the training set carries no teacher logits.")
        self.loss_fn = TrainingLoss(
            criterion, alpha=config.distill_alpha, temperature=config.distill_temperature
        )
        self.optimiser = build_optimiser(model, config)
        self.epoch_samples = config.epoch_samples or len(train_set)
        steps_per_epoch = math.ceil(self.epoch_samples / config.batch_size)
        self.scheduler = build_scheduler(self.optimiser, config, steps_per_epoch * config.epochs)
        self.scaler = torch.amp.GradScaler("cuda") if needs_loss_scaling(self.device) else None
        self.result = TrainResult(model=model, precision=precision_name(self.device))
        self.best_state = copy.deepcopy(model.state_dict())
        self.ema = weight_average(model, config.ema_decay)
        self.batch_stage = batch_transform(
            config.augment, config.mean, config.std, config.phone_augment
        )
        self.bad_epochs = 0
        self.start_epoch = 0

    @property
    def evaluated(self) -> nn.Module:
        """What is validated and kept: the weight average where there is one."""
        return self.ema.module if self.ema is not None else self.model

    def restore(self, checkpoint: Path) -> None:
        """Continue from ``checkpoint``, refusing one whose options the run's state would not
        fit (``RESUME_MUST_MATCH``)."""
        state = torch.load(checkpoint, map_location=self.device, weights_only=True)
        saved = TrainConfig.from_dict(state["config"])
        for key in RESUME_MUST_MATCH:
            if getattr(saved, key) != getattr(self.config, key):
                raise TrainingError(
                    f"The checkpoint {checkpoint} was made with {key}={getattr(saved, key)!r}, "
                    f"not {getattr(self.config, key)!r}; start a new run instead of --resume."
                )
        self.model.load_state_dict(state["model"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self.optimiser.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.best_state = state["best_state"]
        self.result.history = list(state["history"])
        self.result.best_epoch = int(state["best_epoch"])
        self.result.best_score = float(state["best_score"])
        self.bad_epochs = int(state["bad_epochs"])
        self.start_epoch = int(state["epoch"]) + 1

    def train_epoch(self, epoch: int, *, progress: bool) -> tuple[float, int]:
        """One epoch of optimiser steps; the summed loss and the number of images seen."""
        config, model = self.config, self.model
        generator = _seed_everything(config.seed + epoch)
        sampler = epoch_sampler(self.train_set, config, self.epoch_samples, generator)
        loader = _loader(
            self.train_set,
            config.batch_size,
            shuffle=True,
            config=config,
            generator=generator,
            sampler=sampler,
        )
        frozen = set_trainable(model, config, epoch)
        model.train()
        for module in frozen:
            module.eval()  # frozen blocks keep their BatchNorm statistics
        total_loss, count = 0.0, 0
        bar = tqdm(
            loader,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            disable=not progress,
            file=sys.stderr,
            mininterval=1 if sys.stderr.isatty() else 30,
        )
        for images, targets in bar:
            images = images.to(self.device, non_blocking=True)
            if self.batch_stage is not None:
                images = self.batch_stage(images, generator)
            images = images.contiguous(memory_format=self.memory_format)
            loss, batch = self._step(images, to_device(targets, self.device))
            total_loss += loss * batch
            count += batch
            bar.set_postfix(loss=f"{total_loss / count:.4f}", refresh=False)
        if config.scheduler == "step":
            self.scheduler.step()
        return total_loss, count

    def _step(self, images: torch.Tensor, targets) -> tuple[float, int]:
        """One optimiser step; the batch's mean loss and its size."""
        self.optimiser.zero_grad(set_to_none=True)
        with autocast(self.device):
            loss, batch = self.loss_fn(self.model(images), targets)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimiser)
            self.scaler.update()
        else:
            loss.backward()
            self.optimiser.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        if self.config.scheduler == "cosine":
            self.scheduler.step()
        return float(loss.item()), batch

    def validate(self, val_set: ImageDataset, epoch: int) -> tuple[float, float, bool]:
        """Accuracy and balanced accuracy on validation; keeps the weights when they are the best
        so far (by ``config.monitor``) and says so."""
        val_logits = predict_logits(self.evaluated, val_set, config=self.config)
        val_labels = np.asarray(val_set.labels)
        val_pred = val_logits.argmax(axis=1)
        val_acc = float((val_pred == val_labels).mean())
        val_bal = balanced_accuracy(val_labels, val_pred)
        score = val_bal if self.config.monitor == "balanced_accuracy" else val_acc
        improved = score > self.result.best_score
        if improved:
            self.result.best_score, self.result.best_epoch = score, epoch + 1
            self.best_state = copy.deepcopy(self.evaluated.state_dict())
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        return val_acc, val_bal, improved

    def save(self, checkpoint: Path, epoch: int) -> None:
        """Everything ``restore`` needs to continue after ``epoch``, written atomically."""
        _save_checkpoint(
            checkpoint,
            {
                "epoch": epoch,
                "config": self.config.to_dict(),
                "model": self.model.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "optimizer": self.optimiser.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "best_state": self.best_state,
                "best_epoch": self.result.best_epoch,
                "best_score": self.result.best_score,
                "bad_epochs": self.bad_epochs,
                "history": self.result.history,
            },
        )


def train(
    model: nn.Module,
    train_set: ImageDataset,
    val_set: ImageDataset,
    config: TrainConfig,
    *,
    checkpoint: Path | None = None,
    resume: bool = False,
    log: Log = print,
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` and return it loaded with its best epoch's weights."""
    run = _Run(model, train_set, config)
    result = run.result
    if resume and checkpoint is not None and checkpoint.exists():
        run.restore(checkpoint)
        log(f"Resuming after epoch {run.start_epoch} of {config.epochs} from {checkpoint}.")
    started = time.monotonic()
    seen = 0
    for epoch in range(run.start_epoch, config.epochs):
        if run.bad_epochs >= config.patience:
            result.stopped_early = True
            break
        epoch_start = time.monotonic()
        total_loss, count = run.train_epoch(epoch, progress=progress)
        train_seconds = time.monotonic() - epoch_start
        seen += count
        val_acc, val_bal, improved = run.validate(val_set, epoch)
        row = {
            "epoch": epoch + 1,
            "train_loss": round(total_loss / max(1, count), 5),
            "val_accuracy": round(val_acc, 4),
            "val_balanced_accuracy": round(val_bal, 4),
            "train_images_per_second": round(count / train_seconds, 2),
            "seconds": round(time.monotonic() - epoch_start, 1),
            "lr": run.optimiser.param_groups[0]["lr"],
        }
        result.history.append(row)
        log(
            f"epoch {epoch + 1}/{config.epochs}: train loss {row['train_loss']:.4f}, "
            f"val acc {val_acc:.4f}, val balanced acc {val_bal:.4f}, {row['seconds']:.0f} s "
            f"({row['train_images_per_second']:.1f} img/s){' *best*' if improved else ''}"
        )
        if checkpoint is not None:
            run.save(checkpoint, epoch)
        if config.deadline is not None:
            epoch_time = time.monotonic() - epoch_start
            if time.time() + epoch_time > config.deadline and epoch + 1 < config.epochs:
                log(f"Stopping after epoch {epoch + 1}: another epoch would pass the deadline.")
                result.stopped_early = True
                break
    else:
        result.stopped_early = run.bad_epochs >= config.patience and (
            len(result.history) < config.epochs
        )
    model.load_state_dict(run.best_state)
    result.seconds = time.monotonic() - started
    result.images_per_second = seen / result.seconds if result.seconds else 0.0
    return result
