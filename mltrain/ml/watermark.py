"""Neutralising a watermark that only some classes carry (dermnet-com's "©Dermnet.com").

Every dermnet-com photo has the same semi-transparent mark across its centre, and only eczema,
psoriasis and fungal photos come from there: a model can learn "mark, so one of those three".
Uploaded photos never carry it, and cropping cannot remove a centred mark. So, during training
only, the same mark is pasted onto the other clinical photos so that within every class the same
share of clinical photos carries it (``paste_probabilities``): the mark then says nothing about
the class. Validation and test never see dermnet-com (``roots.py``) nor a pasted mark.

The mark is estimated from the marked photos themselves (``estimate_watermark``): over many
photos the scene averages out, so in a window at the centre the per-pixel variance falls by
(1 - alpha)^2 where the mark is, and the mean moves towards the mark's colour. Both are compared
with a median-filtered (mark-free) background; stray dips outside the box around the clearly
marked pixels are dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from .data import DataError, ImageDataset, ImageRecord
from .roots import WATERMARKED_SOURCES

# The window the mark is looked for in, centred (dermnet-com's mark is about 155 x 20 px on its
# 320 px photos; the narrowest portrait photo is 206 px wide).
WINDOW = (56, 200)
REFERENCE_LONG_SIDE = 320  # the photos' longer side the mark was estimated at
ALPHA_FLOOR = 0.04  # below this the estimate is noise, not mark


def is_marked(record: ImageRecord) -> bool:
    return record.source.lower() in WATERMARKED_SOURCES


@dataclass(frozen=True)
class Watermark:
    """Per-pixel opacity (H, W) and colour (H, W, 3, 0-255) of a centred mark, as it appears on
    photos whose longer side is ``long_side`` pixels."""

    alpha: np.ndarray
    colour: np.ndarray
    long_side: int = REFERENCE_LONG_SIDE

    def paste(self, image: Image.Image) -> Image.Image:
        """``image`` with the mark blended into its centre, scaled to its size."""
        scale = max(image.size) / self.long_side
        h, w = self.alpha.shape
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        alpha = self.alpha
        colour = self.colour
        if size != (w, h):
            alpha = np.asarray(
                Image.fromarray(alpha.astype(np.float32)).resize(size, Image.Resampling.BILINEAR)
            )
            colour = np.asarray(
                Image.fromarray(colour.clip(0, 255).astype(np.uint8)).resize(
                    size, Image.Resampling.BILINEAR
                )
            )
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32).copy()
        ph, pw = pixels.shape[:2]
        mh, mw = min(alpha.shape[0], ph), min(alpha.shape[1], pw)
        top, left = (ph - mh) // 2, (pw - mw) // 2
        my, mx = (alpha.shape[0] - mh) // 2, (alpha.shape[1] - mw) // 2
        a = alpha[my : my + mh, mx : mx + mw, None]
        c = colour[my : my + mh, mx : mx + mw].astype(np.float32)
        region = pixels[top : top + mh, left : left + mw]
        pixels[top : top + mh, left : left + mw] = (1 - a) * region + a * c
        return Image.fromarray(pixels.round().clip(0, 255).astype(np.uint8))


def estimate_watermark(
    paths: Sequence[Path], *, window: tuple[int, int] = WINDOW, limit: int = 800
) -> Watermark:
    """Estimate the centred mark from up to ``limit`` photos (evenly spread over ``paths``) that
    all carry it. Photos smaller than ``window`` are skipped.

    Raises ``ValueError`` when fewer than 20 photos are usable: the scene would not average out.
    """
    h, w = window
    step = max(1, len(paths) // limit)
    total = np.zeros((h, w, 3))
    squares = np.zeros((h, w, 3))
    count = 0
    for path in list(paths)[::step][:limit]:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
        ph, pw = pixels.shape[:2]
        if ph < h or pw < w:
            continue
        top, left = (ph - h) // 2, (pw - w) // 2
        crop = pixels[top : top + h, left : left + w]
        total += crop
        squares += crop**2
        count += 1
    if count < 20:
        raise ValueError(f"Only {count} marked photos of at least {w}x{h} px: too few to estimate.")
    mean = total / count
    variance = (squares / count - mean**2).mean(axis=2)
    grey = mean.mean(axis=2)
    # The mark is thin text: a median over a window larger than its strokes sees background.
    size = min(41, h - 1 if h % 2 == 0 else h)
    background_var = ndimage.median_filter(variance, size=size, mode="nearest")
    background = ndimage.median_filter(grey, size=size, mode="nearest")
    alpha = 1 - np.sqrt(np.clip(variance / np.maximum(background_var, 1e-6), 0, 1))
    alpha = np.where(alpha >= ALPHA_FLOOR, alpha, 0.0) * _mark_box(alpha)
    safe = np.maximum(alpha, 1e-3)[..., None]
    colour = (mean - (1 - alpha[..., None]) * background[..., None]) / safe
    colour = np.where(alpha[..., None] > 0, colour.clip(0, 255), 0.0)
    return Watermark(alpha=alpha.astype(np.float32), colour=colour.astype(np.float32))


def _mark_box(alpha: np.ndarray, pad: int = 3) -> np.ndarray:
    """1 inside the box around the clearly marked pixels (over half the peak opacity), padded,
    0 elsewhere: the variance ratio of a few hundred photos has stray dips that are no mark."""
    rows, cols = np.nonzero(alpha > 0.5 * alpha.max())
    box = np.zeros_like(alpha)
    if len(rows):
        box[
            max(0, rows.min() - pad) : rows.max() + pad + 1,
            max(0, cols.min() - pad) : cols.max() + pad + 1,
        ] = 1.0
    return box


def paste_probabilities(records: Sequence[ImageRecord]) -> tuple[list[float], dict[str, float]]:
    """For each record, the chance its photo gets the mark pasted during training.

    Within each class, the share of clinical photos carrying the mark (real or pasted) becomes
    the largest natural share of any class, so no class has more marked photos than another.
    Marked and dermoscopic photos get 0 (the mark is a clinical atlas's; pasting it on
    dermoscopic images would make it a photo-type cue instead). Also returns the target share and
    each class's natural share, for the log."""
    clinical = Counter(r.label for r in records if r.photo_type == "clinical")
    marked = Counter(r.label for r in records if is_marked(r))
    shares = {label: marked[label] / n for label, n in clinical.items() if n}
    target = max(shares.values(), default=0.0)
    chance: dict[int, float] = {}
    for label, n in clinical.items():
        clean = n - marked[label]
        # target * n marked photos in all, of which marked[label] carry it already.
        chance[label] = min(1.0, (target * n - marked[label]) / clean) if clean else 0.0
    probabilities = [
        0.0 if is_marked(r) or r.photo_type != "clinical" else chance[r.label] for r in records
    ]
    return probabilities, {"target": target, **{str(k): v for k, v in sorted(shares.items())}}


