"""Whole runs: data -> split -> train -> calibrate -> evaluate -> artifact. No Django here.

``run_training`` is what ``manage.py train_model`` calls; ``evaluate_artifact`` is
``evaluate_model``. Both report through a ``log`` callable.
"""

from __future__ import annotations

import io
import json
import statistics
import tempfile
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
from .architectures import build_model, count_parameters
from .artifacts import ArtifactError, ModelManifest, export_onnx, sha256_file, write_artifact
from .calibration import expected_calibration_error, fit_temperature, reliability_bins, softmax
from .classes import CLASS_KEYS
from .data import DatasetListing, ImageDataset, ImageRecord
from .distill import with_teacher
from .efficientnet_lite import LITE_MEAN, LITE_STD
from .efficientnet_lite import VARIANTS as LITE_VARIANTS
from .engine import TrainConfig, TrainResult, predict_logits, resolve_device, train
from .metrics import evaluate
from .preprocess import HALF_MEAN, HALF_STD, IMAGENET_MEAN, IMAGENET_STD, preprocess
from .report import render_report
from .roots import DataRoot, as_roots, describe, load_roots
from .split import apply_split, load_split, make_split, save_split
from .transforms import EvalTransform, train_transform
from .watermark import training_set

Log = Callable[[str], None]


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


def latency_ms(run_one: Callable[[], object], repeats: int = 50) -> float:
    """Median wall time of ``run_one`` over ``repeats`` calls after two warm-up calls."""
    for _ in range(2):
        run_one()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_one()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def measure_latency(model: nn.Module, input_size: int, threads: int, repeats: int = 50) -> dict:
    import onnxruntime as ort

    model = model.eval().to("cpu").to(memory_format=torch.contiguous_format)
    x = torch.rand(1, 3, input_size, input_size)
    with torch.no_grad():
        torch_ms = latency_ms(lambda: model(x), repeats)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        export_onnx(model, path, input_size)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        arr = x.numpy()
        onnx_ms = latency_ms(lambda: session.run(None, {"image": arr}), repeats)
        onnx_mb = round(path.stat().st_size / 1e6, 2)
    return {
        "torch": torch_ms,
        "onnx": onnx_ms,
        "threads": threads,
        "batch": 1,
        "repeats": repeats,
        "onnx_size_mb": onnx_mb,
    }


def _tags(records: list[ImageRecord]) -> tuple[list[str] | None, list[str] | None]:
    if not any(r.source for r in records):
        return None, None
    return [r.source for r in records], [r.photo_type for r in records]


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


