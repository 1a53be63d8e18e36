"""The training loop: seeded, resumable, with early stopping on a validation metric.

One epoch = one pass over ``epoch_samples`` training images (all of them by default). After each
epoch the model is evaluated on the validation split; the best epoch's weights are kept, training
stops after ``patience`` epochs without improvement, and a checkpoint (model, optimiser, scheduler,
history, best weights) is written atomically so ``resume=True`` continues after the last finished
epoch. Randomness is re-seeded from ``seed + epoch`` at the start of each epoch, which makes a
resumed run draw the same batches as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, WeightedRandomSampler
from tqdm import tqdm

from .architectures import split_parameters, stem_modules
from .augment import check_names
from .data import ImageDataset
from .distill import TeacherTargets, TrainingLoss, to_device
from .metrics import balanced_accuracy, class_weights
from .transforms import batch_transform

Log = Callable[[str], None]


class TrainingError(Exception):
    """Training cannot start or continue (bad device, mismatched checkpoint)."""


@dataclass
class TrainConfig:
    """Every knob of a run. The defaults are the reference design's recipe."""

    arch: str = "mobilenet_v2"
    epochs: int = 4
    batch_size: int = 32
    optimizer: str = "adam"  # adam | adamw
    lr: float = 1e-4
    head_lr: float | None = None  # None: same as lr
    weight_decay: float = 0.0
    scheduler: str = "step"  # step (StepLR) | cosine (per step, with linear warm-up)
    step_size: int = 7
    gamma: float = 0.1
    warmup_steps: int = 0
    label_smoothing: float = 0.0
    class_weighting: str = "balanced"  # balanced | sqrt | none  (loss weights)
    # shuffle | balanced_sqrt (class and photo-type aware) | balanced_types (photo types of a
    # class drawn equally often) | class_sqrt (classes only)
    sampling: str = "shuffle"
    augment: str = "reference"  # reference | strong | none
    # Phone-photo augmentations added to "strong", by name (augment.PHONE_AUGMENTATIONS).
    phone_augment: tuple[str, ...] = ()
    # Paste a watermarked source's mark onto other clinical photos (watermark.py); only acts
    # when such photos (dermnet-com) are in the training part. False: for measuring the shortcut.
    neutralise_watermark: bool = True
    # Distillation (distill.py): a teacher artifact folder or sweep state whose cached logits
    # join the label loss with weight distill_alpha, softened by distill_temperature. None: off.
    teacher: str | None = None
    distill_alpha: float = 0.5
    distill_temperature: float = 4.0
    input_size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    patience: int = 3
    monitor: str = "balanced_accuracy"  # balanced_accuracy | accuracy
    freeze_epochs: int = 0  # epochs that train the head only
    freeze_stem: int = 0  # first feature blocks kept frozen for the whole run (CPU speed)
    epoch_samples: int | None = None
    seed: int = 42
    device: str = "cpu"
    num_threads: int | None = None
    num_workers: int = 0
    channels_last: bool = True
    # Exponential moving average of the weights (and BatchNorm statistics), per step; validation,
    # early stopping and the saved model use the average. 0 turns it off.
    ema_decay: float = 0.0
    deadline: float | None = None  # unix time: stop after the epoch that would overrun it

    def __post_init__(self) -> None:
        # A misspelt or misplaced augmentation fails here, before any data is read.
        self.phone_augment = check_names(self.phone_augment)
        if self.phone_augment and self.augment != "strong":
            raise ValueError(
                f"--phone-augment {' '.join(self.phone_augment)} extends the strong "
                f"augmentation; add --augment strong (or use the improved recipe)."
            )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["mean"], data["std"] = list(self.mean), list(self.std)
        data["phone_augment"] = list(self.phone_augment)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("mean", "std", "phone_augment"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


# Named option sets. "reference" is the reference design; "improved" is the fine-tuning recipe
# used for the default model (see MODEL_CARD.md): AdamW with a 10x higher rate for the new head,
# cosine decay after a short warm-up, label smoothing, square-root class balancing in the sampler
# that also up-weights clinical photographs of the mostly dermoscopic classes, strong crops and
# colour jitter against the dermoscope shortcut, and the first four (high-resolution) MobileNetV2
# blocks frozen, which about doubles CPU throughput.
RECIPES: dict[str, dict] = {
    "reference": {},
    "improved": {
        "epochs": 20,
        "epoch_samples": 4000,
        "input_size": 160,
        "optimizer": "adamw",
        "lr": 3e-4,
        "head_lr": 2e-3,
        "weight_decay": 0.01,
        "scheduler": "cosine",
        "warmup_steps": 150,
        "label_smoothing": 0.1,
        "class_weighting": "none",
        "sampling": "balanced_sqrt",
        "augment": "strong",
        "patience": 4,
        "freeze_stem": 4,
    },
}


def recipe_config(recipe: str, **overrides) -> TrainConfig:
    if recipe not in RECIPES:
        raise ValueError(f"Unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}.")
    values = {**RECIPES[recipe], **{k: v for k, v in overrides.items() if v is not None}}
    return TrainConfig(**values)


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


def resolve_device(name: str) -> torch.device:
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainingError(f"Device {name!r} was asked for, but no CUDA GPU is available.")
        return torch.device(name)
    if name != "cpu":
        raise TrainingError(f"Unknown device {name!r}; use cpu or cuda.")
    return torch.device("cpu")


def cpu_bf16_supported() -> bool:
    """Native bf16 only: oneDNN also "supports" bf16 on plain AVX-512 by emulation, which is no
    faster than float32 (the default model was trained that way before this check existed)."""
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    except (AttributeError, RuntimeError):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


# Within a class, each photo type's share of draws is proportional to its count to this power.
PHOTO_TYPE_POWER = {"balanced_sqrt": 0.5, "balanced_types": 0.0}


def sample_weights(
    dataset: ImageDataset, *, by_photo_type: bool = True, type_power: float = 0.5
) -> np.ndarray:
    """Per-image sampling weights: each class gets a share proportional to the square root of its
    size, and inside a class each photo type (dermoscopic, clinical) a share proportional to the
    square root of its count. Clinical melanoma thus goes from about 11% to 24% of melanoma draws,
    which counters the "dermoscope look means melanoma/nevus" shortcut. ``by_photo_type=False``
    (the ``class_sqrt`` sampling) balances classes only, for measuring what the second part adds.
    ``type_power=0`` (the ``balanced_types`` sampling) draws the photo types of a class equally
    often, pushing the clinical share of melanoma draws to a half."""
    labels = np.array([r.label for r in dataset.records])
    if by_photo_type:
        types = np.array([r.photo_type for r in dataset.records])
    else:
        types = np.array(["any"] * len(labels))
    weights = np.zeros(len(labels), dtype=np.float64)
    for c in np.unique(labels):
        in_class = labels == c
        class_mass = math.sqrt(in_class.sum())
        cells = {t: (in_class & (types == t)) for t in np.unique(types[in_class])}
        total_root = sum(float(m.sum()) ** type_power for m in cells.values())
        for mask in cells.values():
            share = float(mask.sum()) ** type_power / total_root
            weights[mask] = class_mass * share / mask.sum()
    return weights / weights.sum()


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


def _cuda_dtype() -> torch.dtype:
    """bf16 where the GPU has it (Ampere and later: no loss scaling needed), else fp16."""
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _autocast(device: torch.device, config: TrainConfig):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=_cuda_dtype())
    if cpu_bf16_supported():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


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


