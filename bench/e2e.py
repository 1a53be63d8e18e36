"""End to end through the real stack, and the web pages under load.

Uploads: signed-in test users post real skin10 photos through the upload view (as a browser
does: CSRF token, the form's idempotency token, multipart file), with 1 and then 2 Celery worker
processes. Two kinds of run:

* latency (1 idle worker): one photo at a time; the client polls the status endpoint until the
  result is there before sending the next. upload->result = the row's ``finished_at`` minus the
  moment the client started sending (same clock: loopback), plus what the client observed;
* throughput: all photos posted by several clients at once, then the rows are read back.
  images/s = finished photos / (last ``finished_at`` - first send).

Every run checks each posted photo became exactly one diagnosis, finished once: a missing row, an
unfinished or failed one, an extra row or a row claimed more than once counts as lost or
duplicated.

The "alone" baseline is the same per-photo CPU work without web, database or queue: the web's
``validate_image``, the worker's read of the stored copy, ``preprocess`` and the model, in 1 or
2 processes (as many as worker processes, with the same inference threads each).

Web pages: the history page of a user with 500 diagnoses and the disease list, loaded for a fixed
time by client threads on loopback (they share the CPU with the server, so requests/s is a
lower bound of what the server alone would do).
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.artifact import ArtifactChoice, test_records
from bench.client import Client, judge, latency_run, page_load, throughput_run
from bench.common import BenchResult, Table, rnd, stage, usable_cores
from bench.photos import PHONE_SIZE, cached_phone_jpegs

PHONE, SMALL = "phone JPEG", "skin10 as is"


@dataclass(frozen=True)
class StackConfig:
    images: int = 300
    latency_images: int = 40
    phone_distinct: int = 60
    clients: int = 4
    worker_counts: tuple[int, ...] = (1, 2)
    history_rows: int = 500
    page_seconds: float = 30.0
    page_clients: int = 4
    poll_interval_s: float = 0.005
    wait_s: float = 300.0
    phone_size: tuple[int, int] = PHONE_SIZE


QUICK = StackConfig(
    images=4,
    latency_images=2,
    phone_distinct=2,
    clients=2,
    history_rows=25,
    page_seconds=1.0,
    page_clients=2,
    wait_s=120.0,
    phone_size=(1200, 900),
)


# --- the "alone" baseline ------------------------------------------------------------------------

_alone_predictor: Any = None


def _alone_init(artifact: str, threads: int) -> None:
    global _alone_predictor
    from mltrain.ml.predictors import load_predictor

    _alone_predictor = load_predictor(artifact, backend="onnx", num_threads=threads)


def _alone_one(path: str) -> int:
    """The CPU work of one upload without web, database or queue."""
    import io

    from PIL import Image

    from mltrain.ml.preprocess import preprocess
    from skinsite.imaging import validate_image

    stored = validate_image(Path(path).read_bytes()).content
    manifest = _alone_predictor.manifest
    with Image.open(io.BytesIO(stored)) as image:
        batch = preprocess(
            image, input_size=manifest.input_size, mean=manifest.mean, std=manifest.std
        )[np.newaxis]
    return int(_alone_predictor.predict_proba(batch).argmax())


def _model_only(count: int) -> int:
    """``count`` batch-1 model calls on a fixed input (the model-only rate)."""
    size = _alone_predictor.manifest.input_size
    batch = np.zeros((1, 3, size, size), dtype=np.float32)
    for _ in range(count):
        _alone_predictor.predict_proba(batch)
    return count


MODEL_ONLY = "model only"


def alone_throughput(
    artifact: Path, kinds: dict[str, list[Path]], n: int, processes: int, threads: int
) -> dict[str, float]:
    """Images/s of ``_alone_one`` over ``n`` photos of each kind, and of the model alone
    (``MODEL_ONLY``), in ``processes`` processes."""
    rates = {}
    # spawn: the parent has PyTorch's thread pools, which do not survive a fork. An executor
    # (unlike multiprocessing.Pool) fails at once when a child cannot start.
    with ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_alone_init,
        initargs=(str(artifact), threads),
    ) as pool:
        for kind, photos in kinds.items():
            paths = [str(photos[i % len(photos)]) for i in range(n)]
            list(pool.map(_alone_one, paths[: processes * 2]))  # warm-up
            start = time.perf_counter()
            list(pool.map(_alone_one, paths, chunksize=max(1, n // (processes * 8))))
            rates[kind] = n / (time.perf_counter() - start)
        per_process = max(1, n // processes)
        list(pool.map(_model_only, [2] * processes))  # warm-up
        start = time.perf_counter()
        list(pool.map(_model_only, [per_process] * processes))
        rates[MODEL_ONLY] = per_process * processes / (time.perf_counter() - start)
    return rates


# --- the benchmark -------------------------------------------------------------------------------


@dataclass
class _Runs:
    latency: dict[str, dict] = field(default_factory=dict)
    throughput: dict[tuple[int, str], dict] = field(default_factory=dict)
    alone: dict[tuple[int, str], float] = field(default_factory=dict)


def run(
    choice: ArtifactChoice,
    config: StackConfig = StackConfig(),
    *,
    uploads: bool = True,
    pages: bool = True,
) -> list[BenchResult]:
    from bench.stack import Stack

    records, _ = test_records(choice.path, config.images)
    as_is = [r.path for r in records][: config.images]
    kinds: dict[str, list[Path]] = {}
    if uploads:
        with stage(f"phone photos ({config.phone_distinct}, cached in bench/out/photos)"):
            kinds[PHONE] = cached_phone_jpegs(as_is[: config.phone_distinct], config.phone_size)
        kinds[SMALL] = as_is
    cores = usable_cores()
    e2e = BenchResult("e2e")
    web = BenchResult("pages")
    runs = _Runs()
    with Stack(name="e2e") as stack:
        info = stack.open(
            artifact=choice.path,
            users=max(config.clients, 1),
            history_rows=config.history_rows if pages else 0,
        )
        e2e.notes.append(
            f"Database: {stack.database}; Redis db {stack.redis_db}; gunicorn "
            f"{stack.web_workers} asgi workers ({stack.web_threads} view threads each: "
            f"skinsite/asgi.py); worker inference threads = {cores} cores / worker processes. "
            f"Phone JPEGs: {config.phone_size[0]}x{config.phone_size[1]}, "
            f"{min(config.phone_distinct, len(as_is))} distinct skin10 images cycled over the "
            "uploads; skin10 photos as they are: 180-320 px."
        )
        if uploads:
            _uploads(stack, info, kinds, config, runs, cores)
        if pages:
            with stage("web pages under load"):
                _pages(stack, info, config, web)
    if uploads:
        # The baseline runs after the stack is stopped, on the same photos.
        n = min(config.images, max(8, config.images // 2))
        for workers in config.worker_counts:
            with stage(f"alone baseline, {workers} process(es)"):
                rates = alone_throughput(choice.path, kinds, n, workers, max(1, cores // workers))
            runs.alone.update({(workers, kind): rate for kind, rate in rates.items()})
        _report_uploads(e2e, runs, config)
    return [r for r, wanted in ((e2e, uploads), (web, pages)) if wanted]


def _uploads(
    stack: Any,
    info: dict[str, Any],
    kinds: dict[str, list[Path]],
    config: StackConfig,
    runs: _Runs,
    cores: int,
) -> None:
    def read_back(posts: list[dict], since: float) -> dict[str, Any]:
        ids = [p["public_id"] for p in posts]
        args = {"public_ids": ids, "wait_s": config.wait_s, "users": info["users"], "since": since}
        return judge(posts, stack.django("rows", args))

    urls, password = info["urls"], info["password"]
    clients = [Client(stack.base_url, urls, email, password) for email in info["users"]]
    for workers in config.worker_counts:
        stack.start_worker(workers, threads=max(1, cores // workers))
        # Warm-up: every pool child and web worker handles a photo before timing.
        latency_run(clients[0], kinds[SMALL], 2 * workers, config.poll_interval_s)
        for kind, photos in kinds.items():
            if workers == 1:
                with stage(f"latency run, 1 worker, {kind}"):
                    since = time.time()
                    posts = latency_run(
                        clients[0], photos, config.latency_images, config.poll_interval_s
                    )
                    runs.latency[kind] = read_back(posts, since)
            with stage(f"throughput run, {workers} worker(s), {kind}"):
                since = time.time()
                posts = throughput_run(clients, photos, config.images)
                runs.throughput[(workers, kind)] = read_back(posts, since)


def _pages(stack: Any, info: dict, config: StackConfig, result: BenchResult) -> None:
    owner = Client(stack.base_url, info["urls"], info["history_user"], info["password"])
    table = Table(
        f"Web pages, {config.page_clients} client threads for {config.page_seconds:g} s each "
        f"(gunicorn {stack.web_workers} asgi workers x {stack.web_threads} view threads, loopback)",
        ["page", "requests/s", "p50 ms", "p95 ms", "p99 ms", "requests", "errors"],
    )
    for label, path in (
        (f"history ({config.history_rows} diagnoses, page 1)", info["urls"]["history"]),
        ("disease list", info["urls"]["diseases"]),
    ):
        load = page_load(
            stack.port, path, owner.cookie_header, config.page_seconds, config.page_clients
        )
        table.rows.append(
            [
                label,
                rnd(load["rps"], 1),
                rnd(load["p50"], 1),
                rnd(load["p95"], 1),
                rnd(load["p99"], 1),
                load["requests"],
                load["errors"],
            ]
        )
        key = "history" if label.startswith("history") else "diseases"
        result.figures[f"page_rps_{key}"] = rnd(load["rps"], 1)
        result.figures[f"page_p99_ms_{key}"] = rnd(load["p99"], 1)
        result.figures[f"page_errors_{key}"] = load["errors"]
    table.notes.append(
        "The load generator runs on the same cores as the server (Python threads, one request "
        "at a time each): requests/s is a lower bound of the server's capacity."
    )
    result.tables.append(table)


def _report_uploads(result: BenchResult, runs: _Runs, config: StackConfig) -> None:
    lat = Table(
        f"Upload -> result with one idle worker ({config.latency_images} photos, one at a "
        "time; ms)",
        [
            "photos",
            "p50",
            "p95",
            "p99",
            "server p50 (created->finished)",
            "upload request p50",
            "client-observed p50",
            "queue wait p50",
            "inference p50",
            "lost/duplicated",
        ],
    )
    for kind, j in runs.latency.items():
        lat.rows.append(
            [
                kind,
                rnd(j["to_result"]["p50"], 1),
                rnd(j["to_result"]["p95"], 1),
                rnd(j["to_result"]["p99"], 1),
                rnd(j["server"]["p50"], 1),
                rnd(j["upload_request"]["p50"], 1),
                rnd(j["observed"]["p50"], 1),
                rnd(j["queue_wait"]["p50"], 1),
                rnd(j["inference"]["p50"], 1),
                j["lost_or_duplicated"],
            ]
        )
    lat.notes.append(
        "upload->result = the row's finished_at minus the moment the client began sending the "
        "photo. Client-observed adds the status polling (every "
        f"{config.poll_interval_s * 1000:.0f} ms). Targets: < 100 ms phone JPEG, < 30 ms small."
    )
    thr = Table(
        f"Throughput, {config.images} photos posted by {config.clients} clients at once",
        [
            "workers",
            "photos",
            "images/s",
            "alone images/s",
            "e2e / alone",
            "model-only images/s",
            "e2e / model-only",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "lost/duplicated",
        ],
    )
    lost = 0
    for (workers, kind), j in runs.throughput.items():
        alone = runs.alone.get((workers, kind), float("nan"))
        model = runs.alone.get((workers, MODEL_ONLY), float("nan"))
        thr.rows.append(
            [
                workers,
                kind,
                rnd(j["throughput"], 1),
                rnd(alone, 1),
                rnd(j["throughput"] / alone, 3),
                rnd(model, 1),
                rnd(j["throughput"] / model, 3),
                rnd(j["to_result"]["p50"], 1),
                rnd(j["to_result"]["p95"], 1),
                rnd(j["to_result"]["p99"], 1),
                j["lost_or_duplicated"],
            ]
        )
        lost += j["lost_or_duplicated"]
    lost += sum(j["lost_or_duplicated"] for j in runs.latency.values())
    thr.notes.append(
        "alone = validate_image + read stored copy + preprocess + model, in as many processes "
        "as worker processes (same threads each), no web/database/queue; model-only = the "
        "site's predictor at batch 1 on a fixed input in those processes. Target: e2e / alone "
        ">= 0.70 with 2 workers. Lost/duplicated counts missing, unfinished, failed, extra and "
        "re-claimed rows."
    )
    result.tables += [lat, thr]
    phone, small = PHONE, SMALL
    ratio = {
        k: runs.throughput[(2, k)]["throughput"] / runs.alone[(2, k)]
        for k in (phone, small)
        if (2, k) in runs.throughput
    }
    result.figures.update(
        {
            "e2e_p50_ms_phone_jpeg": rnd(
                runs.latency.get(phone, {}).get("to_result", {}).get("p50"), 1
            ),
            "e2e_p95_ms_phone_jpeg": rnd(
                runs.latency.get(phone, {}).get("to_result", {}).get("p95"), 1
            ),
            "e2e_p50_ms_small_image": rnd(
                runs.latency.get(small, {}).get("to_result", {}).get("p50"), 1
            ),
            "e2e_throughput_ratio_2_workers": rnd(ratio.get(phone), 3),
            "e2e_throughput_ratio_2_workers_small": rnd(ratio.get(small), 3),
            "e2e_images_per_s_2_workers_phone": rnd(
                runs.throughput.get((2, phone), {}).get("throughput"), 2
            ),
            "model_only_images_per_s_2_processes": rnd(runs.alone.get((2, MODEL_ONLY)), 2),
            "lost_or_duplicated_jobs": lost,
        }
    )