def run_training(
    data: Path | str | Sequence[DataRoot],
    *,
    output_root: Path,
    version: str,
    config: TrainConfig,
    weights: str | Path | None = "none",
    recipe: str = "reference",
    normalisation: str = "auto",
    work_dir: Path | None = None,
    split_file: Path | None = None,
    keep_split_file: Path | None = None,
    resume: bool = False,
    log: Log = print,
    progress: bool = True,
    latency_repeats: int = 50,
    check_images: bool = True,
    model: nn.Module | None = None,
    listing: DatasetListing | None = None,
    trained: dict | None = None,
    teacher_cache: Path | None = None,
) -> RunOutcome:
    """Train one model and write its artifact to ``output_root/version``.

    ``data`` is one data folder or several roots (``roots.data_roots``): their images are merged
    by class and train-only roots never reach validation or test.
    ``work_dir`` holds the checkpoint and the split while training (``--resume`` reads them).
    ``keep_split_file`` names an earlier split whose images keep their parts in the new one
    (``split.make_split``'s ``keep``): train on from a model without its test images leaking.
    ``model`` and ``listing`` may come from the caller, who built them to fail fast before
    recording a run; bad input fails here before the work folder is created.

    With ``config.teacher`` set, the teacher's logits on the training images are read from (or
    computed once into) ``teacher_cache`` (default ``output_root/.teacher-logits``).

    ``trained`` is a trained state (see ``load_trained_state``) from another machine: ``model``
    already holds its weights, training is skipped, and calibration, evaluation and export run
    here on this machine's copy of the data.
    """
    target = Path(output_root) / version
    if target.exists():
        raise ArtifactError(f"{target} already exists; choose another version name.")
    resolve_device(config.device)
    if model is None:
        model = build_model(config.arch, num_classes=len(CLASS_KEYS), weights=weights)
    if listing is None:
        roots = as_roots(data)
        log(f"Reading {describe(roots)} ...")
        listing = load_roots(roots, check=check_images)
    for path, reason in listing.skipped:
        log(f"skipped {path}: {reason}")
    log(
        f"{len(listing.records)} images ({listing.layout}), {len(listing.skipped)} skipped; "
        f"per class {listing.class_counts()}"
    )
    work = Path(work_dir) if work_dir else Path(output_root) / f".work-{version}"
    work.mkdir(parents=True, exist_ok=True)
    split_path = work / "split.json"
    if split_file is not None:
        split = load_split(split_file)
    elif trained is not None and trained.get("split"):
        split = trained["split"]
    elif resume and split_path.exists():
        split = load_split(split_path)
    else:
        keep = load_split(keep_split_file) if keep_split_file is not None else None
        split = make_split(listing, seed=config.seed, keep=keep)
    save_split(split, split_path)
    _log_roots(listing, split, log)
    parts = apply_split(listing, split)
    log("split: " + ", ".join(f"{k} {len(v)}" for k, v in parts.items()))
    if len({r.label for r in parts["train"]}) < 2:
        raise ArtifactError("The training split has fewer than two classes.")

    if trained is None:
        mean, std = normalisation_for(weights, normalisation, config.arch)
        config.mean, config.std = tuple(mean), tuple(std)
    else:
        mean, std = config.mean, config.std  # what the weights were trained with
    eval_tf = EvalTransform(config.input_size, mean, std)
    train_set = training_set(
        parts["train"],
        train_transform(config.augment, config.input_size, mean, std, config.phone_augment),
        neutralise=config.neutralise_watermark,
        log=log,
    )
    val_set = ImageDataset(parts["val"], eval_tf)
    test_set = ImageDataset(parts["test"], eval_tf)
    if config.teacher and trained is None:
        train_set = with_teacher(
            train_set, config.teacher, device=config.device, log=log,
            cache_dir=Path(teacher_cache or Path(output_root) / ".teacher-logits"),
        )  # fmt: skip

    if trained is None:
        result = train(
            model,
            train_set,
            val_set,
            config,
            checkpoint=work / "checkpoint.pt",
            resume=resume,
            log=log,
            progress=progress,
        )
    else:
        model.to(resolve_device(config.device))
        result = TrainResult.from_record(model, trained["training"])
        log(f"Trained elsewhere ({result.precision}); best epoch {result.best_epoch}.")
    log(f"Best epoch {result.best_epoch}; calibrating on validation and evaluating on test ...")
    val_logits = predict_logits(model, val_set, config=config, desc="val" if progress else None)
    test_logits = predict_logits(model, test_set, config=config, desc="test" if progress else None)
    val_labels = np.asarray(val_set.labels)
    test_labels = np.asarray(test_set.labels)
    temperature = fit_temperature(val_logits, val_labels)
    test_raw, test_cal = softmax(test_logits, 1.0), softmax(test_logits, temperature)
    sources, photo_types = _tags(parts["test"])
    test_metrics = evaluate(test_cal, test_labels, sources=sources, photo_types=photo_types)
    val_sources, val_types = _tags(parts["val"])
    val_metrics = evaluate(
        softmax(val_logits, temperature), val_labels, sources=val_sources, photo_types=val_types
    )
    model_cpu = model.eval().to("cpu").to(memory_format=torch.contiguous_format)
    buffer = io.BytesIO()
    torch.save(model_cpu.state_dict(), buffer)
    threads = config.num_threads or torch.get_num_threads()
    latency: dict = {"onnx_size_mb": None}
    if latency_repeats > 0:
        latency = measure_latency(model_cpu, config.input_size, threads, latency_repeats)
    metrics = {
        "test": test_metrics,
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
            "recipe": recipe,
            "config": {**config.to_dict(), "deadline": None},
            **result.record(),
            "torch_threads": torch.get_num_threads(),
        },
    }
    summary = {
        k: test_metrics.get(k)
        for k in (
            "accuracy",
            "balanced_accuracy",
            "macro_f1",
            "top3_accuracy",
            "macro_roc_auc",
            "ece",
        )
    }
    clinical = test_metrics.get("by_photo_type", {}).get("clinical")
    if clinical:
        summary["clinical_accuracy"] = clinical.get("accuracy")
        summary["clinical_balanced_accuracy"] = clinical.get("balanced_accuracy")
        summary["clinical_melanoma_recall"] = test_metrics.get("clinical_melanoma_recall")
    manifest = {
        "version": version,
        "arch": config.arch,
        "class_keys": list(CLASS_KEYS),
        "input_size": config.input_size,
        "mean": list(mean),
        "std": list(std),
        "temperature": round(temperature, 6),
        "data_fingerprint": listing.fingerprint(),
        "metrics": summary,
        "weights": weights_record(weights),
        "recipe": recipe,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "framework": {"torch": torch.__version__},
    }
    bins_before = reliability_bins(test_raw, test_labels)
    bins_after = reliability_bins(test_cal, test_labels)
    pngs = {
        "confusion_matrix.png": plots.confusion_matrix_png(
            test_metrics["confusion_matrix"], CLASS_KEYS
        ),
        "training_curves.png": plots.training_curves_png(result.history),
        "reliability.png": plots.reliability_png(bins_before, bins_after, temperature),
    }
    report = render_report(manifest, metrics)
    parity = _parity_batch(parts["test"] or parts["val"], config.input_size, mean, std)
    saved = write_artifact(
        target,
        manifest=manifest,
        model=model_cpu,
        metrics=metrics,
        report_md=report,
        plots=pngs,
        parity_batch=parity,
        extra_files={"split.json": json.dumps(split, indent=0).encode()},
    )
    log(
        f"Artifact written to {target} (test accuracy {summary['accuracy']}, "
        f"balanced {summary['balanced_accuracy']})."
    )
    return RunOutcome(manifest=saved, metrics=metrics, result=result, listing=listing, split=split)


