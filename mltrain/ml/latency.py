"""How long one image takes through a trained model on this CPU, in PyTorch and ONNX Runtime:
the ``latency_ms`` figures of an artifact's metrics."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .artifacts import export_onnx


def latency_ms(run_one: Callable[[], object], repeats: int = 50) -> float:
    """Median wall time of ``run_one`` over ``repeats`` calls after two warm-up calls."""
    for _ in range(2):
        run_one()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_one()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def measure_latency(model: nn.Module, input_size: int, threads: int, repeats: int = 50) -> dict:
    """Batch-of-one latency of ``model`` (moved to the CPU) in PyTorch and, exported, in ONNX
    Runtime with ``threads`` threads; and the exported file's size."""
    import onnxruntime as ort

    model = model.eval().to("cpu").to(memory_format=torch.contiguous_format)
    x = torch.rand(1, 3, input_size, input_size)
    with torch.no_grad():
        torch_ms = latency_ms(lambda: model(x), repeats)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        export_onnx(model, path, input_size)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        arr = x.numpy()
        onnx_ms = latency_ms(lambda: session.run(None, {"image": arr}), repeats)
        onnx_mb = round(path.stat().st_size / 1e6, 2)
    return {
        "torch": torch_ms,
        "onnx": onnx_ms,
        "threads": threads,
        "batch": 1,
        "repeats": repeats,
        "onnx_size_mb": onnx_mb,
    }
