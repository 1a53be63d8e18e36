"""Whole runs: data -> split -> train -> calibrate -> evaluate -> artifact. No Django here.

``run_training`` (train here) and ``package_trained_state`` (weights trained on another machine)
are what ``manage.py train_model`` calls; ``evaluate_artifact`` is ``evaluate_model``. A run goes
through the same steps either way: ``_split_parts`` (the split and its parts), ``build_datasets``,
training or the trained state's record, ``calibrate_and_evaluate`` (the sweep's too), then
``_write_run`` (metrics, manifest and the artifact). Every step reports through ``options.log``.
"""

from __future__ import annotations

import io
import json
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from . import plots
from .architectures import count_parameters
from .artifacts import ArtifactError, ModelManifest, sha256_file, write_artifact
from .calibration import expected_calibration_error, reliability_bins, softmax
from .classes import CLASS_KEYS
from .config import TrainConfig
from .data import DatasetListing, ImageRecord
from .device import resolve_device
from .efficientnet_lite import LITE_MEAN, LITE_STD
from .efficientnet_lite import VARIANTS as LITE_VARIANTS
from .engine import TrainResult, train
from .latency import measure_latency
from .metrics import evaluate
from .preprocess import HALF_MEAN, HALF_STD, IMAGENET_MEAN, IMAGENET_STD, preprocess
from .report import render_report
from .roots import DataRoot, as_roots, load_roots
from .split import apply_split, load_split, make_split, save_split
from .stages import Evaluation, RunDatasets, build_datasets, calibrate_and_evaluate, record_tags

Log = Callable[[str], None]


@dataclass
class RunOptions:
    """Everything about a run beside its ``TrainConfig``: where the artifact goes, what the model
    started from (for the manifest), which split, and how the run reports."""

    output_root: Path
    version: str
    weights: str | Path | None = "none"
    recipe: str = "reference"
    # auto: the mean/std the starting weights were trained with (see ``normalisation_for``).
    normalisation: str = "auto"
    # Reuse this split; else, when keep_split_file names an earlier split, its images keep their
    # parts in the new one (``split.make_split``'s ``keep``): train on from a model without its
    # test images leaking.
    split_file: Path | None = None
    keep_split_file: Path | None = None
    # Holds the checkpoint and the split while training (``resume`` reads them); default
    # ``output_root/.work-<version>``.
    work_dir: Path | None = None
    resume: bool = False
    # The teacher's logits on the training images (``config.teacher``); default
    # ``output_root/.teacher-logits``.
    teacher_cache: Path | None = None
    latency_repeats: int = 50
    progress: bool = True
    log: Log = print

    @property
    def target(self) -> Path:
        return Path(self.output_root) / self.version

    @property
    def work(self) -> Path:
        return (
            Path(self.work_dir)
            if self.work_dir
            else Path(self.output_root) / f".work-{self.version}"
        )


@dataclass
class RunOutcome:
    manifest: ModelManifest
    metrics: dict
    result: TrainResult
    listing: DatasetListing
    split: dict = field(default_factory=dict)


def normalisation_for(
    weights: str | Path | None, choice: str = "auto", arch: str = ""
) -> tuple[tuple, tuple]:
    """``auto``: the mean/std the pretrained weights were trained with (ImageNet's, or 127/128
    for Google's EfficientNet-Lite), else 0.5/0.5."""
    pretrained = weights not in (None, "none")
    if choice == "auto" and pretrained and arch in LITE_VARIANTS:
        return LITE_MEAN, LITE_STD
    if choice == "imagenet" or (choice == "auto" and pretrained):
        return IMAGENET_MEAN, IMAGENET_STD
    if choice in ("half", "auto"):
        return HALF_MEAN, HALF_STD
    raise ValueError(f"Unknown normalisation {choice!r}; use auto, imagenet or half.")


