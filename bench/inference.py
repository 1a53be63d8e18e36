"""Model inference: every way of running the site's MobileNetV2 on this CPU, side by side.

Variants (same thread count, same real input images, alternated in one process):

* PyTorch eager fp32, channels-last, TorchScript (traced + frozen, and with
  ``optimize_for_inference``), bf16 autocast (only on CPUs with native bf16);
* ``torch.compile`` (inductor) in a child process, because compiling takes minutes on two cores
  and cannot be interrupted in-process; it is alternated there with eager, and its row says so;
* ONNX Runtime fp32 through ``mltrain.ml.predictors.load_predictor``: the site's path;
* ONNX Runtime int8: static QDQ quantisation calibrated on real skin10 training images, and
  dynamic quantisation, both run through the site's own predictor class.

Each variant also scores the skin10 test subset: top-1 agreement with PyTorch eager fp32 and
accuracy. "Keeps accuracy" means agreement >= 99% and accuracy within 0.5 points of fp32.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.artifact import ArtifactChoice, test_records, train_records
from bench.common import (
    REPO_ROOT,
    BenchResult,
    Table,
    alternate,
    rnd,
    summarise,
)
from bench.variants import REFERENCE, SITE, Variant, onnx_variants, torch_variants

AGREEMENT_MIN = 0.99
ACCURACY_TOLERANCE = 0.005  # 0.5 points


@dataclass(frozen=True)
class InferenceConfig:
    threads: int = 2
    rounds_b1: int = 40
    block_b1: int = 5
    rounds_b32: int = 6
    eval_images: int | None = 500
    calibration_images: int = 200
    compile: bool = True
    compile_timeout_s: int = 180


QUICK = InferenceConfig(
    rounds_b1=2, block_b1=1, rounds_b32=1, eval_images=8, calibration_images=4, compile=False
)


def load_images(records: list, manifest: Any) -> np.ndarray:
    """The site's preprocessing of each record, stacked."""
    from PIL import Image

    from mltrain.ml.preprocess import preprocess

    arrays = []
    for record in records:
        with Image.open(record.path) as image:
            arrays.append(
                preprocess(
                    image, input_size=manifest.input_size, mean=manifest.mean, std=manifest.std
                )
            )
    return np.stack(arrays)


def compile_probe(
    choice: ArtifactChoice, images: np.ndarray, threads: int, timeout_s: int, workdir: Path
) -> dict[str, Any]:
    """Run ``bench.compile_probe`` in a child process; its JSON, or ``{"skipped": reason}``."""
    inputs = workdir / "compile-inputs.npy"
    np.save(inputs, images)
    output = workdir / "compile-result.json"
    command = [
        sys.executable,
        "-m",
        "bench.compile_probe",
        "--artifact",
        str(choice.path),
        "--inputs",
        str(inputs),
        "--threads",
        str(threads),
        "--output",
        str(output),
    ]
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"torch.compile did not compile and run within {timeout_s} s here"}
    if done.returncode != 0 or not output.is_file():
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])[:300]
        return {"skipped": f"torch.compile failed here: {tail}"}
    return json.loads(output.read_text(encoding="utf-8"))


def score(variants: list[Variant], images: np.ndarray, labels: np.ndarray) -> dict[str, dict]:
    """Top-1 of every variant on the test images; agreement is against the reference."""
    tops: dict[str, np.ndarray] = {}
    for variant in variants:
        out = [variant.run(images[i : i + 32]) for i in range(0, len(images), 32)]
        tops[variant.name] = np.concatenate(out).argmax(axis=1)
    reference = tops[REFERENCE]
    return {
        name: {
            "agreement": float((top == reference).mean()),
            "accuracy": float((top == labels).mean()),
        }
        for name, top in tops.items()
    }


