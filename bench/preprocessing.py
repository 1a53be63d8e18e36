"""Preprocessing: decode + orient + resize + normalise, for a 12-megapixel phone JPEG and a
224 px JPEG, against the model time that follows it.

Variants:

* full decode: ``Image.open``, ``ImageOps.exif_transpose`` (decodes every pixel, rotates the
  full picture), then ``mltrain.ml.preprocess.preprocess``;
* draft: the same, after ``draft("RGB", (size, size))`` (libjpeg scales by 1/2, 1/4 or 1/8 while
  decoding);
* draft, orient last, fused normalise: draft, squash to the input size, *then* rotate (rotating
  224x224 pixels instead of millions; squash and a quarter turn commute for a square target),
  and normalise in one multiply-add from uint8;
* the site's actual path: the web's ``skinsite.imaging.validate_image`` (draft to at least 3/4
  of 1024 px, shrink, orient, re-encode the stored copy and thumbnail) plus the worker's reading
  of that stored copy and ``preprocess``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from bench.artifact import ArtifactChoice, test_records
from bench.common import BenchResult, Table, alternate, rnd, summarise
from testing.photos import PHONE_SIZE, phone_jpeg, small_jpeg


@dataclass(frozen=True)
class PreprocessConfig:
    rounds: int = 12
    block: int = 2
    agreement_images: int = 20
    phone_size: tuple[int, int] = PHONE_SIZE


QUICK = PreprocessConfig(rounds=1, block=1, agreement_images=2, phone_size=(1200, 900))


class Paths:
    """The compared ways from JPEG bytes to the model's input array."""

    def __init__(self, manifest: Any) -> None:
        from skinsite.imaging import DEFAULT_LIMITS

        self.size = manifest.input_size
        self.mean = manifest.mean
        self.std = manifest.std
        self.limits = DEFAULT_LIMITS
        std = np.asarray(manifest.std, dtype=np.float32)
        self.scale = (1.0 / (255.0 * std))[:, None, None].astype(np.float32)
        self.bias = (-np.asarray(manifest.mean, dtype=np.float32) / std)[:, None, None]

    def _pre(self, image: Image.Image) -> np.ndarray:
        from mltrain.ml.preprocess import preprocess

        return preprocess(image, input_size=self.size, mean=self.mean, std=self.std)

    def full(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as image:
            return self._pre(ImageOps.exif_transpose(image))

    def draft(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (self.size, self.size))
            return self._pre(ImageOps.exif_transpose(image))

    def fast(self, data: bytes) -> np.ndarray:
        from skinsite.imaging import ORIENTATION_TRANSPOSE

        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (self.size, self.size))
            orientation = image.getexif().get(0x0112, 1)
            rgb = image.convert("RGB").resize((self.size, self.size), Image.Resampling.BILINEAR)
        if orientation in ORIENTATION_TRANSPOSE:
            rgb = rgb.transpose(ORIENTATION_TRANSPOSE[orientation])
        chw = np.asarray(rgb).transpose(2, 0, 1)
        out = np.empty(chw.shape, dtype=np.float32)
        np.multiply(chw, self.scale, out=out)
        out += self.bias
        return out

    def site_web(self, data: bytes) -> bytes:
        from skinsite.imaging import validate_image

        return validate_image(data, limits=self.limits).content

    def site_worker(self, stored: bytes) -> np.ndarray:
        # What diagnosis.inference.classify_image does before the model.
        with Image.open(io.BytesIO(stored)) as image:
            return self._pre(image)

    def site(self, data: bytes) -> np.ndarray:
        return self.site_worker(self.site_web(data))