def run_training(
    *, listing: DatasetListing, model: nn.Module, config: TrainConfig, options: RunOptions
) -> RunOutcome:
    """Train ``model`` on ``listing`` here and write its artifact to ``options.target``.

    ``listing`` may hold several roots (``roots.load_roots``): their images are merged by class
    and train-only roots never reach validation or test. The caller builds ``model`` and
    ``listing``, to fail fast before recording a run; bad input fails here before the work
    folder is created."""
    _check_target(options, config)
    split, parts = _split_parts(listing, options, seed=config.seed)
    mean, std = normalisation_for(options.weights, options.normalisation, config.arch)
    config.mean, config.std = tuple(mean), tuple(std)
    teacher_cache = options.teacher_cache or Path(options.output_root) / ".teacher-logits"
    sets = build_datasets(parts, config, teacher_cache=Path(teacher_cache), log=options.log)
    result = train(
        model,
        sets.train,
        sets.val,
        config,
        checkpoint=options.work / "checkpoint.pt",
        resume=options.resume,
        log=options.log,
        progress=options.progress,
    )
    return _write_run(listing, model, config, options, split, parts, sets, result)


def package_trained_state(
    *,
    listing: DatasetListing,
    model: nn.Module,
    config: TrainConfig,
    trained: dict,
    options: RunOptions,
) -> RunOutcome:
    """Package a trained state from another machine (``trained_state.load_trained_state``):
    ``model`` already holds its weights and ``config`` is the one it was trained with; training
    is skipped, and calibration, evaluation and export run here on this machine's copy of the
    data, on the state's own split unless ``options.split_file`` names another."""
    _check_target(options, config)
    split, parts = _split_parts(listing, options, seed=config.seed, saved=trained.get("split"))
    sets = build_datasets(parts, config, teacher_cache=None, log=options.log)
    model.to(resolve_device(config.device))
    result = TrainResult.from_record(model, trained["training"])
    options.log(f"Trained elsewhere ({result.precision}); best epoch {result.best_epoch}.")
    return _write_run(listing, model, config, options, split, parts, sets, result)


def _check_target(options: RunOptions, config: TrainConfig) -> None:
    if options.target.exists():
        raise ArtifactError(f"{options.target} already exists; choose another version name.")
    resolve_device(config.device)


def _split_parts(
    listing: DatasetListing, options: RunOptions, *, seed: int, saved: dict | None = None
) -> tuple[dict, dict[str, list[ImageRecord]]]:
    """The run's split and its parts. The split is, in this order: ``options.split_file``, the
    trained state's ``saved`` split, the work folder's on ``resume``, else a new one (keeping an
    earlier split's parts with ``options.keep_split_file``); it is saved in the work folder."""
    log = options.log
    for path, reason in listing.skipped:
        log(f"skipped {path}: {reason}")
    log(
        f"{len(listing.records)} images ({listing.layout}), {len(listing.skipped)} skipped; "
        f"per class {listing.class_counts()}"
    )
    options.work.mkdir(parents=True, exist_ok=True)
    split_path = options.work / "split.json"
    if options.split_file is not None:
        split = load_split(options.split_file)
    elif saved:
        split = saved
    elif options.resume and split_path.exists():
        split = load_split(split_path)
    else:
        keep = load_split(options.keep_split_file) if options.keep_split_file else None
        split = make_split(listing, seed=seed, keep=keep)
    save_split(split, split_path)
    _log_roots(listing, split, log)
    parts = apply_split(listing, split)
    log("split: " + ", ".join(f"{k} {len(v)}" for k, v in parts.items()))
    if len({r.label for r in parts["train"]}) < 2:
        raise ArtifactError("The training split has fewer than two classes.")
    return split, parts


