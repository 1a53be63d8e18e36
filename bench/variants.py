"""The ways of running the site's model that the inference benchmark compares.

Each builder returns ``Variant`` objects whose ``run`` maps a float32 batch (N, 3, H, W) to
(N, classes) scores, so timing and scoring use the very same call.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.artifact import ArtifactChoice
from bench.common import native_bf16

SITE = "ONNX Runtime fp32 (site: load_predictor)"
REFERENCE = "PyTorch eager fp32"


@dataclass
class Variant:
    name: str
    run: Callable[[np.ndarray], np.ndarray]  # (N, 3, H, W) float32 -> (N, classes)
    build_s: float = 0.0
    note: str = ""


def _torch_model(manifest: Any):
    import torch

    from mltrain.ml.architectures import build_model

    model = build_model(manifest.arch, num_classes=len(manifest.class_keys), weights="none")
    state = torch.load(manifest.file("model.pt"), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def torch_variants(manifest: Any, example: np.ndarray) -> tuple[list[Variant], list[str]]:
    """Eager, channels-last, TorchScript variants and (where native) bf16 autocast."""
    import torch

    skipped: list[str] = []
    model = _torch_model(manifest)

    def eager(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(batch)).numpy()

    variants = [Variant(REFERENCE, eager)]

    model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)

    def channels_last(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
            return model_cl(x).numpy()

    variants.append(Variant("PyTorch eager fp32 channels-last", channels_last))

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript is deprecated; it still runs
        start = time.perf_counter()
        with torch.no_grad():
            frozen = torch.jit.freeze(torch.jit.trace(model, torch.from_numpy(example[:1])))
        frozen_s = time.perf_counter() - start
        start = time.perf_counter()
        with torch.no_grad():
            optimised = torch.jit.optimize_for_inference(
                torch.jit.freeze(torch.jit.trace(model, torch.from_numpy(example[:1])))
            )
        optimised_s = time.perf_counter() - start

    def script(module):
        def run(batch: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return module(torch.from_numpy(batch)).numpy()

        return run

    variants.append(Variant("TorchScript traced + frozen", script(frozen), frozen_s))
    variants.append(
        Variant(
            "TorchScript frozen + optimize_for_inference",
            script(optimised),
            optimised_s,
            "oneDNN weight prepacking",
        )
    )

    if native_bf16():

        def bf16(batch: np.ndarray) -> np.ndarray:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                x = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
                return model_cl(x).float().numpy()

        variants.append(Variant("PyTorch bf16 autocast channels-last", bf16))
    else:
        skipped.append(
            "PyTorch bf16 autocast: skipped, this CPU has neither AVX512-BF16 nor AMX "
            "(/proc/cpuinfo); oneDNN would emulate bf16, which is slower than fp32"
        )
    return variants, skipped


def _onnx_predictor_run(predictor: Any) -> Callable[[np.ndarray], np.ndarray]:
    return predictor.predict_proba


def _calibration_reader(images: np.ndarray):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter([{"image": images[i : i + 8]} for i in range(0, len(images), 8)])

        def get_next(self) -> dict | None:
            return next(self._items, None)

    return Reader()


def onnx_variants(
    choice: ArtifactChoice, manifest: Any, calibration: np.ndarray, threads: int, workdir: Path
) -> tuple[list[Variant], list[str]]:
    """The site's predictor, and the same predictor class over int8 quantised copies."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_dynamic,
        quantize_static,
    )

    from mltrain.ml.predictors import OnnxPredictor, load_predictor

    notes: list[str] = []
    start = time.perf_counter()
    site = load_predictor(choice.path, backend="onnx", num_threads=threads)
    variants = [Variant(SITE, _onnx_predictor_run(site), time.perf_counter() - start)]

    source = manifest.file("model.onnx")
    prepared = workdir / "prepared.onnx"
    try:
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    except Exception as exc:  # noqa: BLE001 (the pre-pass is optional; say why it was skipped)
        notes.append(f"quant_pre_process failed ({exc.__class__.__name__}); quantised raw model")
        prepared = source

    def quantised(folder: str, make: Callable[[Path], None]) -> tuple[Any, float]:
        directory = workdir / folder
        directory.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        make(directory / "model.onnx")
        build = time.perf_counter() - start
        # The site's own predictor class over the quantised file: what switching would serve.
        predictor = OnnxPredictor(
            dataclasses.replace(manifest, path=directory), num_threads=threads
        )
        return predictor, build

    static, static_s = quantised(
        "int8-static",
        lambda out: quantize_static(
            str(prepared),
            str(out),
            _calibration_reader(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            # Fold the ranges every 16 images instead of keeping every activation of every
            # calibration image in memory (gigabytes for 200 images).
            extra_options={"CalibMaxIntermediateOutputs": 16},
        ),
    )
    variants.append(
        Variant(
            "ONNX Runtime int8 static QDQ",
            _onnx_predictor_run(static),
            static_s,
            f"per-channel U8S8, MinMax calibration on {len(calibration)} skin10 training images",
        )
    )
    dynamic, dynamic_s = quantised(
        "int8-dynamic",
        lambda out: quantize_dynamic(str(prepared), str(out), weight_type=QuantType.QUInt8),
    )
    variants.append(
        Variant(
            "ONNX Runtime int8 dynamic",
            _onnx_predictor_run(dynamic),
            dynamic_s,
            "weights int8, activations quantised per call (ConvInteger)",
        )
    )
    return variants, notes
