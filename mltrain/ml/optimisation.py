"""What one optimiser step changes and how: which parameters train, the loss, the optimiser
with its two learning rates, the learning-rate schedule and the moving average of the weights.

``engine.train`` builds its run from these; ``bench/training.py`` builds the same ones to time a
step alone.
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .architectures import split_parameters, stem_modules
from .config import TrainConfig, TrainingError
from .metrics import class_weights


def set_trainable(model: nn.Module, config: TrainConfig, epoch: int) -> list[nn.Module]:
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


def build_criterion(
    labels: list[int], num_classes: int, config: TrainConfig, device: torch.device
) -> nn.CrossEntropyLoss:
    """The label loss: class weights by ``config.class_weighting``, with label smoothing."""
    weights = torch.tensor(class_weights(labels, num_classes, config.class_weighting))
    return nn.CrossEntropyLoss(weight=weights.to(device), label_smoothing=config.label_smoothing)


def build_optimiser(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam or AdamW over two groups: the backbone at ``lr``, the new head at ``head_lr``."""
    backbone, head = split_parameters(model, config.arch)
    groups = [
        {"params": backbone, "lr": config.lr},
        {"params": head, "lr": config.head_lr or config.lr},
    ]
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    raise TrainingError(f"Unknown optimiser {config.optimizer!r}.")


def build_scheduler(
    optimiser: torch.optim.Optimizer, config: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """``step``: torch's StepLR, stepped once per epoch as it is meant to be. ``cosine``: stepped
    per batch, a linear warm-up then a cosine decay to 1% over ``total_steps``."""
    if config.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimiser, step_size=config.step_size, gamma=config.gamma
        )
    if config.scheduler != "cosine":
        raise TrainingError(f"Unknown scheduler {config.scheduler!r}.")
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

    return torch.optim.lr_scheduler.LambdaLR(optimiser, factor)


def weight_average(model: nn.Module, decay: float) -> AveragedModel | None:
    """The moving average of ``model``'s weights and buffers, or None when ``decay`` is 0.

    Buffers are averaged too (``use_buffers``), so the average carries BatchNorm statistics that
    match its weights and needs no extra pass over the data."""
    if not decay:
        return None
    if not 0.0 < decay < 1.0:
        raise TrainingError(f"ema_decay must be between 0 and 1, not {decay}.")
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