def _write_run(
    listing: DatasetListing,
    model: nn.Module,
    config: TrainConfig,
    options: RunOptions,
    split: dict,
    parts: dict[str, list[ImageRecord]],
    sets: RunDatasets,
    result: TrainResult,
) -> RunOutcome:
    """Calibrate and evaluate the trained ``model``, then write its artifact."""
    log = options.log
    log(f"Best epoch {result.best_epoch}; calibrating on validation and evaluating on test ...")
    evaluation = calibrate_and_evaluate(model, sets, config, progress=options.progress)
    model_cpu = model.eval().to("cpu").to(memory_format=torch.contiguous_format)
    metrics = _metrics(evaluation, parts, listing, split, model_cpu, config, options, result)
    manifest = _manifest(evaluation, listing, config, options)
    test_raw = softmax(evaluation.test_logits, 1.0)
    bins_before = reliability_bins(test_raw, evaluation.test_labels)
    bins_after = reliability_bins(evaluation.test_probs, evaluation.test_labels)
    pngs = {
        "confusion_matrix.png": plots.confusion_matrix_png(
            evaluation.test_metrics["confusion_matrix"], CLASS_KEYS
        ),
        "training_curves.png": plots.training_curves_png(result.history),
        "reliability.png": plots.reliability_png(bins_before, bins_after, evaluation.temperature),
    }
    parity = _parity_batch(
        parts["test"] or parts["val"], config.input_size, config.mean, config.std
    )
    saved = write_artifact(
        options.target,
        manifest=manifest,
        model=model_cpu,
        metrics=metrics,
        report_md=render_report(manifest, metrics),
        plots=pngs,
        parity_batch=parity,
        extra_files={"split.json": json.dumps(split, indent=0).encode()},
    )
    summary = manifest["metrics"]
    log(
        f"Artifact written to {options.target} (test accuracy {summary['accuracy']}, "
        f"balanced {summary['balanced_accuracy']})."
    )
    return RunOutcome(manifest=saved, metrics=metrics, result=result, listing=listing, split=split)


def _metrics(
    evaluation: Evaluation,
    parts: dict[str, list[ImageRecord]],
    listing: DatasetListing,
    split: dict,
    model_cpu: nn.Module,
    config: TrainConfig,
    options: RunOptions,
    result: TrainResult,
) -> dict:
    """``metrics.json``: test and validation figures, calibration, the split, size, latency and
    how the model was trained."""
    temperature = evaluation.temperature
    val_logits, val_labels = evaluation.val_logits, evaluation.val_labels
    test_labels = evaluation.test_labels
    test_raw, test_cal = softmax(evaluation.test_logits, 1.0), evaluation.test_probs
    val_sources, val_types = record_tags(parts["val"])
    val_metrics = evaluate(
        softmax(val_logits, temperature), val_labels, sources=val_sources, photo_types=val_types
    )
    buffer = io.BytesIO()
    torch.save(model_cpu.state_dict(), buffer)
    threads = config.num_threads or torch.get_num_threads()
    latency: dict = {"onnx_size_mb": None}
    if options.latency_repeats > 0:
        latency = measure_latency(model_cpu, config.input_size, threads, options.latency_repeats)
    return {
        "test": evaluation.test_metrics,
        "val": val_metrics,
        "calibration": {
            "temperature": round(temperature, 4),
            "test_ece_before": round(expected_calibration_error(test_raw, test_labels), 4),
            "test_ece_after": round(expected_calibration_error(test_cal, test_labels), 4),
            "val_ece_before": round(expected_calibration_error(softmax(val_logits), val_labels), 4),
            "val_ece_after": round(
                expected_calibration_error(softmax(val_logits, temperature), val_labels), 4
            ),
        },
        "split": {
            "method": split.get("method"),
            "seed": split.get("seed"),
            **{k: len(v) for k, v in parts.items()},
            "roots": [info.to_dict() for info in listing.roots],
        },
        "skipped_images": [{"path": p, "reason": r} for p, r in listing.skipped],
        "parameters": count_parameters(model_cpu),
        "model_size_mb": round(len(buffer.getvalue()) / 1e6, 2),
        "onnx_size_mb": latency.pop("onnx_size_mb"),
        "latency_ms": latency,
        "training": {
            "recipe": options.recipe,
            "config": {**config.to_dict(), "deadline": None},
            **result.record(),
            "torch_threads": torch.get_num_threads(),
        },
    }


# The test figures a manifest carries (all of them are in metrics.json).
SUMMARY_KEYS = (
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "top3_accuracy",
    "macro_roc_auc",
    "ece",
)