def _diff(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    delta = np.abs(a - b)
    return float(delta.max()), float(delta.mean())


def run(choice: ArtifactChoice, config: PreprocessConfig = PreprocessConfig()) -> BenchResult:
    from mltrain.ml.predictors import load_predictor

    result = BenchResult("preprocessing")
    predictor = load_predictor(choice.path, backend="onnx", num_threads=2)
    paths = Paths(predictor.manifest)
    records, _ = test_records(choice.path, max(config.agreement_images, 1))
    source = records[0].path
    megapixels = config.phone_size[0] * config.phone_size[1] / 1e6
    phone_label = f"{megapixels:.0f} MP phone JPEG"
    inputs = {phone_label: phone_jpeg(source, config.phone_size), "224 px JPEG": small_jpeg(source)}
    stored_phone = paths.site_web(inputs[phone_label])
    model_input = paths.site_worker(stored_phone)[np.newaxis]

    variants: dict[str, Callable[[bytes], Any]] = {
        "full decode + exif_transpose + preprocess": paths.full,
        "draft + exif_transpose + preprocess": paths.draft,
        "draft + squash + orient last + fused normalise": paths.fast,
        "site: web validate_image (stored copy, thumbnail)": paths.site_web,
        "site: web + worker (stored copy -> preprocess) *": paths.site,
    }
    model_ms = None
    for label, data in inputs.items():
        calls: dict[str, Callable[[], Any]] = {
            n: (lambda f=f, d=data: f(d)) for n, f in variants.items()
        }
        calls["model (site, batch 1)"] = lambda: predictor.predict_proba(model_input)
        times = alternate(calls, rounds=config.rounds, block=config.block)
        stats = {n: summarise(t) for n, t in times.items()}
        model_ms = stats["model (site, batch 1)"]["p50"]
        reference = paths.full(data)
        base = stats["full decode + exif_transpose + preprocess"]["p50"]
        with Image.open(io.BytesIO(data)) as image:
            size = f"{image.width}x{image.height}, {len(data) / 1e6:.2f} MB"
        table = Table(
            f"Preprocessing, {label} ({size}) -> {paths.size}x{paths.size} input (ms)",
            [
                "path",
                "p50",
                "p95",
                "vs full decode",
                "max |diff|",
                "mean |diff|",
                "share of preprocess + model",
            ],
        )
        for name, fn in variants.items():
            s = stats[name]
            if "validate_image" in name and "worker" not in name:
                max_d = mean_d = None
            else:
                max_d, mean_d = _diff(fn(data), reference)
            table.rows.append(
                [
                    name,
                    rnd(s["p50"]),
                    rnd(s["p95"]),
                    rnd(s["p50"] / base, 3),
                    rnd(max_d, 3),
                    rnd(mean_d, 4),
                    f"{s['p50'] / (s['p50'] + model_ms):.0%}",
                ]
            )
        m = stats["model (site, batch 1)"]
        table.rows.append(
            ["model (site, batch 1)", rnd(m["p50"]), rnd(m["p95"]), None, None, None, None]
        )
        table.notes.append(
            "diff = against the full-decode tensor, in normalised units (1/255 of a pixel is "
            f"about {1 / (255 * max(paths.std)):.3f}). * = what the site does per upload."
        )
        result.tables.append(table)
        key = "phone" if "phone" in label else "small"
        result.figures[f"preprocess_p50_ms_site_{key}"] = rnd(
            stats["site: web + worker (stored copy -> preprocess) *"]["p50"]
        )
        result.figures[f"preprocess_p50_ms_full_decode_{key}"] = rnd(base)
        result.figures[f"preprocess_p50_ms_fast_{key}"] = rnd(
            stats["draft + squash + orient last + fused normalise"]["p50"]
        )
    result.figures["preprocess_model_p50_ms"] = rnd(model_ms)

    # Does skipping pixels change what the model says? Top-1 over several phone photos.
    agree = {n: 0 for n in variants if "worker" in n or "validate" not in n}
    count = 0
    for record in records[: config.agreement_images]:
        data = phone_jpeg(record.path, config.phone_size)
        top_full = int(predictor.predict_proba(paths.full(data)[np.newaxis]).argmax())
        for name in agree:
            agree[name] += int(
                int(predictor.predict_proba(variants[name](data)[np.newaxis]).argmax()) == top_full
            )
        count += 1
    table = Table(
        f"Top-1 of the site's model on {count} phone photos, each path against full decode",
        ["path", "same top-1"],
        [[n, f"{a}/{count}"] for n, a in agree.items()],
    )
    result.tables.append(table)
    return result
