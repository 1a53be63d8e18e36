"""What every benchmark shares: paths, timing, statistics, tables and the machine's description.

Absolute times drift on a shared machine, so variants are never timed one after the other in
long stretches: ``alternate`` runs them in short interleaved blocks, after a warm-up, and every
table reports the median and p95 of the same rounds plus ratios between variants.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT / ".." / "shared"
IMAGENET_WEIGHTS = SHARED_DIR / "weights" / "mobilenet_v2_imagenet.pth"


class Skipped(Exception):
    """A benchmark (or part of one) cannot run here; the message says why."""


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "notes": self.notes,
        }


@dataclass
class BenchResult:
    """What one benchmark hands back: its tables, its headline figures and free-text notes."""

    name: str
    tables: list[Table] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timing_note: str = ""  # e.g. ", one stack run shared with pages"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seconds": round(self.seconds, 1),
            "figures": self.figures,
            "notes": self.notes,
            "skipped": self.skipped,
            "timing_note": self.timing_note,
            "tables": [t.to_dict() for t in self.tables],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchResult:
        """The inverse of ``to_dict`` (``bench/run.py --render`` rebuilds the report from it)."""
        return cls(
            name=data["name"],
            tables=[Table(**table) for table in data["tables"]],
            figures=dict(data["figures"]),
            notes=list(data["notes"]),
            skipped=list(data["skipped"]),
            seconds=float(data["seconds"]),
            timing_note=data.get("timing_note", ""),
        )


def skin10_dir() -> Path:
    """The skin10 images: ``../shared/data/skin10``, or ``BENCH_SKIN10_DIR`` (the smoke tests
    point it at a small synthetic set laid out the same way)."""
    return Path(os.environ.get("BENCH_SKIN10_DIR") or SHARED_DIR / "data" / "skin10")


def out_dir() -> Path:
    """Scratch space (``bench/out``, ignored by git; ``BENCH_OUT_DIR`` overrides it): temporary
    artifacts, the cached split, generated photos, stack logs."""
    folder = Path(os.environ.get("BENCH_OUT_DIR") or REPO_ROOT / "bench" / "out")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def require_skin10() -> Path:
    folder = skin10_dir()
    if not (folder / "metadata.csv").is_file():
        raise Skipped(f"real images not available: {folder.resolve()} is absent")
    return folder


def log(message: str) -> None:
    """Progress on stderr (the tables go to stdout)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def stage(what: str) -> Iterator[None]:
    """Log how long a preparation step took (so a slow run shows where its time went)."""
    start = time.monotonic()
    yield
    log(f"{what}: {time.monotonic() - start:.1f} s")


# --- statistics ------------------------------------------------------------------------------


def summarise(samples_ms: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99, mean, min and count of a list of milliseconds."""
    if not samples_ms:
        return {
            "n": 0,
            "p50": float("nan"),
            "p95": float("nan"),
            "p99": float("nan"),
            "mean": float("nan"),
            "min": float("nan"),
        }
    arr = np.asarray(samples_ms, dtype=np.float64)
    return {
        "n": int(arr.size),
        "p50": float(np.median(arr)),
        "p95": float(np.percentile(arr, 95)),
        "p99": float(np.percentile(arr, 99)),
        "mean": float(arr.mean()),
        "min": float(arr.min()),
    }


def rnd(value: float | None, digits: int = 2) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


def alternate(
    variants: Mapping[str, Callable[[], Any]],
    *,
    rounds: int,
    block: int = 1,
    warmup: int = 2,
) -> dict[str, list[float]]:
    """Time each variant in interleaved blocks; return milliseconds per call for each.

    Every variant is warmed up first (``warmup`` calls). Then, ``rounds`` times, each variant in
    turn runs ``block + 1`` calls and the first call of the block is dropped: it pays for the
    switch (caches, the other library's spinning threads), which is not the variant's cost.
    """
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            fn()
            for _ in range(block):
                start = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - start) * 1000.0)
    return times


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """(result, milliseconds)."""
    start = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - start) * 1000.0


# --- the machine ------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16() -> bool:
    """Whether the CPU computes bf16 in hardware (AVX512-BF16 or AMX), per /proc/cpuinfo.

    oneDNN (``torch.ops.mkldnn._is_mkldnn_bf16_supported``) also says yes on plain AVX-512
    CPUs, where bf16 is emulated and usually slower than fp32.
    """
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def environment() -> dict[str, Any]:
    flags = cpu_flags()
    interesting = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "cpu_flags": [f for f in interesting if f in flags],
        "native_bf16": native_bf16(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "versions": {
            name: _version(name)
            for name in (
                "torch",
                "torchvision",
                "onnxruntime",
                "onnx",
                "numpy",
                "Pillow",
                "Django",
                "celery",
                "gunicorn",
                "psycopg",
                "redis",
                "requests",
            )
        },
    }
