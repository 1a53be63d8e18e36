from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mltrain.ml.architectures import build_model
from mltrain.ml.artifacts import check_onnx_parity, export_onnx
from mltrain.ml.preprocess import IMAGENET_MEAN, IMAGENET_STD, preprocess
from mltrain.tests.conftest import make_image


def test_onnx_matches_pytorch_top3_and_probabilities_within_1e4(tmp_path: Path):
    torch.manual_seed(0)
    model = build_model("mobilenet_v2").eval()
    export_onnx(model, tmp_path / "m.onnx", 64)
    images = [make_image(label, 0, size=80) for label in range(10)]
    batch = np.stack([
        preprocess(image, input_size=64, mean=IMAGENET_MEAN, std=IMAGENET_STD) for image in images
    ])  # fmt: skip
    report = check_onnx_parity(model, tmp_path / "m.onnx", batch, temperature=0.5)
    assert report["top3_equal"] is True
    assert report["max_prob_diff"] < 1e-4
    # A batch size other than the export's works (dynamic batch axis).
    report = check_onnx_parity(model, tmp_path / "m.onnx", batch[:3])
    assert report["images"] == 3
    assert isinstance(images[0], Image.Image)
