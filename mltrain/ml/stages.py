"""The stages every training run shares, whether ``pipeline`` writes an artifact from it or the
sweep a row of its table: the datasets of a split's parts, and the trained model's calibration
(a temperature fitted on validation) and evaluation on test."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from .calibration import fit_temperature, softmax
from .config import TrainConfig
from .data import ImageDataset, ImageRecord
from .distill import with_teacher
from .engine import predict_logits
from .metrics import evaluate
from .transforms import EvalTransform, train_transform
from .watermark import training_set


@dataclass
class RunDatasets:
    train: ImageDataset
    val: ImageDataset
    test: ImageDataset


def build_datasets(
    parts: dict[str, list[ImageRecord]],
    config: TrainConfig,
    *,
    teacher_cache: Path | None,
    log: Callable[[str], None],
) -> RunDatasets:
    """Training (augmented, watermark pasted, with the teacher's logits when ``config.teacher``
    is set and ``teacher_cache`` given), validation and test sets, normalised with
    ``config.mean`` and ``config.std``."""
    mean, std = config.mean, config.std
    eval_tf = EvalTransform(config.input_size, mean, std)
    train_set = training_set(
        parts["train"],
        train_transform(config.augment, config.input_size, mean, std, config.phone_augment),
        neutralise=config.neutralise_watermark,
        log=log,
    )
    if config.teacher and teacher_cache is not None:
        train_set = with_teacher(
            train_set, config.teacher, device=config.device, log=log, cache_dir=teacher_cache
        )
    return RunDatasets(
        train_set, ImageDataset(parts["val"], eval_tf), ImageDataset(parts["test"], eval_tf)
    )


def record_tags(records: Sequence[ImageRecord]) -> tuple[list[str] | None, list[str] | None]:
    """Sources and photo types for ``metrics.evaluate``'s breakdowns; None for data that names
    no sources."""
    if not any(r.source for r in records):
        return None, None
    return [r.source for r in records], [r.photo_type for r in records]


@dataclass
class Evaluation:
    """A trained model's logits on validation and test, the temperature fitted on validation,
    and the test metrics of the calibrated probabilities."""

    temperature: float
    val_logits: np.ndarray
    val_labels: np.ndarray
    test_logits: np.ndarray
    test_labels: np.ndarray
    test_metrics: dict

    @property
    def test_probs(self) -> np.ndarray:
        return softmax(self.test_logits, self.temperature)


def calibrate_and_evaluate(
    model: nn.Module, sets: RunDatasets, config: TrainConfig, *, progress: bool = False
) -> Evaluation:
    val_logits = predict_logits(model, sets.val, config=config, desc="val" if progress else None)
    test_logits = predict_logits(model, sets.test, config=config, desc="test" if progress else None)
    val_labels = np.asarray(sets.val.labels)
    test_labels = np.asarray(sets.test.labels)
    temperature = fit_temperature(val_logits, val_labels)
    sources, photo_types = record_tags(sets.test.records)
    test_metrics = evaluate(
        softmax(test_logits, temperature), test_labels, sources=sources, photo_types=photo_types
    )
    return Evaluation(temperature, val_logits, val_labels, test_logits, test_labels, test_metrics)
