"""Twenty people upload photos and wait for their results, on the real stack, for a bounded time.

Two minutes by default (CI); ``LOAD_TEST_SECONDS=600`` for the longer run:

    LOAD_TEST_SECONDS=600 .venv/bin/pytest skinsite/tests/test_load.py -s

Checks: no 5xx at all, every upload accepted and finished exactly once (one row per upload, one
completion per row), the queue empties after the load stops, the worker's memory stays flat.
Latency percentiles, throughput and memory are printed and written to
``var/test-artifacts/test_load/summary.json``.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from typing import Any

import pytest

from skinsite.tests.conftest import ARTIFACTS
from testing.live_stack import LiveStack, wait_until
from testing.load import MemorySampler, percentiles, run_load
from testing.photos import lesion_photo, photo_set

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("keep_stack_logs_on_failure")]

PEOPLE = int(os.environ.get("LOAD_TEST_PEOPLE", "20"))
SECONDS = float(os.environ.get("LOAD_TEST_SECONDS", "120"))
PASSWORD = "a-long-unusual-passphrase-42"
#: Growth of the pool children's memory from early in the run to its end that still counts as
#: flat: allocator noise and caches settle within this; a leak per job would not.
MEMORY_SLACK_KIB = 64 * 1024


@pytest.fixture(scope="module")
def stack_options() -> dict[str, Any]:
    # Like docker-compose's worker (two pool children) and a two-process web server. Each
    # simulated person sends far more photos than the per-person upload limit allows a human.
    return {
        "workers": 1,
        "worker_concurrency": 2,
        "web_workers": 2,
        "extra_env": {"DIAGNOSIS_UPLOAD_RATE_LIMIT": ""},
    }


def describe(values: list[float], unit: float = 1000.0) -> str:
    marks = percentiles(values)
    if not marks:
        return "no samples"
    return ", ".join(f"{k} {v * unit:.0f}" for k, v in marks.items()) + f" (n={len(values)})"


def test_twenty_people_uploading_and_polling_lose_nothing_and_get_no_server_error(
    live_stack: LiveStack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = live_stack
    worker = stack.worker_procs[0]
    stack.wait_worker_ready(worker)
    people = [f"load-{index:02d}@example.com" for index in range(PEOPLE)]
    stack.create_users(people, PASSWORD)
    # Real photos when ../shared is there, and always two larger ones, as phones send.
    photos = [
        *photo_set(18),
        lesion_photo((1600, 1200), seed=1),
        lesion_photo((3000, 2250), seed=2),
    ]

    sampler = MemorySampler(lambda: stack.pool_children(worker), interval=2.0)
    sampler.start()
    try:
        report = run_load(stack.url, people, PASSWORD, photos, SECONDS)
        # The load has stopped: whatever is still queued must drain in a bounded time.
        wait_until(lambda: stack.queue_length() == 0, 180, "the queue to drain")
        rows = stack.rows(owner_prefix="load-")
        unfinished = [r["pk"] for r in rows if r["status"] not in ("succeeded", "failed")]
        if unfinished:
            rows = stack.wait_finished([r["pk"] for r in rows], timeout=180)
    finally:
        sampler.stop()

    counts: dict[int, Counter[str]] = {r["pk"]: Counter() for r in rows}
    for pk, outcome, _pid in stack.outcomes():
        if pk in counts:
            counts[pk][outcome] += 1
    server_ms = {
        "queue wait (worker)": [r["queue_wait_ms"] / 1000 for r in rows if r["queue_wait_ms"]],
        "inference (worker)": [r["inference_ms"] / 1000 for r in rows if r["inference_ms"]],
    }
    early = sampler.window_median(0.1, 0.3)
    late = sampler.window_median(0.8, 1.0)
    summary = {
        "people": PEOPLE,
        "seconds": round(report.seconds, 1),
        "uploads": len(report.uploads),
        "uploads_per_minute": round(len(report.uploads) / report.seconds * 60, 1),
        "http_statuses": dict(sorted(report.statuses.items())),
        "latency_ms": {
            name: {k: round(v * 1000) for k, v in percentiles(values).items()}
            for name, values in {**report.latencies(), **server_ms}.items()
        },
        "worker_rss_kib": {
            "early_median": early,
            "late_median": late,
            "max": max((kib for _, kib, _ in sampler.samples), default=None),
            "samples": len(sampler.samples),
        },
        "active_model": stack.active_model,
    }
    ARTIFACTS.joinpath("test_load").mkdir(parents=True, exist_ok=True)
    ARTIFACTS.joinpath("test_load", "summary.json").write_text(json.dumps(summary, indent=2))
    with capsys.disabled():
        lines = [
            f"\nload: {PEOPLE} people for {report.seconds:.0f} s, {len(report.uploads)} uploads "
            f"({summary['uploads_per_minute']}/min), model {stack.active_model}",
            f"  HTTP statuses: {summary['http_statuses']}",
            *(f"  {name} ms: {describe(values)}" for name, values in report.latencies().items()),
            *(f"  {name} ms: {describe(values)}" for name, values in server_ms.items()),
            f"  worker pool RSS KiB: early {early}, late {late}, "
            f"max {summary['worker_rss_kib']['max']}",
            "  slowest uploads (at s: took s): "
            + ", ".join(f"{at:.0f}: {took:.1f}" for at, took in report.slowest_uploads()),
        ]
        sys.stdout.write("\n".join(lines) + "\n")

    assert not report.errors, report.errors[:5]
    assert not report.server_errors, report.server_errors[:10]
    assert not report.refused_uploads, report.refused_uploads[:5]
    assert report.uploads, "nobody managed to upload anything"
    assert not report.unfinished, f"results never seen: {report.unfinished[:10]}"
    # One row per upload, no more, no fewer.
    assert sorted(r["public_id"] for r in rows) == sorted(report.uploads)
    not_ok = [(r["pk"], r["status"], r["failure_code"]) for r in rows if r["status"] != "succeeded"]
    assert not not_ok, not_ok[:10]
    again = {pk: dict(c) for pk, c in counts.items() if c["succeeded"] != 1}
    assert not again, f"jobs not run exactly once: {list(again.items())[:10]}"
    assert {r["attempts"] for r in rows} == {1}
    assert stack.queue_length() == 0
    assert early is not None and late is not None, "the worker's memory was not sampled"
    assert late - early < max(MEMORY_SLACK_KIB, 0.25 * early), summary["worker_rss_kib"]
