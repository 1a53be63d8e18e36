from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mltrain.ml.architectures import ARCHITECTURES, WeightsError, build_model
from mltrain.ml.data import load_dataset
from mltrain.ml.predictors import load_predictor
from mltrain.ml.preprocess import preprocess
from mltrain.tests.conftest import train_tiny


# Lite1 and Lite2 are Lite0's code with other multipliers: Lite0 stands for them here.
@pytest.mark.parametrize(
    "arch", [a for a in ARCHITECTURES if a not in ("efficientnet_lite1", "efficientnet_lite2")]
)
def test_each_architecture_trains_an_epoch_and_its_artifact_predicts_the_same(
    arch: str, manifest_data: Path, tmp_path: Path
):
    torch.set_num_threads(1)
    outcome = train_tiny(manifest_data, tmp_path / "models", arch)
    manifest = outcome.manifest
    assert manifest.arch == arch
    assert (manifest.path / "plots" / "confusion_matrix.png").stat().st_size > 1000
    assert outcome.metrics["test"]["count"] == len(outcome.split["test"])
    assert len(outcome.result.history) == 1

    records = load_dataset(manifest_data).records[:4]
    batch = np.stack([
        preprocess(__import__("PIL.Image").Image.open(r.path), input_size=32,
                   mean=manifest.mean, std=manifest.std)
        for r in records
    ])  # fmt: skip
    in_memory = outcome.result.model.eval()
    with torch.no_grad():
        expected = torch.softmax(in_memory(torch.from_numpy(batch)) / manifest.temperature, 1)
    for backend in ("torch", "onnx"):
        probs = load_predictor(manifest.path, backend=backend).predict_proba(batch)
        np.testing.assert_allclose(probs, expected.numpy(), atol=1e-4)


def test_mobilenet_v2_has_the_reference_head():
    model = build_model("mobilenet_v2")
    layers = list(model.classifier)
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert (layers[0].in_features, layers[0].out_features, layers[3].out_features) == (
        1280,
        256,
        10,
    )
    assert layers[2].p == 0.3


def test_weights_from_a_torchvision_state_dict_are_loaded(tmp_path: Path):
    import torchvision

    source = torchvision.models.resnet18()
    torch.save(source.state_dict(), tmp_path / "r18.pth")
    model = build_model("resnet18", weights=tmp_path / "r18.pth")
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert model.fc.out_features == 10


def test_weights_of_the_wrong_shape_are_a_clear_error(tmp_path: Path):
    import torchvision

    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    with pytest.raises(WeightsError, match="do not fit mobilenet_v2"):
        build_model("mobilenet_v2", weights=tmp_path / "r18.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a loadable state dict"):
        build_model("mobilenet_v2", weights=tmp_path / "junk.pth")


def test_imagenet_weights_offline_fail_with_a_clear_message(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsError, match="--weights PATH"):
        build_model("resnet18", weights="imagenet")


def test_an_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="Unknown architecture 'vgg16'"):
        build_model("vgg16")
