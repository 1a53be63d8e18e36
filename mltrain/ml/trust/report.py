"""The trust bundle's figures as Markdown tables (``fit_trust``, ``evaluate_model``, the model
card and the admin read the same text)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"


def summary_table(figures: Mapping[str, Any]) -> str:
    """Per photo type: gate pass rate, accuracy, ECE, abstention threshold, answered share and
    accuracy of the answers."""
    lines = [
        "| photos | count | pass the gate | accuracy | ECE (per-type temperature) "
        "| can't-tell below | answered | answers right |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in (figures.get("by_photo_type") or {}).items():
        lines.append(
            f"| {kind} | {row['count']} | {_pct(row['gate_pass_rate'])} | {_pct(row['accuracy'])} "
            f"| {row['ece']:.3f} | {row['abstain_threshold']:.2f} "
            f"| {_pct(row['answered_coverage'])} | {_pct(row['answered_accuracy'])} |"
        )
    head = figures.get("type_head_accuracy")
    lines.append("")
    lines.append(
        f"All {figures.get('count', 0)} photos: {_pct(figures.get('gate_pass_rate'))} pass the "
        f"gate; the photo-type head is right on {_pct(head)}."
    )
    return "\n".join(lines)


def risk_coverage_table(figures: Mapping[str, Any], every: int = 2) -> str:
    """Accuracy of the answers given against the share of (in-scope) photos answered."""
    kinds = list((figures.get("by_photo_type") or {}).items())
    if not kinds:
        return ""
    header = "| top-1 at least | " + " | ".join(f"{k}: answered / right" for k, _ in kinds) + " |"
    lines = [header, "|---|" + "---|" * len(kinds)]
    steps = kinds[0][1]["risk_coverage"]
    for index in range(0, len(steps), every):
        cells = []
        for _, row in kinds:
            point = row["risk_coverage"][index]
            cells.append(f"{_pct(point['coverage'])} / {_pct(point['accuracy'])}")
        lines.append(f"| {steps[index]['threshold']:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
