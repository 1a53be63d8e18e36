"""An artifact's latency figures (``metrics.json``'s ``latency_ms``): what they are made of."""

from __future__ import annotations

from mltrain.ml.architectures import build_model
from mltrain.ml.latency import latency_ms, measure_latency


def test_latency_is_the_median_of_the_timed_calls_after_two_warm_ups():
    calls: list[int] = []
    result = latency_ms(lambda: calls.append(1), repeats=5)
    assert len(calls) == 7
    assert result >= 0.0


def test_measure_latency_times_pytorch_and_the_exported_onnx_model():
    figures = measure_latency(build_model("custom_cnn"), input_size=32, threads=1, repeats=3)
    assert figures["torch"] > 0 and figures["onnx"] > 0
    assert (figures["threads"], figures["batch"], figures["repeats"]) == (1, 1, 3)
    assert figures["onnx_size_mb"] > 0
