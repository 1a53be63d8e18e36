"""The shipped default artifact is complete, small enough and consistent across backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mltrain.ml.artifacts import load_manifest
from mltrain.ml.classes import CLASS_KEYS
from mltrain.ml.predictors import load_predictor

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "default_model"
SHIPPED = sorted(p.parent for p in DEFAULT_MODEL_DIR.glob("*/manifest.json"))


@pytest.mark.skipif(not SHIPPED, reason="no default model is shipped in mltrain/default_model/")
def test_the_default_model_is_complete_small_and_backends_agree():
    folder = SHIPPED[-1]
    manifest = load_manifest(folder, verify=True)
    assert manifest.class_keys == CLASS_KEYS
    assert manifest.arch == "mobilenet_v2"
    # 21 MB of classifier (ONNX + state dict) and 13 MB of trust bundle (the ImageNet gate's
    # ONNX and its feature bank): one model in the repository, never two.
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 36 * 1024 * 1024
    batch = np.random.default_rng(0).normal(size=(4, 3, manifest.input_size, manifest.input_size))
    batch = batch.astype(np.float32)
    onnx = load_predictor(folder, backend="onnx").predict_proba(batch)
    torch_ = load_predictor(folder, backend="torch").predict_proba(batch)
    np.testing.assert_allclose(onnx, torch_, atol=1e-4)
    assert (np.argsort(-onnx, 1)[:, :3] == np.argsort(-torch_, 1)[:, :3]).all()