class WatermarkedDataset(ImageDataset):
    """An ``ImageDataset`` that pastes ``watermark`` onto record ``i`` with probability
    ``probabilities[i]`` before the transform, drawing from torch's generator (seeded per epoch
    and DataLoader worker, like the other augmentations)."""

    def __init__(
        self,
        records: Sequence[ImageRecord],
        transform: Callable,
        watermark: Watermark,
        probabilities: Sequence[float],
    ) -> None:
        super().__init__(records, transform)
        if len(probabilities) != len(self.records):
            raise ValueError("One paste probability per record is needed.")
        self.watermark = watermark
        self.probabilities = list(probabilities)

    def __getitem__(self, index: int):
        record = self.records[index]
        with Image.open(record.path) as image:
            photo = image.convert("RGB")
        chance = self.probabilities[index]
        if chance > 0 and float(torch.rand(1)) < chance:
            photo = self.watermark.paste(photo)
        return self.transform(photo), record.label


def training_set(
    records: Sequence[ImageRecord],
    transform: Callable,
    *,
    neutralise: bool = True,
    log: Callable[[str], None] = print,
) -> ImageDataset:
    """The training dataset: with marked photos among ``records`` and ``neutralise``, one that
    pastes their mark onto the others (see the module docstring); else a plain one."""
    marked = [r for r in records if is_marked(r)]
    if not marked:
        return ImageDataset(records, transform)
    if not neutralise:
        log(f"warning: {len(marked)} watermarked training photos and no neutralisation.")
        return ImageDataset(records, transform)
    try:
        watermark = estimate_watermark([r.path for r in marked])
    except ValueError as exc:
        raise DataError(
            f"Cannot neutralise the watermark of the {len(marked)} marked training photos: {exc} "
            f"Train without them, or with --no-watermark-paste to measure the shortcut."
        ) from exc
    probabilities, shares = paste_probabilities(records)
    log(
        f"watermark: {len(marked)} marked photos; pasted so that {shares['target']:.0%} of every "
        f"class's clinical training photos carry it (natural shares by label: "
        + ", ".join(f"{k} {v:.0%}" for k, v in shares.items() if k != "target")
        + ")"
    )
    return WatermarkedDataset(records, transform, watermark, probabilities)
