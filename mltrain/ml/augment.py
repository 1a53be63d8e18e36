"""Phone-photo augmentations: what a phone camera and a messaging app do to a skin photo.

Each one is selected by name in ``TrainConfig.phone_augment`` (none by default, so the default
recipe is unchanged) and only with the ``strong`` augmentation:

* per image, on the PIL image in the DataLoader (``PhoneImageStage``): ``perspective`` (a photo
  taken at a slant), ``safe_crop`` (random crops that usually leave out the corners, where atlas
  logos and copyright marks sit; replaces ``strong``'s RandomResizedCrop), ``defocus`` and
  ``motion_blur``, ``rescale`` (downscale then upscale, as a zoom or a resized upload does) and
  ``jpeg`` (re-compression at a random quality), in the order a camera and an app apply them;
* per batch, folded into ``BatchColourJitter`` (see ``transforms.py``): ``white_balance`` and
  ``exposure`` join its colour matrix at no extra cost; ``noise`` adds sensor noise.

Every random draw goes through an optional ``torch.Generator``: with one, the output depends on
its seed alone; without, on torch's global generator (seeded per epoch and DataLoader worker).
Each augmentation applies to a share ``p`` of the images so clean photos are still seen.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter
from torchvision.transforms import functional as TF

PER_IMAGE = ("perspective", "safe_crop", "defocus", "motion_blur", "rescale", "jpeg")
PER_BATCH = ("white_balance", "exposure", "noise")
PHONE_AUGMENTATIONS = PER_IMAGE + PER_BATCH
# Strengths handed to BatchColourJitter for the per-batch ones: white-balance gain spread
# (log units, about +-15% red against blue), exposure in stops, noise standard deviation.
BATCH_STRENGTHS = {"white_balance": 0.15, "exposure": 0.5, "noise": 0.04}

Generator = torch.Generator | None


def check_names(names: Sequence[str]) -> tuple[str, ...]:
    """The names as a tuple; ``ValueError`` naming an unknown one (before any training)."""
    unknown = [n for n in names if n not in PHONE_AUGMENTATIONS]
    if unknown:
        choices = ", ".join(PHONE_AUGMENTATIONS)
        raise ValueError(f"Unknown phone augmentation {unknown[0]!r}; choose from {choices}.")
    return tuple(names)


def _uniform(low: float, high: float, generator: Generator) -> float:
    return low + (high - low) * float(torch.rand(1, generator=generator))


def _chance(p: float, generator: Generator) -> bool:
    return float(torch.rand(1, generator=generator)) < p


class RandomJpeg:
    """Re-encode as JPEG at a quality drawn from ``quality`` (phones and chat apps: 30-90)."""

    def __init__(self, p: float = 0.5, quality: tuple[int, int] = (30, 90)) -> None:
        self.p, self.quality = p, quality

    def __call__(self, image: Image.Image, generator: Generator = None) -> Image.Image:
        if not _chance(self.p, generator):
            return image
        quality = round(_uniform(*self.quality, generator))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            return decoded.convert("RGB")


class Defocus:
    """A lens out of focus: a Gaussian blur of ``radius`` pixels of the output image."""

    def __init__(self, p: float = 0.3, radius: tuple[float, float] = (0.5, 1.8)) -> None:
        self.p, self.radius = p, radius

    def __call__(self, image: Image.Image, generator: Generator = None) -> Image.Image:
        if not _chance(self.p, generator):
            return image
        return image.filter(ImageFilter.GaussianBlur(_uniform(*self.radius, generator)))


def motion_kernel(length: int, angle: float) -> torch.Tensor:
    """A ``length`` x ``length`` line kernel through the centre at ``angle`` radians, summing
    to one (samples along the line, bilinearly spread over the pixels)."""
    kernel = torch.zeros(length, length)
    centre = (length - 1) / 2
    steps = 4 * length
    for i in range(steps):
        t = (i / (steps - 1) - 0.5) * (length - 1)
        x, y = centre + t * math.cos(angle), centre + t * math.sin(angle)
        x0, y0 = math.floor(x), math.floor(y)
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            xi, yi = x0 + dx, y0 + dy
            if 0 <= xi < length and 0 <= yi < length:
                kernel[yi, xi] += (1 - abs(x - xi)) * (1 - abs(y - yi))
    return kernel / kernel.sum()


class MotionBlur:
    """A shaken phone: a line blur of ``length`` pixels in a random direction."""

    def __init__(self, p: float = 0.3, length: tuple[int, int] = (3, 9)) -> None:
        self.p, self.length = p, length

    def __call__(self, image: Image.Image, generator: Generator = None) -> Image.Image:
        if not _chance(self.p, generator):
            return image
        length = round(_uniform(*self.length, generator)) | 1  # odd: the line has a centre pixel
        kernel = motion_kernel(length, _uniform(0.0, math.pi, generator))
        x = TF.pil_to_tensor(image.convert("RGB")).float().unsqueeze(0)
        pad = length // 2
        x = F.pad(x, (pad, pad, pad, pad), mode="replicate")
        out = F.conv2d(x, kernel.expand(3, 1, length, length).contiguous(), groups=3)
        return TF.to_pil_image(out[0].round().clamp(0, 255).to(torch.uint8))


class Rescale:
    """Downscale by ``factor`` then back up: the detail a small sensor, a digital zoom or a
    resized upload loses."""

    def __init__(self, p: float = 0.3, factor: tuple[float, float] = (0.3, 0.75)) -> None:
        self.p, self.factor = p, factor

    def __call__(self, image: Image.Image, generator: Generator = None) -> Image.Image:
        if not _chance(self.p, generator):
            return image
        factor = _uniform(*self.factor, generator)
        small = (max(8, round(image.width * factor)), max(8, round(image.height * factor)))
        down = image.resize(small, Image.Resampling.BILINEAR, reducing_gap=None)
        return down.resize(image.size, Image.Resampling.BILINEAR)


class Perspective:
    """A photo taken at a slant: each corner moves inward by up to ``distortion`` of the side."""

    def __init__(self, p: float = 0.3, distortion: float = 0.12) -> None:
        self.p, self.distortion = p, distortion

    def __call__(self, image: Image.Image, generator: Generator = None) -> Image.Image:
        if not _chance(self.p, generator):
            return image
        w, h = image.size
        dx, dy = self.distortion * w, self.distortion * h
        corners = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]
        signs = [(1, 1), (-1, 1), (-1, -1), (1, -1)]  # inward from each corner
        moved = [
            [round(x + sx * _uniform(0, dx, generator)), round(y + sy * _uniform(0, dy, generator))]
            for (x, y), (sx, sy) in zip(corners, signs, strict=True)
        ]
        return TF.perspective(
            image, corners, moved, interpolation=TF.InterpolationMode.BILINEAR, fill=[0, 0, 0]
        )


class CornerSafeCrop:
    """A random crop resized to ``size``, which with probability ``p_safe`` leaves out the four
    corner squares (``margin`` of each side) where atlas marks sit; otherwise any crop, so a
    model still sees whole photos now and then.

    Scale and aspect ratio are drawn as RandomResizedCrop draws them; positions are redrawn up to
    ten times to avoid the corners, then the crop falls back to the centre."""

    def __init__(
        self,
        size: int,
        scale: tuple[float, float] = (0.35, 0.9),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        # 15%: a Fitzpatrick17k atlas mark ("SFS", bottom left) reaches past 12% of the side.
        margin: float = 0.15,
        p_safe: float = 0.85,
    ) -> None:
        self.size, self.scale, self.ratio = size, scale, ratio
        self.margin, self.p_safe = margin, p_safe

    def box(
        self, width: int, height: int, generator: Generator = None
    ) -> tuple[int, int, int, int]:
        """(left, top, crop width, crop height)."""
        safe = _chance(self.p_safe, generator)
        mx, my = self.margin * width, self.margin * height
        for _ in range(10):
            area = width * height * _uniform(*self.scale, generator)
            ratio = math.exp(_uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), generator))
            w = min(width, round(math.sqrt(area * ratio)))
            h = min(height, round(math.sqrt(area / ratio)))
            left = round(_uniform(0, width - w, generator))
            top = round(_uniform(0, height - h, generator))
            if not safe or not _touches_a_corner(left, top, w, h, width, height, mx, my):
                return left, top, w, h
        w, h = round(width * (1 - 2 * self.margin)), round(height * (1 - 2 * self.margin))
        return (width - w) // 2, (height - h) // 2, w, h

    def __call__(self, image: Image.Image, generator: Generator = None) -> Image.Image:
        left, top, w, h = self.box(image.width, image.height, generator)
        return image.resize(
            (self.size, self.size), Image.Resampling.BILINEAR, box=(left, top, left + w, top + h)
        )


def _touches_a_corner(
    left: int, top: int, w: int, h: int, width: int, height: int, mx: float, my: float
) -> bool:
    near_left, near_right = left < mx, left + w > width - mx
    near_top, near_bottom = top < my, top + h > height - my
    return (near_left or near_right) and (near_top or near_bottom)


class PhoneImageStage:
    """The selected per-image augmentations, in the order a photo meets them. ``before_crop``
    runs on the whole photo; ``after_crop`` on the cropped, resized one (cheaper, and blur and
    compression act at the resolution the model sees)."""

    def __init__(self, names: Sequence[str], input_size: int) -> None:
        chosen = set(check_names(names))
        self.before_crop = [Perspective()] if "perspective" in chosen else []
        self.crop = CornerSafeCrop(input_size) if "safe_crop" in chosen else None
        self.after_crop = [
            factory()
            for name, factory in (
                ("defocus", Defocus),
                ("motion_blur", MotionBlur),
                ("rescale", Rescale),
                ("jpeg", RandomJpeg),
            )
            if name in chosen
        ]


class Chain:
    """Apply ``steps`` (each ``(image, generator) -> image``) in order: a picklable pipeline
    step for torchvision's Compose, which DataLoader workers receive."""

    def __init__(self, steps: Sequence) -> None:
        self.steps = list(steps)

    def __call__(self, image: Image.Image, generator: Generator = None) -> Image.Image:
        for step in self.steps:
            image = step(image, generator)
        return image
