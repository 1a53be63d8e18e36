"""The benchmark's runs with signed-in clients (``testing.load.Client``, the load test's own):
one photo at a time or all at once, the exactly-once judgement of a run, and a loopback
page-load loop."""

from __future__ import annotations

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import summarise
from testing.load import Client

__all__ = ["Client", "judge", "latency_run", "page_load", "throughput_run"]


# --- runs ----------------------------------------------------------------------------------------


def latency_run(client: Client, photos: list[Path], n: int, interval: float) -> list[dict]:
    posts = []
    for i in range(n):
        photo = photos[i % len(photos)]
        post = client.upload(photo.read_bytes(), photo.name)
        post["observed"] = client.wait_done(post["public_id"], interval)
        posts.append(post)
    return posts


def throughput_run(clients: list[Client], photos: list[Path], n: int) -> list[dict]:
    payloads = [
        (photos[i % len(photos)].read_bytes(), photos[i % len(photos)].name) for i in range(n)
    ]

    def send(index: int) -> list[dict]:
        client = clients[index]
        return [client.upload(*payloads[i]) for i in range(index, n, len(clients))]

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return [post for batch in pool.map(send, range(len(clients))) for post in batch]


def judge(posts: list[dict], answer: dict[str, Any]) -> dict[str, Any]:
    """Latencies, throughput and the exactly-once check of one run."""
    rows = {r["public_id"]: r for r in answer["rows"]}
    missing = sum(1 for p in posts if p["public_id"] not in rows)
    unfinished = sum(1 for r in rows.values() if r["status"] != "succeeded")
    reclaimed = sum(1 for r in rows.values() if r["attempts"] != 1)
    extra = max(0, answer["owned_since"] - len(posts))
    done = [
        (p, rows[p["public_id"]])
        for p in posts
        if p["public_id"] in rows and rows[p["public_id"]]["finished_at"]
    ]
    to_result = [1000 * (r["finished_at"] - p["sent"]) for p, r in done]
    server = [1000 * (r["finished_at"] - r["created_at"]) for _, r in done]
    upload = [1000 * (p["answered"] - p["sent"]) for p in posts]
    observed = [1000 * (p["observed"] - p["sent"]) for p in posts if "observed" in p]
    span = (max(r["finished_at"] for _, r in done) - min(p["sent"] for p in posts)) if done else 0
    return {
        "posted": len(posts),
        "succeeded": len(done) - unfinished,
        "to_result": summarise(to_result),
        "server": summarise(server),
        "upload_request": summarise(upload),
        "observed": summarise(observed),
        "queue_wait": summarise(
            [r["queue_wait_ms"] for _, r in done if r["queue_wait_ms"] is not None]
        ),
        "inference": summarise(
            [r["inference_ms"] for _, r in done if r["inference_ms"] is not None]
        ),
        "throughput": len(done) / span if span > 0 else float("nan"),
        "missing": missing,
        "unfinished_or_failed": unfinished,
        "extra_rows": extra,
        "reclaimed": reclaimed,
        "lost_or_duplicated": missing + unfinished + extra + reclaimed,
    }


# --- web pages -----------------------------------------------------------------------------------


def page_load(port: int, path: str, cookie: str, seconds: float, clients: int) -> dict[str, Any]:
    """GET ``path`` in a loop from ``clients`` threads for ``seconds``; rate and latencies."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie, "Accept-Language": "en"})
                answer = conn.getresponse()
                answer.read()
                ok = answer.status == 200
                close = answer.will_close
            except (OSError, http.client.HTTPException):
                ok, close = False, True
            latencies[i].append((time.perf_counter() - start) * 1000)
            errors[i] += 0 if ok else 1
            if close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    every = [x for per in latencies for x in per]
    return {
        "requests": len(every),
        "errors": sum(errors),
        "rps": len(every) / elapsed,
        **summarise(every),
    }
