"""What a training run is told: every option (``TrainConfig``) and the named recipes.

``train_model``'s options, the sweep's plan entries and a checkpoint's saved options all become a
``TrainConfig``; ``engine.train`` reads nothing else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .augment import check_names


class TrainingError(Exception):
    """Training cannot start or continue (bad device, unknown option, mismatched checkpoint)."""


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
    """The named recipe with ``overrides`` on top; an override of None means "not given"."""
    if recipe not in RECIPES:
        raise ValueError(f"Unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}.")
    values = {**RECIPES[recipe], **{k: v for k, v in overrides.items() if v is not None}}
    return TrainConfig(**values)