def _save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + ".part")
    torch.save(state, tmp)
    tmp.replace(path)


def _set_trainable(model: nn.Module, config: TrainConfig, epoch: int) -> list[nn.Module]:
    """Freeze what this epoch must not train; return the modules to keep in eval mode."""
    frozen: list[nn.Module] = []
    head_only = epoch < config.freeze_epochs
    backbone, head = split_parameters(model, config.arch)
    for p in backbone:
        p.requires_grad_(not head_only)
    for p in head:
        p.requires_grad_(True)
    for module in stem_modules(model, config.arch, config.freeze_stem):
        for p in module.parameters():
            p.requires_grad_(False)
        frozen.append(module)
    return frozen


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
    device = resolve_device(config.device)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(device)
    model.to(memory_format=memory_format)

    num_classes = _num_outputs(model, config)
    weights = torch.tensor(class_weights(train_set.labels, num_classes, config.class_weighting))
    criterion = nn.CrossEntropyLoss(
        weight=weights.to(device), label_smoothing=config.label_smoothing
    )
    if config.teacher and not isinstance(train_set, TeacherTargets):
        raise TrainingError("A teacher is set but the training set carries no teacher logits.")
    loss_fn = TrainingLoss(
        criterion, alpha=config.distill_alpha, temperature=config.distill_temperature
    )
    backbone, head = split_parameters(model, config.arch)
    groups = [
        {"params": backbone, "lr": config.lr},
        {"params": head, "lr": config.head_lr or config.lr},
    ]
    if config.optimizer == "adam":
        optimiser: torch.optim.Optimizer = torch.optim.Adam(
            groups, weight_decay=config.weight_decay
        )
    elif config.optimizer == "adamw":
        optimiser = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    else:
        raise TrainingError(f"Unknown optimiser {config.optimizer!r}.")

    epoch_samples = config.epoch_samples or len(train_set)
    steps_per_epoch = math.ceil(epoch_samples / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.scheduler == "step":
        # Stepped once per epoch, as torch's StepLR is meant to be.
        scheduler: torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler.StepLR(
            optimiser, step_size=config.step_size, gamma=config.gamma
        )
    elif config.scheduler == "cosine":
        warmup = max(0, config.warmup_steps)
        clock_start = time.time()

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress_ = (step - warmup) / max(1, total_steps - warmup)
            if config.deadline is not None:
                # With a deadline the decay follows the clock too, so a slower machine (or a
                # shared CPU) still ends the run at a low learning rate.
                span = max(1.0, config.deadline - clock_start)
                progress_ = max(progress_, (time.time() - clock_start) / span)
            return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress_)))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, factor)
    else:
        raise TrainingError(f"Unknown scheduler {config.scheduler!r}.")

    fp16 = device.type == "cuda" and _cuda_dtype() == torch.float16
    scaler = torch.amp.GradScaler("cuda") if fp16 else None
    result = TrainResult(model=model, precision=_precision_name(device))
    best_state = copy.deepcopy(model.state_dict())
    ema = _weight_average(model, config.ema_decay)
    bad_epochs = 0
    start_epoch = 0
    if resume and checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        saved = TrainConfig.from_dict(state["config"])
        # What a checkpoint's weights, optimiser state or average would not fit.
        compared = (
            "arch",
            "input_size",
            "batch_size",
            "optimizer",
            "scheduler",
            "sampling",
            "ema_decay",
            "teacher",
        )
        for key in compared:
            if getattr(saved, key) != getattr(config, key):
                raise TrainingError(
                    f"The checkpoint {checkpoint} was made with {key}={getattr(saved, key)!r}, "
                    f"not {getattr(config, key)!r}; start a new run instead of --resume."
                )
        model.load_state_dict(state["model"])
        if ema is not None and state.get("ema") is not None:
            ema.load_state_dict(state["ema"])
        optimiser.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        best_state = state["best_state"]
        result.history = list(state["history"])
        result.best_epoch = int(state["best_epoch"])
        result.best_score = float(state["best_score"])
        bad_epochs = int(state["bad_epochs"])
        start_epoch = int(state["epoch"]) + 1
        log(f"Resuming after epoch {start_epoch} of {config.epochs} from {checkpoint}.")

    batch_stage = batch_transform(config.augment, config.mean, config.std, config.phone_augment)
    started = time.monotonic()
    seen = 0
    for epoch in range(start_epoch, config.epochs):
        if bad_epochs >= config.patience:
            result.stopped_early = True
            break
        epoch_start = time.monotonic()
        generator = _seed_everything(config.seed + epoch)
        sampler: torch.utils.data.Sampler[int] | None
        if config.sampling in (*PHOTO_TYPE_POWER, "class_sqrt"):
            draw_weights = sample_weights(
                train_set,
                by_photo_type=config.sampling != "class_sqrt",
                type_power=PHOTO_TYPE_POWER.get(config.sampling, 0.5),
            )
            sampler = WeightedRandomSampler(
                draw_weights.tolist(),
                epoch_samples,
                replacement=True,
                generator=generator,
            )
        elif config.sampling == "shuffle":
            if epoch_samples < len(train_set):
                sampler = torch.utils.data.RandomSampler(
                    train_set, num_samples=epoch_samples, generator=generator
                )
            else:
                sampler = None
        else:
            raise TrainingError(f"Unknown sampling {config.sampling!r}.")
        loader = _loader(
            train_set,
            config.batch_size,
            shuffle=True,
            config=config,
            generator=generator,
            sampler=sampler,
        )
        frozen = _set_trainable(model, config, epoch)
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
            images = images.to(device, non_blocking=True)
            if batch_stage is not None:
                images = batch_stage(images, generator)
            images = images.contiguous(memory_format=memory_format)
            targets = to_device(targets, device)
            optimiser.zero_grad(set_to_none=True)
            with _autocast(device, config):
                loss, batch = loss_fn(model(images), targets)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimiser)
                scaler.update()
            else:
                loss.backward()
                optimiser.step()
            if ema is not None:
                ema.update_parameters(model)
            if config.scheduler == "cosine":
                scheduler.step()
            total_loss += float(loss.item()) * batch
            count += batch
            bar.set_postfix(loss=f"{total_loss / count:.4f}", refresh=False)
        if config.scheduler == "step":
            scheduler.step()
        train_seconds = time.monotonic() - epoch_start
        seen += count
        evaluated = ema.module if ema is not None else model
        val_logits = predict_logits(evaluated, val_set, config=config)
        val_labels = np.asarray(val_set.labels)
        val_pred = val_logits.argmax(axis=1)
        val_acc = float((val_pred == val_labels).mean())
        val_bal = balanced_accuracy(val_labels, val_pred)
        score = val_bal if config.monitor == "balanced_accuracy" else val_acc
        row = {
            "epoch": epoch + 1,
            "train_loss": round(total_loss / max(1, count), 5),
            "val_accuracy": round(val_acc, 4),
            "val_balanced_accuracy": round(val_bal, 4),
            "train_images_per_second": round(count / train_seconds, 2),
            "seconds": round(time.monotonic() - epoch_start, 1),
            "lr": optimiser.param_groups[0]["lr"],
        }
        result.history.append(row)
        improved = score > result.best_score
        if improved:
            result.best_score, result.best_epoch = score, epoch + 1
            best_state = copy.deepcopy(evaluated.state_dict())
            bad_epochs = 0
        else:
            bad_epochs += 1
        log(
            f"epoch {epoch + 1}/{config.epochs}: train loss {row['train_loss']:.4f}, "
            f"val acc {val_acc:.4f}, val balanced acc {val_bal:.4f}, {row['seconds']:.0f} s "
            f"({row['train_images_per_second']:.1f} img/s){' *best*' if improved else ''}"
        )
        if checkpoint is not None:
            _save_checkpoint(
                checkpoint,
                {
                    "epoch": epoch,
                    "config": config.to_dict(),
                    "model": model.state_dict(),
                    "ema": ema.state_dict() if ema is not None else None,
                    "optimizer": optimiser.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "best_state": best_state,
                    "best_epoch": result.best_epoch,
                    "best_score": result.best_score,
                    "bad_epochs": bad_epochs,
                    "history": result.history,
                },
            )
        if config.deadline is not None:
            epoch_time = time.monotonic() - epoch_start
            if time.time() + epoch_time > config.deadline and epoch + 1 < config.epochs:
                log(f"Stopping after epoch {epoch + 1}: another epoch would pass the deadline.")
                result.stopped_early = True
                break
    else:
        result.stopped_early = bad_epochs >= config.patience and len(result.history) < config.epochs
    model.load_state_dict(best_state)
    result.seconds = time.monotonic() - started
    result.images_per_second = seen / result.seconds if result.seconds else 0.0
    return result


def _weight_average(model: nn.Module, decay: float) -> AveragedModel | None:
    """The moving average of ``model``'s weights and buffers, or None when ``decay`` is 0.

    Buffers are averaged too (``use_buffers``), so the average carries BatchNorm statistics that
    match its weights and needs no extra pass over the data."""
    if not decay:
        return None
    if not 0.0 < decay < 1.0:
        raise TrainingError(f"ema_decay must be between 0 and 1, not {decay}.")
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _precision_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{'bfloat16' if _cuda_dtype() == torch.bfloat16 else 'float16'} autocast (CUDA)"
    return "bfloat16 autocast (CPU)" if cpu_bf16_supported() else "float32 (no native bf16)"


def _num_outputs(model: nn.Module, config: TrainConfig) -> int:
    model.eval()
    with torch.no_grad():
        probe = torch.zeros(1, 3, 32, 32, device=next(model.parameters()).device)
        return int(model(probe).shape[1])
