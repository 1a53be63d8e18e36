"""Typed readers for settings that come from the environment.

Every setting a person may change is read through one of these helpers so that a bad value
fails at start-up with an error naming the variable, instead of misbehaving later.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}.")
    return value


def env_float(
    name: str, default: float, *, above: float | None = None, at_most: float | None = None
) -> float:
    """A number; ``above`` and ``at_most`` bound it (``above < value <= at_most``)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}.") from None
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {raw!r}.")
    if above is not None and value <= above:
        raise ImproperlyConfigured(f"{name} must be greater than {above:g}, got {value:g}.")
    if at_most is not None and value > at_most:
        raise ImproperlyConfigured(f"{name} must be at most {at_most:g}, got {value:g}.")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


_DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps")


def env_device(name: str, default: str = "cpu") -> str:
    """A PyTorch device name: ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""
    value = os.environ.get(name, default).strip().lower() or default
    if not _DEVICE.fullmatch(value):
        raise ImproperlyConfigured(f"{name} must be cpu, cuda, cuda:N or mps, got {value!r}.")
    return value


_RATE = re.compile(r"\d+/\d*(\.\d+)?[smhd](/(ip|user|key))?")


def env_rate(name: str, default: str) -> str:
    """An allauth rate limit such as ``60/h/user`` (several joined by commas); empty is none."""
    value = os.environ.get(name, default).strip()
    parts = [part.strip() for part in value.split(",")] if value else []
    if not all(_RATE.fullmatch(part) for part in parts):
        raise ImproperlyConfigured(
            f"{name} must be rates like 60/h/user (amount/period[/ip|user|key]), got {value!r}."
        )
    return value


def env_secret(name: str, default: str = "") -> str:
    """Read a secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points at an unreadable file: {exc}") from exc
    return os.environ.get(name, default)
