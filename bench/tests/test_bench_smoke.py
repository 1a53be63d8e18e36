"""Smoke runs of every benchmark with tiny N, so the scripts cannot rot.

They check that each benchmark runs end to end and hands back tables and figures of the right
shape; they never judge a speed. They run on a small synthetic image set laid out like skin10
and a tiny model artifact (the custom CNN at 32 px) written by the ML package's own code, so they
need nothing from ``../shared``; one more test runs the real images when they are there.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench import inference, preprocessing, report, training
from bench.artifact import ArtifactChoice
from bench.common import BenchResult, Table, alternate, summarise

CLASS_FOLDERS = [f"{i + 1}. class {i}" for i in range(10)]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


@pytest.fixture
def synthetic_skin10(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Sixty small JPEGs in ten class folders with a skin10-style metadata.csv."""
    root = tmp_path / "skin10"
    rng = np.random.default_rng(0)
    rows = []
    for label, folder in enumerate(CLASS_FOLDERS):
        (root / folder).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 255, (72, 96, 3), dtype=np.uint8)
            pixels[..., label % 3] = 200  # a class-dependent tint
            name = f"{folder}/syn_{label}_{i}.jpg"
            Image.fromarray(pixels).save(root / name, quality=90)
            rows.append(
                {
                    "path": name,
                    "label": label,
                    "group_id": f"g{label}-{i}",
                    "source": "dermnet" if label % 2 else "ham",
                }
            )
    with (root / "metadata.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "group_id", "source"])
        writer.writeheader()
        writer.writerows(rows)
    monkeypatch.setenv("BENCH_SKIN10_DIR", str(root))
    monkeypatch.setenv("BENCH_OUT_DIR", str(tmp_path / "out"))
    return root


@pytest.fixture
def tiny_artifact(synthetic_skin10: Path, tmp_path: Path) -> ArtifactChoice:
    from testing.artifacts import build_tiny_artifact

    path = build_tiny_artifact(tmp_path / "models" / "tiny-smoke", input_size=32)
    return ArtifactChoice(path, "tiny smoke artifact", trained=False)


def _check_tables(result: BenchResult) -> None:
    assert result.tables, f"{result.name} produced no table"
    for table in result.tables:
        assert table.rows
        assert all(len(row) == len(table.columns) for row in table.rows), table.title


def test_alternate_interleaves_variants_and_drops_each_blocks_first_call() -> None:
    calls: list[str] = []
    times = alternate(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
        rounds=3,
        block=2,
        warmup=1,
    )
    assert {k: len(v) for k, v in times.items()} == {"a": 6, "b": 6}
    # warm-up a, b; then per round: a x 3 (one untimed), b x 3.
    assert calls[:2] == ["a", "b"]
    assert calls[2:8] == ["a", "a", "a", "b", "b", "b"]
    assert len(calls) == 2 + 3 * 6


def test_summarise_gives_median_and_tail_percentiles() -> None:
    stats = summarise([float(x) for x in range(1, 101)])
    assert stats["n"] == 100
    assert stats["p50"] == pytest.approx(50.5)
    assert stats["p95"] == pytest.approx(95.05)
    assert stats["p99"] == pytest.approx(99.01)
    assert math.isnan(summarise([])["p50"])


def test_inference_benchmark_runs_every_variant(tiny_artifact: ArtifactChoice) -> None:
    result = inference.run(tiny_artifact, inference.QUICK)
    _check_tables(result)
    names = [row[0] for row in result.tables[0].rows]
    assert any(n.startswith(inference.SITE) for n in names)
    assert inference.REFERENCE in names
    assert "ONNX Runtime int8 static QDQ" in names
    for key in (
        "model_p50_ms_site",
        "model_p50_ms_fastest_same_accuracy",
        "model_site_over_fastest_same_accuracy",
    ):
        assert _number(result.figures[key]) and result.figures[key] > 0, key
    # The reference agrees with itself, and the exported ONNX model with PyTorch.
    rows = {row[0]: row for row in result.tables[0].rows}
    column = result.tables[0].columns.index("top-1 agreement")
    assert rows[inference.REFERENCE][column] == "100.00%"
    assert rows[inference.SITE + " *"][column] == "100.00%"


def test_preprocessing_benchmark_compares_the_decode_paths(tiny_artifact: ArtifactChoice) -> None:
    result = preprocessing.run(tiny_artifact, preprocessing.QUICK)
    _check_tables(result)
    assert len(result.tables) == 3  # phone photo, small photo, top-1 agreement
    phone = result.tables[0]
    full = phone.rows[0]
    assert full[0].startswith("full decode") and full[4] == 0.0  # the reference against itself
    for key in (
        "preprocess_p50_ms_site_phone",
        "preprocess_p50_ms_site_small",
        "preprocess_model_p50_ms",
    ):
        assert _number(result.figures[key]) and result.figures[key] > 0, key


def test_training_benchmark_measures_data_compute_and_full_loop(
    tiny_artifact: ArtifactChoice,
) -> None:
    config = training.TrainingConfig(
        rounds=1, steps=1, breakdown_images=3, batch_size=4, settings=(training.SETTINGS[0],)
    )
    result = training.run(tiny_artifact, config)
    _check_tables(result)
    names = [row[0] for row in result.tables[0].rows]
    assert names == [
        "data alone, workers=0 (engine default)",
        "compute alone, engine precision",
        "compute alone, fp32",
        "full loop, workers=0 (engine default)",
    ]
    ratio = result.figures["train_full_over_compute_ratio"]
    assert _number(ratio) and ratio > 0
    assert result.figures["train_best_loader_setting"] == "workers=0 (engine default)"


def test_results_files_carry_every_key_the_issue_asks_for(tmp_path: Path) -> None:
    env = {
        "cpu": "Test CPU",
        "cores": 2,
        "cpu_flags": ["avx2"],
        "native_bf16": False,
        "python": "3.11",
        "platform": "linux",
        "load_average": [0.1, 0.1, 0.1],
        "versions": {"torch": "x"},
    }
    meta = {
        "date": "2026-01-01",
        "command": "bench/run.py",
        "seconds": 1.0,
        "artifact": "a",
        "load_average_end": [0.2, 0.2, 0.2],
    }
    results = [
        BenchResult(
            "inference",
            tables=[Table("T | pipe", ["a", "b"], [["x", 1.5]])],
            figures={"model_p50_ms_site": 3.2, "model_site_over_fastest_same_accuracy": 1.5},
        ),
        BenchResult("e2e", skipped=["no Redis"]),
    ]
    report.write(tmp_path, env, results, meta)
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    for key in ("cpu", "date", *report.REQUIRED_KEYS):
        assert key in data, key
    assert data["model_p50_ms_site"] == 3.2
    assert data["e2e_p50_ms_phone_jpeg"] is None
    text = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "Test CPU, 2 usable cores" in text
    assert "| x | 1.5 |" in text
    assert "- skipped: no Redis" in text
    verdicts = {row[1]: row[4] for row in report.target_rows(report.figures_of(results))}
    assert verdicts["model_p50_ms_site"] == "met"
    assert verdicts["model_site_over_fastest_same_accuracy"] == "MISSED"
    assert verdicts["e2e_p50_ms_phone_jpeg"] == "not measured"


def test_run_py_writes_partial_results_outside_the_published_files(
    tiny_artifact: ArtifactChoice, tmp_path: Path
) -> None:
    from bench import run

    out = tmp_path / "partial"
    code = run.main(
        [
            "--quick",
            "--only",
            "inference,gpu",
            "--artifact",
            str(tiny_artifact.path),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert _number(data["model_p50_ms_site"])
    assert data["run"]["selected"] == ["inference", "gpu"]
    names = [b["name"] for b in data["benchmarks"]]
    assert names == ["inference", "gpu"]


@pytest.mark.integration
def test_stack_benchmark_uploads_through_the_real_site(tiny_artifact: ArtifactChoice) -> None:
    """gunicorn + Celery + Redis + PostgreSQL (or SQLite): uploads, exactly-once, pages."""
    import redis

    from bench import e2e

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis on 127.0.0.1:6379 ({exc})")
    config = e2e.StackConfig(
        images=3,
        latency_images=2,
        phone_distinct=1,
        clients=2,
        worker_counts=(1, 2),
        history_rows=21,
        page_seconds=0.5,
        page_clients=1,
        wait_s=120.0,
        phone_size=(800, 600),
    )
    uploads, pages = e2e.run(tiny_artifact, config)
    _check_tables(uploads)
    _check_tables(pages)
    assert uploads.figures["lost_or_duplicated_jobs"] == 0
    for key in (
        "e2e_p50_ms_phone_jpeg",
        "e2e_p50_ms_small_image",
        "e2e_throughput_ratio_2_workers",
    ):
        assert _number(uploads.figures[key]) and uploads.figures[key] > 0, key
    assert pages.figures["page_errors_history"] == 0
    assert pages.figures["page_errors_diseases"] == 0
    assert pages.figures["page_rps_history"] > 0


@pytest.mark.browser
def test_browser_benchmark_sees_results_in_chromium(tiny_artifact: ArtifactChoice) -> None:
    """Chromium on the real stack: upload -> result visible, by the browser's clock."""
    from bench import browser

    result = browser.run(tiny_artifact, browser.BrowserConfig(photos=2, warmup=1))
    _check_tables(result)
    assert [row[1] for row in result.tables[0].rows] == [2, 2]  # push, then polling
    for key in (
        "result_seen_p50_ms_small",
        "result_seen_p95_ms_small",
        "result_seen_p50_ms_small_polling",
    ):
        assert _number(result.figures[key]) and result.figures[key] > 0, key


@pytest.mark.shared_data
def test_inference_benchmark_on_the_real_images(shared_dir: Path, tiny_artifact, monkeypatch):
    """The same smoke run on real skin10 test images (skipped without ../shared)."""
    monkeypatch.setenv("BENCH_SKIN10_DIR", str(shared_dir / "data" / "skin10"))
    monkeypatch.delenv("BENCH_OUT_DIR")  # bench/out keeps the real split (20 s to make)
    result = inference.run(tiny_artifact, inference.QUICK)
    _check_tables(result)
    assert result.figures["model_eval_images"] == inference.QUICK.eval_images
    assert any("test images" in note for note in result.tables[0].notes)