def run(choice: ArtifactChoice, config: InferenceConfig = InferenceConfig()) -> BenchResult:
    import torch

    from mltrain.ml.artifacts import load_manifest

    result = BenchResult("inference")
    manifest = load_manifest(choice.path)
    torch.set_num_threads(config.threads)
    with contextlib.suppress(RuntimeError):  # it can be set once per process
        torch.set_num_interop_threads(1)

    records, origin = test_records(choice.path, config.eval_images)
    images = load_images(records, manifest)
    labels = np.asarray([r.label for r in records])
    batch1 = np.ascontiguousarray(images[:1])
    batch32 = np.ascontiguousarray(np.resize(images, (32, *images.shape[1:])))
    calib_records = train_records(choice.path)
    rng = np.random.default_rng(1)
    picked = rng.choice(len(calib_records), size=config.calibration_images, replace=False)
    calibration = load_images([calib_records[i] for i in sorted(picked)], manifest)

    with tempfile.TemporaryDirectory(prefix="bench-infer-") as tmp:
        workdir = Path(tmp)
        variants, skipped = torch_variants(manifest, images)
        onnx, notes = onnx_variants(choice, manifest, calibration, config.threads, workdir)
        variants += onnx
        result.skipped += skipped
        result.notes += notes

        accuracy = score(variants, images, labels)
        timings = {
            1: alternate(
                {v.name: (lambda v=v: v.run(batch1)) for v in variants},
                rounds=config.rounds_b1,
                block=config.block_b1,
            ),
            32: alternate(
                {v.name: (lambda v=v: v.run(batch32)) for v in variants},
                rounds=config.rounds_b32,
                block=1,
                warmup=1,
            ),
        }
        compiled: dict[str, Any] = {"skipped": "torch.compile: skipped in --quick"}
        if config.compile:
            compiled = compile_probe(
                choice, images[:32], config.threads, config.compile_timeout_s, workdir
            )

    stats = {b: {n: summarise(t) for n, t in per.items()} for b, per in timings.items()}
    site_b1 = stats[1][SITE]["p50"]
    keeps = {
        n: a["agreement"] >= AGREEMENT_MIN
        and abs(a["accuracy"] - accuracy[REFERENCE]["accuracy"]) <= ACCURACY_TOLERANCE
        for n, a in accuracy.items()
    }
    fastest = min((n for n in stats[1] if keeps[n]), key=lambda n: stats[1][n]["p50"])
    fastest_any = min(stats[1], key=lambda n: stats[1][n]["p50"])

    table = Table(
        f"Model inference, {manifest.arch} {manifest.input_size} px, {config.threads} threads "
        f"(ms per call; batch 32 also as images/s)",
        [
            "variant",
            "b1 p50",
            "b1 p95",
            "b1 vs site",
            "b32 p50",
            "b32 p95",
            "b32 img/s",
            "top-1 agreement",
            "accuracy",
            "keeps accuracy",
            "build s",
        ],
    )
    for v in variants:
        s1, s32, acc = stats[1][v.name], stats[32][v.name], accuracy[v.name]
        table.rows.append(
            [
                v.name + (" *" if v.name == SITE else ""),
                rnd(s1["p50"]),
                rnd(s1["p95"]),
                rnd(s1["p50"] / site_b1),
                rnd(s32["p50"], 1),
                rnd(s32["p95"], 1),
                rnd(32000 / s32["p50"], 1),
                f"{acc['agreement']:.2%}",
                f"{acc['accuracy']:.2%}",
                "yes" if keeps[v.name] else "no",
                rnd(v.build_s, 1),
            ]
        )
    if "skipped" in compiled:
        result.skipped.append(compiled["skipped"])
    else:
        eager_there = compiled["eager_b1_p50"]
        table.rows.append(
            [
                "torch.compile (inductor) †",
                rnd(compiled["compiled_b1_p50"]),
                rnd(compiled["compiled_b1_p95"]),
                rnd(compiled["compiled_b1_p50"] / site_b1),
                rnd(compiled["compiled_b32_p50"], 1),
                rnd(compiled["compiled_b32_p95"], 1),
                rnd(32000 / compiled["compiled_b32_p50"], 1),
                f"{compiled['agreement']:.2%}",
                "-",
                "n/a",
                rnd(compiled["compile_s"], 1),
            ]
        )
        table.notes.append(
            f"† measured in a child process alternating with eager (eager there: b1 "
            f"{eager_there:.2f} ms, b32 {compiled['eager_b32_p50']:.1f} ms); agreement on "
            f"{compiled['images']} test images; build s = compile time of both batch sizes."
        )
    table.notes += [
        "* the site's path (INFERENCE_BACKEND=onnx): OnnxPredictor from load_predictor, "
        "softmax included.",
        f"Accuracy on {origin}; agreement = top-1 equal to PyTorch eager fp32.",
        f"Rounds: batch 1 {config.rounds_b1} x {config.block_b1} calls, batch 32 "
        f"{config.rounds_b32} calls, variants interleaved after warm-up.",
    ]
    if not choice.trained:
        table.notes.append(
            "The artifact is the random-head stand-in: accuracy is chance level and its "
            "near-tied logits make int8 agreement a pessimistic figure."
        )
    result.tables.append(table)
    result.figures.update(
        {
            "model_p50_ms_site": rnd(site_b1, 3),
            "model_p95_ms_site": rnd(stats[1][SITE]["p95"], 3),
            "model_b32_images_per_s_site": rnd(32000 / stats[32][SITE]["p50"], 1),
            "model_p50_ms_fastest_same_accuracy": rnd(stats[1][fastest]["p50"], 3),
            "model_fastest_same_accuracy_variant": fastest,
            "model_site_over_fastest_same_accuracy": rnd(site_b1 / stats[1][fastest]["p50"], 3),
            "model_fastest_any_variant": fastest_any,
            "model_p50_ms_fastest_any": rnd(stats[1][fastest_any]["p50"], 3),
            "model_p50_ms_torch_eager": rnd(stats[1][REFERENCE]["p50"], 3),
            "model_accuracy_fp32": rnd(accuracy[REFERENCE]["accuracy"], 4),
            "model_eval_images": len(images),
        }
    )
    result.notes.append(
        f"The site serves {SITE}: batch 1 median {site_b1:.2f} ms (target < 5 ms); fastest "
        f"variant that keeps accuracy: {fastest} ({stats[1][fastest]['p50']:.2f} ms), ratio "
        f"site/fastest {site_b1 / stats[1][fastest]['p50']:.2f} (target <= 1.2). Fastest of "
        f"all in this process: {fastest_any} ({stats[1][fastest_any]['p50']:.2f} ms, site/"
        f"fastest {site_b1 / stats[1][fastest_any]['p50']:.2f}). The site runs with "
        "INFERENCE_THREADS=0, i.e. ONNX Runtime's default of one thread per physical core; "
        f"here every variant gets {config.threads}."
    )
    return result
