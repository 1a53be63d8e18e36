"""Several training runs on one saved split, each under a wall-clock budget, and one table.

Pure PyTorch, no Django, so it runs on a GPU machine that has only this package, the data and a
split file: ``python -m mltrain.ml.sweep --data DIR [--data DIR2] [--train-only DIR3] --split
split.json --plan plan.json --out DIR`` (``--new-split`` makes the split, seed 42, and saves it
there first).
The plan is a JSON list of runs::

    [{"name": "mnv2-improved", "arch": "mobilenet_v2", "recipe": "improved",
      "weights": "weights/mobilenet_v2_imagenet.pth", "budget_s": 180, "save_state": true,
      "overrides": {"input_size": 224, "freeze_stem": 0}}]

For each run it trains with early stopping on validation balanced accuracy, fits the temperature
on validation, evaluates the test part (overall, clinical photographs, clinical melanoma recall)
and rewrites ``sweep.json`` and ``sweep.md`` so a run cut short still leaves every finished row.
``save_state`` writes ``<name>.pt``: the best weights and the training record, which
``manage.py train_model --trained-state`` turns into an artifact on the original images, or which
another run's ``"overrides": {"teacher": "<out>/<name>.pt"}`` distils from (the teacher's logits
are cached in ``<out>/.teacher-logits``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

import torch

from .architectures import build_model
from .calibration import expected_calibration_error
from .config import recipe_config
from .data import DataError
from .engine import train
from .pipeline import normalisation_for
from .roots import data_roots, load_roots
from .split import apply_split, load_split, make_split, save_split
from .stages import build_datasets, calibrate_and_evaluate
from .trained_state import save_trained_state

TABLE_COLUMNS = (
    "name",
    "arch",
    "weights",
    "input_size",
    "epochs",
    "best_epoch",
    "seconds",
    "train_images_per_second",
    "val_balanced_accuracy",
    "test_accuracy",
    "test_balanced_accuracy",
    "clinical_balanced_accuracy",
    "clinical_melanoma_recall",
    "test_ece",
    "error",
)


def weights_label(weights: str | None) -> str:
    """What a run started from, for the table: a weights file by its name (ImageNet weights and
    a model of ours alike are files), torchvision's ImageNet weights, or nothing."""
    if weights is None or weights == "none":
        return "scratch"
    if weights == "imagenet":
        return "ImageNet (torchvision)"
    return Path(weights).name


def run_one(
    entry: dict, split: dict, parts: dict, *, device: str, workers: int, out: Path, log
) -> dict:
    weights = entry.get("weights", "none")
    config = recipe_config(
        entry.get("recipe", "reference"),
        arch=entry["arch"],
        device=device,
        num_workers=workers,
        **entry.get("overrides", {}),
    )
    config.mean, config.std = normalisation_for(
        weights, entry.get("normalisation", "auto"), config.arch
    )
    config.deadline = time.time() + float(entry["budget_s"])
    model = build_model(config.arch, weights=weights)
    sets = build_datasets(parts, config, teacher_cache=out / ".teacher-logits", log=log)
    result = train(model, sets.train, sets.val, config, log=log, progress=False)
    evaluation = calibrate_and_evaluate(model, sets, config)
    metrics, probs = evaluation.test_metrics, evaluation.test_probs
    temperature, test_labels = evaluation.temperature, evaluation.test_labels
    clinical = metrics.get("by_photo_type", {}).get("clinical", {})
    best = next((h for h in result.history if h["epoch"] == result.best_epoch), {})
    row = {
        "name": entry["name"],
        "arch": config.arch,
        "weights": weights_label(weights),
        "input_size": config.input_size,
        "epochs": len(result.history),
        "best_epoch": result.best_epoch,
        "seconds": round(result.seconds, 1),
        "train_images_per_second": round(result.images_per_second, 1),
        "val_balanced_accuracy": best.get("val_balanced_accuracy"),
        "test_accuracy": metrics["accuracy"],
        "test_balanced_accuracy": metrics["balanced_accuracy"],
        "clinical_balanced_accuracy": clinical.get("balanced_accuracy"),
        "clinical_melanoma_recall": metrics.get("clinical_melanoma_recall"),
        "test_ece": round(expected_calibration_error(probs, test_labels), 4),
        "temperature": round(temperature, 4),
        "overrides": entry.get("overrides", {}),
        "recipe": entry.get("recipe", "reference"),
        "history": result.history,
        "per_class_recall": {k: v["recall"] for k, v in metrics["per_class"].items()},
        "clinical_per_class_recall": {
            k: v["recall"] for k, v in clinical.get("per_class", {}).items()
        },
    }
    if entry.get("save_state"):
        save_trained_state(out / f"{entry['name']}.pt", model, config, result, entry, split)
    return row


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def table_markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in TABLE_COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