def _manifest(
    evaluation: Evaluation, listing: DatasetListing, config: TrainConfig, options: RunOptions
) -> dict:
    """``manifest.json``: what the model is and expects, and its headline test figures."""
    test_metrics = evaluation.test_metrics
    summary = {k: test_metrics.get(k) for k in SUMMARY_KEYS}
    clinical = test_metrics.get("by_photo_type", {}).get("clinical")
    if clinical:
        summary["clinical_accuracy"] = clinical.get("accuracy")
        summary["clinical_balanced_accuracy"] = clinical.get("balanced_accuracy")
        summary["clinical_melanoma_recall"] = test_metrics.get("clinical_melanoma_recall")
    return {
        "version": options.version,
        "arch": config.arch,
        "class_keys": list(CLASS_KEYS),
        "input_size": config.input_size,
        "mean": list(config.mean),
        "std": list(config.std),
        "temperature": round(evaluation.temperature, 6),
        "data_fingerprint": listing.fingerprint(),
        "metrics": summary,
        "weights": weights_record(options.weights),
        "recipe": options.recipe,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "framework": {"torch": torch.__version__},
    }


def _parity_batch(
    records: list[ImageRecord], input_size: int, mean, std, n: int = 16
) -> np.ndarray:
    # Spread over the classes so the check covers varied outputs.
    chosen = sorted(records, key=lambda r: (zlib.crc32(r.group_id.encode()) % 997, r.label))[:n]
    arrays = []
    for r in chosen:
        with Image.open(r.path) as image:
            arrays.append(preprocess(image, input_size=input_size, mean=mean, std=std))
    return np.stack(arrays)


def _log_roots(listing: DatasetListing, split: dict, log: Log) -> None:
    """Name each root and warn where the data changed since the split was made (images that
    vanished are left out of their part; new ones are in no part)."""
    recorded = {root["name"]: root for root in split.get("roots") or []}
    for info in listing.roots:
        log(f"data root {info.name} ({info.role}): {info.images} images, {info.fingerprint[:12]}")
        saved = recorded.get(info.name)
        if saved and saved.get("fingerprint") != info.fingerprint:
            log(f"warning: {info.name} changed since the split was made ({saved['fingerprint']})")


def weights_record(weights: str | Path | None) -> str | dict[str, str]:
    """What a model started from, for its manifest: a file by its name and sha256 (a path would
    only mean something on the machine that trained it), else "imagenet" or "none"."""
    if weights is None or str(weights) in {"none", "imagenet"}:
        return str(weights or "none")
    path = Path(weights)
    if not path.is_file():
        return path.name
    return {"name": path.name, "sha256": sha256_file(path)}


def evaluate_artifact(
    artifact_dir: Path | str,
    data: Path | str | Sequence[DataRoot],
    *,
    part: str = "test",
    split_file: Path | None = None,
    backend: str = "onnx",
    batch_size: int = 32,
    num_threads: int | None = None,
    log: Log = print,
) -> dict:
    """Evaluate a saved artifact on ``part`` of its own saved split (or ``split_file``); with no
    split available, on all images of ``data``. ``num_threads`` as in ``load_predictor``."""
    from .predictors import load_predictor

    predictor = load_predictor(artifact_dir, backend=backend, num_threads=num_threads)
    manifest = predictor.manifest
    listing = load_roots(as_roots(data))
    split_path = split_file or manifest.file("split.json")
    if Path(split_path).is_file():
        records = apply_split(listing, load_split(Path(split_path)))[part]
    else:
        log("No split saved with the artifact: evaluating on every image.")
        records = listing.records
    probs = []
    for start in range(0, len(records), batch_size):
        batch = []
        for r in records[start : start + batch_size]:
            with Image.open(r.path) as image:
                batch.append(
                    preprocess(
                        image, input_size=manifest.input_size, mean=manifest.mean, std=manifest.std
                    )
                )
        probs.append(predictor.predict_proba(np.stack(batch)))
    all_probs = np.concatenate(probs) if probs else np.zeros((0, len(CLASS_KEYS)), dtype=np.float32)
    sources, photo_types = record_tags(records)
    result = evaluate(
        all_probs, [r.label for r in records], sources=sources, photo_types=photo_types
    )
    result["skipped_images"] = [{"path": p, "reason": r} for p, r in listing.skipped]
    return result
