"""Training augmentations and the evaluation transform (which is ``preprocess``).

The ``strong`` augmentations are split in two. The geometric part (crops, flips, rotation) runs
per image in the DataLoader and hands over uint8 tensors. The colour part (jitter, greyscale)
and the normalisation run on the whole batch in the training process (``batch_transform``), as a
few tensor operations: on PIL images ColorJitter alone cost 1.7 ms per image, half of the data
pipeline, and a 2-core CPU has no spare core to hide that behind the model step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from PIL import Image
from torchvision import transforms as T

from .augment import BATCH_STRENGTHS, PhoneImageStage, check_names
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
    augment: str,
    input_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    phone: Sequence[str] = (),
) -> T.Compose | EvalTransform:
    """``reference``: the reference design's augmentations. ``strong``: random crops that zoom
    past the dermoscope's round vignette, both flips, rotation and stronger colour jitter, to
    weaken the "dermoscopic look" shortcut. ``none``: the evaluation transform.

    ``phone`` names phone-photo augmentations (``augment.py``) to add to ``strong``."""
    _check_phone(augment, phone)
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
        # Colour and normalisation follow on the batch: see ``batch_transform``.
        stage = PhoneImageStage(phone, input_size)
        crop = stage.crop or T.RandomResizedCrop(
            input_size, scale=(0.4, 1.0), ratio=(0.75, 1.333), interpolation=bilinear
        )
        return T.Compose(
            [
                *stage.before_crop,
                crop,
                T.RandomHorizontalFlip(),
                T.RandomVerticalFlip(),
                T.RandomRotation(25),
                *stage.after_crop,
                T.PILToTensor(),
            ]
        )
    raise ValueError(f"Unknown augmentation {augment!r}; choose one of {', '.join(AUGMENTATIONS)}.")


BatchStage = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]


def batch_transform(
    augment: str, mean: Sequence[float], std: Sequence[float], phone: Sequence[str] = ()
) -> BatchStage | None:
    """What runs on each training batch after the DataLoader, or None when the per-image
    transform already returns normalised tensors. ``phone`` may add white balance, exposure and
    sensor noise (``augment.py``) to the colour stage."""
    _check_phone(augment, phone)
    if augment == "strong":
        extra = {name: BATCH_STRENGTHS[name] for name in phone if name in BATCH_STRENGTHS}
        return BatchColourJitter(
            brightness=0.3, contrast=0.3, saturation=0.25, hue=0.03, greyscale_p=0.05,
            mean=mean, std=std, **extra,
        )  # fmt: skip
    return None


def _check_phone(augment: str, phone: Sequence[str]) -> None:
    check_names(phone)
    if phone and augment != "strong":
        raise ValueError(
            f"Phone-photo augmentations ({', '.join(phone)}) extend the strong augmentation; "
            f"use augment strong, not {augment!r}."
        )


# ITU-R 601 luma, as torchvision's greyscale, and the YIQ space whose I/Q plane a hue shift
# rotates (a linear stand-in for torchvision's HSV hue shift: cheap on a batch, same luma).
_LUMA = (0.299, 0.587, 0.114)
_TO_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


class BatchColourJitter:
    """Per-image random brightness, contrast, saturation and hue, then greyscale with
    probability ``greyscale_p``, then normalisation, on a uint8 batch (N, 3, H, W).

    The factors are drawn as torchvision's ColorJitter draws them (uniform in 1 +- strength, hue
    in +-hue turns) and applied in its default order; all of them but contrast fold into one
    3x3 colour matrix per image, so a batch costs one matrix product and a clamp.

    Phone-photo options (all 0, i.e. off, by default; their draws come after the others, so
    turning them on leaves the colour draws as they were): ``white_balance`` and ``exposure``
    are per-channel and overall gains applied first, as a camera does, folded into the same
    matrix; ``noise`` adds Gaussian luma noise of a random standard deviation up to ``noise``
    that grows with brightness (shot noise), before the clamp.
    """

    def __init__(
        self,
        *,
        brightness: float,
        contrast: float,
        saturation: float,
        hue: float,
        greyscale_p: float,
        mean: Sequence[float],
        std: Sequence[float],
        white_balance: float = 0.0,
        exposure: float = 0.0,
        noise: float = 0.0,
    ) -> None:
        self.brightness, self.contrast, self.saturation = brightness, contrast, saturation
        self.hue, self.greyscale_p = hue, greyscale_p
        self.white_balance, self.exposure, self.noise = white_balance, exposure, noise
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.luma = torch.tensor(_LUMA)
        to_yiq = torch.tensor(_TO_YIQ)
        self.to_yiq, self.from_yiq = to_yiq, torch.linalg.inv(to_yiq)

    def _factors(self, n: int, strength: float, generator: torch.Generator | None) -> torch.Tensor:
        return 1 + (torch.rand(n, generator=generator) * 2 - 1) * strength

    def colour_matrices(
        self, n: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(brightness, contrast, 3x3 saturation-hue-greyscale matrix) for ``n`` images."""
        bright = self._factors(n, self.brightness, generator)
        contrast = self._factors(n, self.contrast, generator)
        saturation = self._factors(n, self.saturation, generator)
        angle = (torch.rand(n, generator=generator) * 2 - 1) * self.hue * 2 * math.pi
        grey = torch.rand(n, generator=generator) < self.greyscale_p
        to_grey = torch.ones(3, 1) * self.luma.view(1, 3)  # each channel becomes the luma
        eye = torch.eye(3)
        sat = saturation.view(n, 1, 1) * eye + (1 - saturation).view(n, 1, 1) * to_grey
        rotation = torch.zeros(n, 3, 3)
        rotation[:, 0, 0] = 1
        rotation[:, 1, 1] = rotation[:, 2, 2] = torch.cos(angle)
        rotation[:, 1, 2] = -torch.sin(angle)
        rotation[:, 2, 1] = torch.sin(angle)
        matrix = self.from_yiq @ rotation @ self.to_yiq @ sat
        # Greyscale after jitter: saturation and hue leave luma alone, so grey is grey of input.
        matrix[grey] = to_grey
        return bright, contrast, matrix

    def camera_gains(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Per-channel gains (n, 3) for white balance and exposure, or None when both are off.

        White balance moves red against blue (colour temperature) and green a third as far
        (tint), in log units; exposure is +-``exposure`` stops on all three."""
        if not (self.white_balance or self.exposure):
            return None
        log_gain = torch.zeros(n, 3)
        if self.white_balance:
            temperature = (torch.rand(n, generator=generator) * 2 - 1) * self.white_balance
            tint = (torch.rand(n, generator=generator) * 2 - 1) * self.white_balance / 3
            log_gain += torch.stack([temperature, tint, -temperature], dim=1)
        if self.exposure:
            stops = (torch.rand(n, generator=generator) * 2 - 1) * self.exposure
            log_gain += (stops * math.log(2)).view(n, 1)
        return log_gain.exp()

    def __call__(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        n, device = images.shape[0], images.device
        bright, contrast, matrix = (t.to(device) for t in self.colour_matrices(n, generator))
        gains = self.camera_gains(n, generator)
        x = images.float().div_(255)
        # Contrast blends with the mean luma of the brightened image, as torchvision does.
        luma = self.luma.to(device)
        if gains is None:
            mean_luma = torch.einsum("c,nchw->n", luma, x) / (x.shape[2] * x.shape[3]) * bright
        else:
            gains = gains.to(device)
            channel_means = x.mean(dim=(2, 3))
            mean_luma = (channel_means * gains * luma).sum(dim=1) * bright
        gain = (bright * contrast).view(n, 1, 1) * matrix
        offset = ((1 - contrast) * mean_luma).view(n, 1) * matrix.sum(dim=2)
        if gains is not None:
            gain = gain * gains.view(n, 1, 3)  # the camera's gains act first (on the columns)
        x = torch.einsum("nij,njhw->nihw", gain, x) + offset.view(n, 3, 1, 1)
        if self.noise:
            sigma = torch.rand(n, generator=generator).to(device) * self.noise
            # One grain per pixel shared by the channels (luma noise, what survives a phone's
            # chroma denoising), a third of the random numbers of per-channel noise.
            grain = torch.randn((n, 1, *x.shape[2:]), generator=generator).to(device)
            # Shot noise grows with the signal: half of sigma in the dark, all of it in white.
            x += grain * sigma.view(n, 1, 1, 1) * (0.5 + 0.5 * x.clamp(0, 1))
        x = x.clamp_(0, 1)
        return (x - self.mean.to(device)) / self.std.to(device)
