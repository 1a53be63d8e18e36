"""Which training images an epoch draws: all of them shuffled, or a weighted draw that balances
classes (and photo types within a class) against the data set's skew."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import RandomSampler, Sampler, WeightedRandomSampler

from .config import TrainConfig, TrainingError
from .data import ImageDataset

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


def epoch_sampler(
    train_set: ImageDataset, config: TrainConfig, epoch_samples: int, generator: torch.Generator
) -> Sampler[int] | None:
    """The sampler of one epoch's ``epoch_samples`` draws, by ``config.sampling``; None where a
    plain shuffle of the whole set does."""
    if config.sampling in (*PHOTO_TYPE_POWER, "class_sqrt"):
        draw_weights = sample_weights(
            train_set,
            by_photo_type=config.sampling != "class_sqrt",
            type_power=PHOTO_TYPE_POWER.get(config.sampling, 0.5),
        )
        return WeightedRandomSampler(
            draw_weights.tolist(), epoch_samples, replacement=True, generator=generator
        )
    if config.sampling == "shuffle":
        if epoch_samples < len(train_set):
            return RandomSampler(train_set, num_samples=epoch_samples, generator=generator)
        return None
    raise TrainingError(f"Unknown sampling {config.sampling!r}.")
