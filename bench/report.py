"""RESULTS.md, results.json and the tables printed on the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import BenchResult, Table

#: The keys the issue asks for in results.json (null when the benchmark was skipped).
REQUIRED_KEYS = (
    "model_p50_ms_site",
    "model_p50_ms_fastest_same_accuracy",
    "e2e_p50_ms_phone_jpeg",
    "e2e_p95_ms_phone_jpeg",
    "e2e_p50_ms_small_image",
    "e2e_throughput_ratio_2_workers",
    "train_full_over_compute_ratio",
    "lost_or_duplicated_jobs",
    "nonskin_rejected_rate",
    "inscope_pass_rate_clinical",
    "inscope_pass_rate_dermoscopic",
    "gate_added_ms",
    "answered_clinical_accuracy",
    "answered_clinical_coverage",
    "result_seen_p50_ms_small",
)

#: (figure, comparison, target, what it means) for the "targets" table.
TARGETS = (
    ("model_p50_ms_site", "<", 5.0, "site inference path, batch 1, median ms"),
    (
        "model_site_over_fastest_same_accuracy",
        "<=",
        1.2,
        "site / fastest variant that keeps accuracy",
    ),
    ("e2e_p50_ms_phone_jpeg", "<", 100.0, "upload->result, 12 MP phone JPEG, idle worker, ms"),
    ("e2e_p50_ms_small_image", "<", 30.0, "upload->result, small image, idle worker, ms"),
    (
        "e2e_throughput_ratio_2_workers",
        ">=",
        0.70,
        "2-worker e2e throughput / model+decode alone (phone JPEGs)",
    ),
    ("train_full_over_compute_ratio", ">=", 0.90, "training full loop / compute alone"),
    ("lost_or_duplicated_jobs", "==", 0, "diagnoses lost or finished twice"),
    ("nonskin_rejected_rate", ">=", 0.90, "real non-skin photos refused by the gate"),
    ("inscope_pass_rate_clinical", ">=", 0.97, "clinical test photos passed by the gate"),
    ("inscope_pass_rate_dermoscopic", ">=", 0.97, "dermoscopic test photos passed by the gate"),
    ("gate_added_ms", "<=", 3.0, "trust layer's added cost per photo, ms"),
    ("answered_clinical_accuracy", ">=", 0.70, "answered clinical test photos that are right"),
    (
        "result_seen_p50_ms_small",
        "<",
        300.0,
        "upload->result visible in Chromium, small photo, idle worker, ms",
    ),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("|", "\\|")


def markdown_table(table: Table) -> str:
    lines = [f"**{table.title}**", ""]
    lines.append("| " + " | ".join(_cell(c) for c in table.columns) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.rows]
    if table.notes:
        lines.append("")
        lines += [f"- {note}" for note in table.notes]
    return "\n".join(lines)


def text_table(table: Table) -> str:
    """A plain-text table for the terminal."""
    cells = [table.columns] + [[_cell(v) for v in row] for row in table.rows]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(table.columns))]
    lines = [table.title]
    for n, row in enumerate(cells):
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += [f"  {note}" for note in table.notes]
    return "\n".join(lines)


def figures_of(results: list[BenchResult]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for result in results:
        merged.update(result.figures)
    return merged


def target_rows(figures: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for key, op, target, meaning in TARGETS:
        value = figures.get(key)
        if value is None:
            verdict = "not measured"
        else:
            ok = {
                "<": value < target,
                "<=": value <= target,
                ">=": value >= target,
                "==": value == target,
            }[op]
            verdict = "met" if ok else "MISSED"
        rows.append([meaning, key, value, f"{op} {target:g}", verdict])
    return rows


def results_json(env: dict[str, Any], results: list[BenchResult], meta: dict[str, Any]) -> dict:
    figures = figures_of(results)
    data: dict[str, Any] = {"cpu": env["cpu"], "date": meta["date"]}
    data.update({key: figures.get(key) for key in REQUIRED_KEYS})
    data["cores"] = env["cores"]
    data["figures"] = figures
    data["environment"] = env
    data["run"] = meta
    data["benchmarks"] = [r.to_dict() for r in results]
    return data


GAPS_FILE = Path(__file__).resolve().parent / "GAPS.md"


def results_markdown(env: dict[str, Any], results: list[BenchResult], meta: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{meta['command']}` on {meta['date']} in {meta['seconds']:.0f} s. "
        "Do not edit by hand: `make bench` rewrites this file (and `bench/results.json`).",
        "",
        f"- CPU: {env['cpu']}, {env['cores']} usable cores; flags: "
        f"{', '.join(env['cpu_flags']) or 'none of note'}; native bf16: "
        f"{'yes' if env['native_bf16'] else 'no'}",
        f"- Load average at start / end: {env['load_average']} / {meta['load_average_end']} "
        "(other work on the machine skews absolute times; ratios within a table hold better)",
        f"- Python {env['python']} on {env['platform']}",
        f"- Libraries: {versions}",
        f"- Model artifact: {meta['artifact']}",
        "",
        "## Targets",
        "",
        markdown_table(
            Table(
                "Targets of issues 5, 12 and 14 on this machine",
                ["what", "figure", "measured", "target", "verdict"],
                target_rows(figures_of(results)),
            )
        ),
    ]
    for result in results:
        lines += ["", f"## {result.name} ({result.seconds:.0f} s{result.timing_note})", ""]
        for table in result.tables:
            lines += [markdown_table(table), ""]
        if result.notes:
            lines += [f"- {note}" for note in result.notes]
        if result.skipped:
            lines += [f"- skipped: {reason}" for reason in result.skipped]
    if GAPS_FILE.is_file():
        # The causes are profiled by hand; the file says when, so a reader can tell if it aged.
        lines += ["", GAPS_FILE.read_text(encoding="utf-8").strip()]
    return "\n".join(lines).rstrip() + "\n"


def write(out: Path, env: dict[str, Any], results: list[BenchResult], meta: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "RESULTS.md").write_text(results_markdown(env, results, meta), encoding="utf-8")
    (out / "results.json").write_text(
        json.dumps(results_json(env, results, meta), indent=1, default=str) + "\n",
        encoding="utf-8",
    )
