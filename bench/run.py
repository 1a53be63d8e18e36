"""Run the benchmarks and write ``bench/RESULTS.md`` and ``bench/results.json`` (``make bench``).

    .venv/bin/python bench/run.py                    # everything (under 15 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick            # tiny N: checks the scripts, not the speed
    .venv/bin/python bench/run.py --only inference,training --artifact var/models/v3

A full run rewrites ``bench/RESULTS.md`` and ``bench/results.json``; ``--quick`` and ``--only``
write to ``bench/out/`` instead (unless ``--out`` says otherwise), so a partial run never
replaces the published figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO_ROOT, BenchResult, Skipped, environment, log, out_dir

NAMES = ("inference", "preprocessing", "training", "trust", "e2e", "pages", "browser", "gpu")


def _benchmarks(quick: bool, threads: int) -> dict[str, Callable]:
    from bench import browser, e2e, gpu, inference, preprocessing, training, trust

    infer_cfg = inference.QUICK if quick else inference.InferenceConfig(threads=threads)
    train_cfg = training.QUICK if quick else training.TrainingConfig(threads=threads)
    return {
        "inference": lambda choice: inference.run(choice, infer_cfg),
        "preprocessing": lambda choice: preprocessing.run(
            choice, preprocessing.QUICK if quick else preprocessing.PreprocessConfig()
        ),
        "training": lambda choice: training.run(choice, train_cfg),
        "trust": lambda choice: trust.run(
            choice, trust.QUICK if quick else trust.TrustConfig(threads=threads)
        ),
        "stack": lambda choice, uploads, pages: e2e.run(
            choice, e2e.QUICK if quick else e2e.StackConfig(), uploads=uploads, pages=pages
        ),
        "browser": lambda choice: browser.run(
            choice, browser.QUICK if quick else browser.BrowserConfig()
        ),
        "gpu": lambda choice: gpu.run(choice, gpu.QUICK if quick else gpu.GpuConfig()),
    }


def _guarded(name: str, fn: Callable[[], list[BenchResult]]) -> list[BenchResult]:
    """Run one benchmark; a skip or a crash becomes a result that says so."""
    log(f"{name} ...")
    start = time.monotonic()
    try:
        results = fn()
    except Skipped as exc:
        results = [BenchResult(name, skipped=[str(exc)])]
    except Exception as exc:  # noqa: BLE001 (one broken benchmark must not lose the others)
        trace = traceback.format_exc()
        log(trace)
        results = [
            BenchResult(
                name,
                skipped=[f"FAILED: {exc.__class__.__name__}: {exc}"],
                notes=[trace.strip().splitlines()[-1]],
            )
        ]
    elapsed = time.monotonic() - start
    for result in results:
        result.seconds = elapsed
        if len(results) > 1:
            result.timing_note = ", one run shared by " + " and ".join(r.name for r in results)
    log(f"{name} done in {elapsed:.0f} s")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny N: a smoke run")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(NAMES)}")
    parser.add_argument("--artifact", default=None, help="model artifact folder to measure")
    parser.add_argument("--threads", type=int, default=2, help="inference and training threads")
    parser.add_argument("--out", default=None, help="folder for RESULTS.md and results.json")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="with --only: put the new results into bench/RESULTS.md and results.json, keeping "
        "the other benchmarks' results from the last run",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="measure nothing: rewrite RESULTS.md from results.json (after editing bench/GAPS.md)",
    )
    args = parser.parse_args(argv)
    if args.render:
        return _render(Path(args.out) if args.out else REPO_ROOT / "bench")
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(only) - set(NAMES))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    selected = [n for n in NAMES if not only or n in only]
    partial = args.quick or bool(only)
    default_out = out_dir() if partial and not args.merge else REPO_ROOT / "bench"
    out = Path(args.out) if args.out else default_out

    from bench import report
    from bench.artifact import choose_artifact

    started = time.monotonic()
    env = environment()
    choice = choose_artifact(args.artifact)
    log(f"artifact: {choice.origin}")
    bench = _benchmarks(args.quick, args.threads)
    results: list[BenchResult] = []
    for name in ("inference", "preprocessing", "training", "trust"):
        if name in selected:
            results += _guarded(name, lambda name=name: [bench[name](choice)])
    uploads, pages = "e2e" in selected, "pages" in selected
    if uploads or pages:
        label = "e2e + pages" if uploads and pages else ("e2e" if uploads else "pages")
        results += _guarded(label, lambda: bench["stack"](choice, uploads, pages))
    if "browser" in selected:
        results += _guarded("browser", lambda: [bench["browser"](choice)])
    if "gpu" in selected:
        results += _guarded("gpu", lambda: [bench["gpu"](choice)])

    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": "bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seconds": time.monotonic() - started,
        "artifact": choice.origin,
        "artifact_trained": choice.trained,
        "quick": args.quick,
        "selected": selected,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    for result in results:
        for table in result.tables:
            print("\n" + report.text_table(table))
        for line in result.notes + [f"skipped: {s}" for s in result.skipped]:
            print(f"[{result.name}] {line}")
    print(
        "\n"
        + report.text_table(
            report.Table(
                "Targets",
                ["what", "figure", "measured", "target", "verdict"],
                report.target_rows(report.figures_of(results)),
            )
        )
    )
    if args.merge:
        results = _merged(out, results)
        meta["command"] += " (merged into the previous full run's results)"
    report.write(out, env, results, meta)
    log(f"wrote {out / 'RESULTS.md'} and {out / 'results.json'} in {meta['seconds']:.0f} s")
    failed = [r.name for r in results if any(s.startswith("FAILED") for s in r.skipped)]
    return 1 if failed else 0


def _merged(out: Path, new: list[BenchResult]) -> list[BenchResult]:
    """The previous run's results with those of the same names replaced by ``new``."""
    import json

    previous = out / "results.json"
    if not previous.is_file():
        return new
    data = json.loads(previous.read_text(encoding="utf-8"))
    old = [BenchResult.from_dict(b) for b in data["benchmarks"]]
    names = {r.name for r in new}
    kept = [r for r in old if r.name not in names]
    order = {name: index for index, name in enumerate(NAMES)}
    return sorted(kept + new, key=lambda r: order.get(r.name.split(" ")[0], len(NAMES)))


def _render(out: Path) -> int:
    import json

    from bench import report

    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    results = [BenchResult.from_dict(b) for b in data["benchmarks"]]
    report.write(out, data["environment"], results, data["run"])
    log(f"rewrote {out / 'RESULTS.md'} from {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
