"""Training augmentations and the evaluation transform (which is ``preprocess``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from torchvision import transforms as T

from .preprocess import preprocess

AUGMENTATIONS = ("reference", "strong", "none")


class EvalTransform:
    """PIL image -> tensor through ``preprocess``, so evaluation sees what the site will see."""

    def __init__(self, input_size: int, mean: Sequence[float], std: Sequence[float]) -> None:
        self.input_size = input_size
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return torch.from_numpy(
            preprocess(image, input_size=self.input_size, mean=self.mean, std=self.std)
        )


def train_transform(
    augment: str, input_size: int, mean: Sequence[float], std: Sequence[float]
) -> T.Compose | EvalTransform:
    """``reference``: the reference design's augmentations. ``strong``: random crops that zoom
    past the dermoscope's round vignette, both flips, rotation and stronger colour jitter, to
    weaken the "dermoscopic look" shortcut. ``none``: the evaluation transform."""
    if augment == "none":
        return EvalTransform(input_size, mean, std)
    tail = [T.ToTensor(), T.Normalize(mean=list(mean), std=list(std))]
    bilinear = T.InterpolationMode.BILINEAR
    if augment == "reference":
        return T.Compose(
            [
                T.Resize((input_size, input_size), interpolation=bilinear),
                T.RandomHorizontalFlip(),
                T.RandomRotation(20),
                T.ColorJitter(brightness=0.2, contrast=0.2),
                *tail,
            ]
        )
    if augment == "strong":
        return T.Compose(
            [
                T.RandomResizedCrop(
                    input_size, scale=(0.4, 1.0), ratio=(0.75, 1.333), interpolation=bilinear
                ),
                T.RandomHorizontalFlip(),
                T.RandomVerticalFlip(),
                T.RandomRotation(25),
                T.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.25, hue=0.03),
                T.RandomGrayscale(p=0.05),
                *tail,
            ]
        )
    raise ValueError(f"Unknown augmentation {augment!r}; choose one of {', '.join(AUGMENTATIONS)}.")