# Seconds kept after each run's training for the validation and test passes and saving.
EVALUATION_RESERVE_S = 20.0


def run_sweep(
    split: dict,
    parts: dict,
    plan: list[dict],
    out: Path,
    *,
    device: str,
    workers: int,
    total_s: float | None = None,
) -> list[dict]:
    """Run ``plan`` in order. With ``total_s``, budgets shrink (and runs are skipped) so the
    whole sweep ends within that many seconds."""
    stop_at = time.time() + total_s if total_s else None
    out.mkdir(parents=True, exist_ok=True)
    log_file = (out / "sweep.log").open("a", encoding="utf-8")

    def log(line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        sys.stdout.write(stamped + "\n")
        sys.stdout.flush()
        log_file.write(stamped + "\n")
        log_file.flush()

    log("split: " + ", ".join(f"{k} {len(v)}" for k, v in parts.items()))
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
        log(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    rows: list[dict] = []
    for index, entry in enumerate(plan):
        if stop_at is not None:
            left = stop_at - time.time() - EVALUATION_RESERVE_S
            if left < EVALUATION_RESERVE_S:
                log(f"== {entry['name']}: skipped, {left:.0f} s left ==")
                rows.append({"name": entry["name"], "arch": entry["arch"], "error": "no time left"})
                _write_rows(out, rows)
                continue
            entry = {**entry, "budget_s": min(float(entry["budget_s"]), left)}
        log(f"== {entry['name']} ({entry['arch']}, budget {entry['budget_s']:.0f} s) ==")
        started = time.monotonic()
        try:
            row = run_one(entry, split, parts, device=device, workers=workers, out=out, log=log)
        except Exception as exc:  # one failed run must not lose the others' rows
            log(traceback.format_exc())
            if index == 0:
                raise  # the first run failing means the set-up is broken: stop early
            row = {"name": entry["name"], "arch": entry["arch"], "error": repr(exc)[:300]}
        row["wall_seconds"] = round(time.monotonic() - started, 1)
        rows.append(row)
        log(
            f"{row['name']}: test acc {row.get('test_accuracy')}, balanced "
            f"{row.get('test_balanced_accuracy')}, clinical balanced "
            f"{row.get('clinical_balanced_accuracy')}, clinical melanoma recall "
            f"{row.get('clinical_melanoma_recall')} ({row['wall_seconds']} s)"
        )
        _write_rows(out, rows)
    return rows


def _write_rows(out: Path, rows: list[dict]) -> None:
    (out / "sweep.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    (out / "sweep.md").write_text(table_markdown(rows), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", required=True, type=Path, action="append", help="a data root (repeatable)"
    )
    parser.add_argument(
        "--train-only", type=Path, action="append", default=[],
        help="a data root whose images only train, never validate or test (repeatable)",
    )  # fmt: skip
    parser.add_argument("--split", required=True, type=Path)
    parser.add_argument(
        "--new-split", action="store_true", help="make the split and write it to --split"
    )
    parser.add_argument("--plan", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, default=max(0, (os.cpu_count() or 1) - 1))
    parser.add_argument("--only", nargs="*", help="names of the plan's runs to do")
    parser.add_argument("--total-seconds", type=float, help="end the whole sweep within this")
    args = parser.parse_args(argv)
    # Small or skewed parts leave some classes unpredicted; scikit-learn warns on every metric.
    warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
    try:
        plan = json.loads(args.plan.read_text(encoding="utf-8"))
        if not isinstance(plan, list) or not all(
            isinstance(e, dict) and {"name", "arch", "budget_s"} <= e.keys() for e in plan
        ):
            raise ValueError("the plan must be a JSON list of runs with name, arch and budget_s")
        # What the data and split would fail on, before any training starts.
        listing = load_roots(data_roots(args.data, args.train_only), check=False)
        if args.new_split:
            if args.split.exists():
                raise ValueError(f"{args.split} exists; --new-split will not overwrite it")
            split = make_split(listing)
            save_split(split, args.split)
        else:
            split = load_split(args.split)
        parts = apply_split(listing, split)
    except (OSError, ValueError, DataError) as exc:
        parser.error(str(exc))  # one line and exit status 2, no traceback
    if args.only:
        plan = [e for e in plan if e["name"] in args.only]
    run_sweep(
        split,
        parts,
        plan,
        args.out,
        device=args.device,
        workers=args.workers,
        total_s=args.total_seconds,
    )


if __name__ == "__main__":
    main()
