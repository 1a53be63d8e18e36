"""Where training runs and in what precision: the device, and the autocast it gets there."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from .config import TrainingError


def resolve_device(name: str) -> torch.device:
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainingError(f"Device {name!r} was asked for, but no CUDA GPU is available.")
        return torch.device(name)
    if name != "cpu":
        raise TrainingError(f"Unknown device {name!r}; use cpu or cuda.")
    return torch.device("cpu")


def cpu_bf16_supported() -> bool:
    """Native bf16 only: oneDNN also "supports" bf16 on plain AVX-512 by emulation, which is no
    faster than float32 (the default model was trained that way before this check existed)."""
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    except (AttributeError, RuntimeError):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cuda_dtype() -> torch.dtype:
    """bf16 where the GPU has it (Ampere and later: no loss scaling needed), else fp16."""
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """The mixed precision a training step runs under on ``device`` (none on a CPU without
    native bf16)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=cuda_dtype())
    if cpu_bf16_supported():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def needs_loss_scaling(device: torch.device) -> bool:
    """fp16 gradients underflow without a ``GradScaler``; bf16 and float32 ones do not."""
    return device.type == "cuda" and cuda_dtype() == torch.float16


def precision_name(device: torch.device) -> str:
    """``autocast``'s choice in words, for the training record."""
    if device.type == "cuda":
        return f"{'bfloat16' if cuda_dtype() == torch.bfloat16 else 'float16'} autocast (CUDA)"
    return "bfloat16 autocast (CPU)" if cpu_bf16_supported() else "float32 (no native bf16)"
