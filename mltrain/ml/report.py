"""The readable ``report.md`` of a run and the comparison table of ``train_all``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence


def _f(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


SUMMARY_KEYS = (
    "count",
    "accuracy",
    "balanced_accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "weighted_precision",
    "weighted_recall",
    "weighted_f1",
    "top3_accuracy",
    "macro_roc_auc",
    "ece",
)


def summary_table(groups: dict[str, dict]) -> str:
    names = list(groups)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [
        f"| {key} | " + " | ".join(_f(groups[n].get(key)) for n in names) + " |"
        for key in SUMMARY_KEYS
    ]
    return "\n".join(lines)


def per_class_table(per_class: dict[str, dict]) -> str:
    lines = ["| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    lines += [
        f"| {key} | {_f(row['precision'])} | {_f(row['recall'])} | {_f(row['f1'])} "
        f"| {row['support']} |"
        for key, row in per_class.items()
    ]
    return "\n".join(lines)


def confusion_table(matrix: Sequence[Sequence[int]], class_keys: Sequence[str]) -> str:
    """Columns are class indices (the rows name them), so long keys do not collide."""
    lines = [
        "| true \\ predicted | " + " | ".join(str(i) for i in range(len(class_keys))) + " |",
        "|---|" + "---:|" * len(class_keys),
    ]
    lines += [
        f"| {i} {key} | " + " | ".join(str(v) for v in row) + " |"
        for i, (key, row) in enumerate(zip(class_keys, matrix, strict=True))
    ]
    return "\n".join(lines)


def render_report(manifest: dict, metrics: dict) -> str:
    test = metrics["test"]
    groups = {"all": test}
    for name, values in test.get("by_photo_type", {}).items():
        groups[f"photo: {name}"] = values
    for name, values in test.get("by_source", {}).items():
        groups[f"source: {name}"] = values
    training = metrics.get("training", {})
    calibration = metrics.get("calibration", {})
    split = metrics.get("split", {})
    latency = metrics.get("latency_ms", {})
    lines = [
        f"# Model {manifest['version']} ({manifest['arch']})",
        "",
        f"Created {manifest.get('created_at', '')}. Input {manifest['input_size']} px (whole image "
        f"squashed, bilinear), mean {manifest['mean']}, std {manifest['std']}, temperature "
        f"{manifest['temperature']:.3f}. Initial weights: {manifest.get('weights', 'n/a')}.",
        "",
        "## Data and split",
        "",
        f"Data fingerprint `{manifest.get('data_fingerprint', '')}`; split "
        f"{split.get('method', '')} (seed {split.get('seed')}): train {split.get('train')}, "
        f"val {split.get('val')}, test {split.get('test')} images. Skipped unreadable images: "
        f"{len(metrics.get('skipped_images', []))}.",
        "",
        "## Test metrics",
        "",
        summary_table(groups),
        "",
        f"Clinical-photo melanoma recall: {_f(test.get('clinical_melanoma_recall'))}; "
        f"clinical-photo BCC recall: {_f(test.get('clinical_basal_cell_carcinoma_recall'))}.",
        "",
        "### Per class (test)",
        "",
        per_class_table(test["per_class"]),
        "",
        "### Confusion matrix (test; rows = true class)",
        "",
        confusion_table(test["confusion_matrix"], manifest["class_keys"]),
        "",
        "## Calibration",
        "",
        f"Temperature {_f(calibration.get('temperature'))} fitted on the validation split. "
        f"ECE on test: {_f(calibration.get('test_ece_before'))} before, "
        f"{_f(calibration.get('test_ece_after'))} after; on validation: "
        f"{_f(calibration.get('val_ece_before'))} before, "
        f"{_f(calibration.get('val_ece_after'))} after.",
        "",
        "## Model",
        "",
        f"Parameters {metrics.get('parameters')}, state dict "
        f"{_f(metrics.get('model_size_mb'))} MB, ONNX {_f(metrics.get('onnx_size_mb'))} MB. "
        f"CPU latency per image (batch 1, median of {latency.get('repeats')}): PyTorch "
        f"{_f(latency.get('torch'))} ms, ONNX Runtime {_f(latency.get('onnx'))} ms "
        f"({latency.get('threads')} thread(s)).",
        "",
        "## Training",
        "",
        f"Recipe `{training.get('recipe')}`; precision {training.get('precision')}; best epoch "
        f"{training.get('best_epoch')} of {len(training.get('history', []))}; "
        f"{_f(training.get('seconds'))} s, {_f(training.get('images_per_second'))} train images/s.",
        "",
        "| epoch | train loss | val acc | val balanced acc | img/s | seconds |",
        "|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {h['epoch']} | {h['train_loss']:.4f} | {h['val_accuracy']:.4f} | "
            f"{h['val_balanced_accuracy']:.4f} | {h['train_images_per_second']} | {h['seconds']} |"
            for h in training.get("history", [])
        ],
        "",
        "Configuration: `" + str(training.get("config", {})) + "`",
        "",
        "Plots: `plots/confusion_matrix.png`, `plots/training_curves.png`, "
        "`plots/reliability.png`.",
        "",
    ]
    return "\n".join(lines)


COMPARISON_COLUMNS = (
    "arch",
    "weights",
    "epochs",
    "input_size",
    "accuracy",
    "balanced_accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "top3_accuracy",
    "clinical_balanced_accuracy",
    "parameters",
    "model_size_mb",
    "latency_ms",
    "train_seconds",
    "note",
)


def comparison_markdown(rows: Sequence[dict], protocol: str) -> str:
    lines = [
        "# Architecture comparison (test split)",
        "",
        protocol,
        "",
        "| " + " | ".join(COMPARISON_COLUMNS) + " |",
        "|" + "---|" * len(COMPARISON_COLUMNS),
    ]
    lines += ["| " + " | ".join(_f(r.get(c)) for c in COMPARISON_COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def comparison_csv(rows: Sequence[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COMPARISON_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
