"""Which model artifact the benchmarks measure, and the skin10 test images they score it on.

Order: ``--artifact PATH``; else the active ``ModelVersion`` of the site's database; else the
newest committed default model under ``mltrain/default_model/``; else a temporary artifact built
here, with the ML package's own export code, from the ImageNet MobileNetV2 in ``../shared`` and a
random ten-class head (same architecture, same ONNX export, meaningless predictions).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import IMAGENET_WEIGHTS, REPO_ROOT, Skipped, out_dir, require_skin10

DEFAULT_MODEL_ROOT = REPO_ROOT / "mltrain" / "default_model"
TEMP_VERSION = "bench-imagenet-random-head"


@dataclass(frozen=True)
class ArtifactChoice:
    path: Path
    origin: str  # how it was chosen, for the results file
    trained: bool  # False for the random-head stand-in: accuracy figures mean nothing


def _active_model_path() -> Path | None:
    """The active model of the site's own database, asked in a subprocess (no Django here)."""
    code = (
        "from mltrain.models import ModelVersion\n"
        "v = ModelVersion.objects.active()\n"
        "print(v.path if v else '')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].strip():
        return None
    path = Path(lines[-1].strip())
    return path if (path / "manifest.json").is_file() else None


def _default_model_path() -> Path | None:
    if not DEFAULT_MODEL_ROOT.is_dir():
        return None
    candidates = [p.parent for p in DEFAULT_MODEL_ROOT.glob("*/manifest.json")]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p / "manifest.json").stat().st_mtime)


def build_temporary_artifact(root: Path | None = None) -> Path:
    """An artifact from the ImageNet MobileNetV2 plus a seeded random ten-class head (cached)."""
    from mltrain.ml.artifacts import ArtifactError, load_manifest
    from testing.artifacts import build_tiny_artifact

    root = root or out_dir() / "artifacts"
    target = root / TEMP_VERSION
    try:
        load_manifest(target, verify=True)
        return target
    except ArtifactError:
        pass
    if not IMAGENET_WEIGHTS.is_file():
        raise Skipped(
            f"no model artifact: none given, none active, none committed, and "
            f"{IMAGENET_WEIGHTS.resolve()} is absent to build a stand-in"
        )
    note = "benchmark stand-in: ImageNet backbone, random head; predictions are meaningless"
    return build_tiny_artifact(
        target,
        arch="mobilenet_v2",
        input_size=224,
        weights=IMAGENET_WEIGHTS,
        temperature=1.0,
        manifest={"data_fingerprint": "", "created_at": "", "note": note},
        overwrite=True,
    )


def choose_artifact(explicit: str | Path | None = None) -> ArtifactChoice:
    if explicit:
        path = Path(explicit).resolve()
        return ArtifactChoice(path, f"--artifact {path}", _looks_trained(path))
    if os.environ.get("BENCH_SKIP_ACTIVE_LOOKUP") != "1":
        active = _active_model_path()
        if active is not None:
            return ArtifactChoice(
                active, f"active model version ({active})", _looks_trained(active)
            )
    default = _default_model_path()
    if default is not None:
        return ArtifactChoice(
            default, f"committed default model ({default.relative_to(REPO_ROOT)})", True
        )
    path = build_temporary_artifact()
    return ArtifactChoice(
        path,
        "temporary stand-in (ImageNet MobileNetV2 + random 10-class head; no trained model "
        "exists yet, so accuracy figures are meaningless, agreement figures still hold)",
        False,
    )


def _looks_trained(path: Path) -> bool:
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("version") != TEMP_VERSION


# --- the skin10 test images ------------------------------------------------------------------


def test_records(artifact: Path, limit: int | None, seed: int = 42) -> tuple[list, str]:
    """Up to ``limit`` skin10 test images: the artifact's own split, else a seeded grouped one.

    The subset is a seeded random sample (so it keeps the class mix of the test split).
    Returns (records, a sentence saying where the split came from).
    """
    folder = require_skin10()
    from mltrain.ml.data import load_dataset
    from mltrain.ml.split import apply_split

    listing = load_dataset(folder, check=False)
    split, origin = _split_for(artifact, listing, seed)
    records = apply_split(listing, split)["test"]
    total = len(records)
    if limit is not None and total > limit:
        rng = np.random.default_rng(seed)
        chosen = sorted(rng.choice(total, size=limit, replace=False).tolist())
        records = [records[i] for i in chosen]
    return records, f"{len(records)} of {total} test images, {origin}"


def train_records(artifact: Path | None = None, seed: int = 42) -> list:
    """The training part of the same split (for the training-throughput benchmark)."""
    folder = require_skin10()
    from mltrain.ml.data import load_dataset
    from mltrain.ml.split import apply_split

    listing = load_dataset(folder, check=False)
    split, _ = _split_for(artifact, listing, seed)
    return apply_split(listing, split)["train"]


def _split_for(artifact: Path | None, listing, seed: int) -> tuple[dict, str]:
    """The artifact's saved split, else a seeded grouped split (cached: it takes ~20 s)."""
    from mltrain.ml.split import load_split, make_split, save_split

    split_file = artifact / "split.json" if artifact else None
    if split_file is not None and split_file.is_file():
        return load_split(split_file), "the split saved with the artifact"
    origin = f"a seeded grouped split of metadata.csv (StratifiedGroupKFold, seed {seed})"
    cache = out_dir() / f"split-seed{seed}-{listing.fingerprint()[:16]}.json"
    if cache.is_file():
        return load_split(cache), origin
    split = make_split(listing, seed=seed)
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_split(split, cache)
    return split, origin