def _log_roots(listing: DatasetListing, split: dict, log: Log) -> None:
    """Name each root and warn where the data changed since the split was made (images that
    vanished are left out of their part; new ones are in no part)."""
    recorded = {root["name"]: root for root in split.get("roots") or []}
    for info in listing.roots:
        log(f"data root {info.name} ({info.role}): {info.images} images, {info.fingerprint[:12]}")
        saved = recorded.get(info.name)
        if saved and saved.get("fingerprint") != info.fingerprint:
            log(f"warning: {info.name} changed since the split was made ({saved['fingerprint']})")


TRAINED_STATE_FORMAT = "skinsite-trained-state/1"


def weights_record(weights: str | Path | None) -> str | dict[str, str]:
    """What a model started from, for its manifest: a file by its name and sha256 (a path would
    only mean something on the machine that trained it), else "imagenet" or "none"."""
    if weights is None or str(weights) in {"none", "imagenet"}:
        return str(weights or "none")
    path = Path(weights)
    if not path.is_file():
        return path.name
    return {"name": path.name, "sha256": sha256_file(path)}


def load_trained_state(path: Path | str) -> dict:
    """A file written by ``mltrain.ml.sweep`` (``save_state``): best weights, the training config
    and record, and the split it was trained on."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ArtifactError(f"Trained state {path} does not exist.") from exc
    except Exception as exc:
        raise ArtifactError(f"{path} is not a loadable trained state: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != TRAINED_STATE_FORMAT:
        raise ArtifactError(f"{path} is not a trained state ({TRAINED_STATE_FORMAT}).")
    return state


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
    sources, photo_types = _tags(records)
    result = evaluate(
        all_probs, [r.label for r in records], sources=sources, photo_types=photo_types
    )
    result["skipped_images"] = [{"path": p, "reason": r} for p, r in listing.skipped]
    return result
