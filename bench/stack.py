"""The benchmark's copy of the site: ``testing.live_stack.LiveStack``, the one live stack the
browser, fault and load tests use too, with what the benchmark adds around it.

* database: a new PostgreSQL database on ``BENCH_PG_URL`` (default: the local server), created
  and dropped by the stack, or SQLite in the stack's folder when PostgreSQL is not reachable;
* Redis: the stack's own private redis-server, so the benchmark never takes other tests' jobs
  nor leaves any;
* gunicorn on a free loopback port, and Celery workers of the site's own app (not the tests'
  instrumented one) on the ``inference`` queue, restarted with 1 or 2 prefork processes;
* the measured artifact registered and active, signed-in users, one person with a long
  history (``bench.site_data``);
* its folder under ``bench/out``, removed at the end but for the logs of the last stack.

Every process is stopped by ``close()`` (also on errors, through ``with``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import log, out_dir, stage
from testing.live_stack import LiveStack, wait_until

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-not-secret-1"  # noqa: S105 (throwaway users of a throwaway database)
HISTORY_EMAIL = "bench-history@example.com"
#: Settings of the developer's own site that must not leak into the throwaway one.
_DROPPED_ENV = (
    "DATABASE_URL", "INFERENCE_BACKEND", "INFERENCE_DEVICE", "INFERENCE_THREADS", "SECURE_HTTPS",
    "SECURE_SSL_REDIRECT", "BEHIND_PROXY", "CSRF_TRUSTED_ORIGINS", "SECRET_KEY_FILE", "EMAIL_HOST",
)  # fmt: skip


def _reachable(url: str) -> str:
    """``url`` when a PostgreSQL server answers there, else "" (the stack then uses SQLite)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3):
            return url
    except psycopg.Error as exc:
        log(f"PostgreSQL at {url} unavailable ({exc.__class__.__name__}): SQLite instead")
        return ""


class Stack:
    def __init__(self, *, name: str = "e2e", web_workers: int = 2) -> None:
        self.dir = out_dir() / f"stack-{name}-{uuid.uuid4().hex[:10]}"
        self.web_workers = web_workers
        # Threads per process for the sync views: skinsite/asgi.py's pool (WEB_THREADS).
        self.web_threads = int(os.environ.get("WEB_THREADS") or 4)
        self.live = LiveStack(
            folder=self.dir,
            workers=0,
            web_workers=web_workers,
            worker_app="skinsite",
            model="none",
            database_url=_reachable(PG_ADMIN_URL),
            drop_env=_DROPPED_ENV,
            extra_env={
                # Shared by every stack: collectstatic then only checks what changed.
                "STATIC_ROOT": str(out_dir() / "static"),
                "LOG_LEVEL": "info",
                # The load clients send far more photos each than a person may.
                "DIAGNOSIS_UPLOAD_RATE_LIMIT": "",
            },
        )
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_processes = 0

    @property
    def base_url(self) -> str:
        return self.live.url

    @property
    def port(self) -> int:
        return self.live.web_port

    @property
    def database(self) -> str:
        return self.live.database

    @property
    def redis_db(self) -> str:
        return f"0 of a private redis-server on port {self.live.redis_port}"

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, *, artifact: Path, users: int, history_rows: int) -> dict[str, Any]:
        """Start the stack (migrated, static files, diseases), register and activate
        ``artifact``, create ``users`` signed-up people and one with ``history_rows`` finished
        diagnoses; answer the people, their password and the URLs the clients need."""
        with stage("start the stack (database, Redis, migrate, collectstatic, gunicorn)"):
            self.live.start(activate_default_model=False)
        emails = [f"bench-user-{i}@example.com" for i in range(users)]
        with stage("register the model, create users and history"):
            self.live.create_users([*emails, HISTORY_EMAIL], PASSWORD)
            args = {"artifact": str(artifact), "history_email": HISTORY_EMAIL}
            out = self.live.shell(
                "import json\nfrom bench.site_data import prepare\n"
                f"print(json.dumps(prepare(**{args!r}, history_rows={history_rows})))",
                timeout=600,
            )
        info: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return {**info, "users": emails, "history_user": HISTORY_EMAIL, "password": PASSWORD}

    def close(self) -> None:
        try:
            self.live.close()
        finally:
            # Keep the logs of the last stack for a reader; drop the photos and database files.
            logs = out_dir() / "last-stack-logs"
            shutil.rmtree(logs, ignore_errors=True)
            logs.mkdir(parents=True, exist_ok=True)
            for path in self.dir.glob("*.log"):
                shutil.copy(path, logs / path.name)
            shutil.rmtree(self.dir, ignore_errors=True)

    def start_worker(
        self, processes: int, *, threads: int, extra_env: dict[str, str] | None = None
    ) -> None:
        """(Re)start the Celery worker with ``processes`` prefork children on the inference
        queue, each with ``threads`` inference threads; wait until every child loaded the
        model."""
        if self.worker is not None:
            self.live.stop_worker(self.worker)
        started = time.monotonic()
        worker = self.live.start_worker(
            concurrency=processes,
            queues="inference",
            env={"INFERENCE_THREADS": str(threads), **(extra_env or {})},
        )
        self.worker, self.worker_processes = worker, processes

        def ready() -> bool:
            if worker.poll() is not None:
                raise RuntimeError(f"the Celery worker exited ({worker.returncode})")
            text = self.live.worker_log(worker)
            return " ready." in text and text.count("loaded model") >= processes

        wait_until(ready, 120, "the Celery worker", interval=0.3)
        log(f"worker with {processes} process(es) ready in {time.monotonic() - started:.0f} s")

    def rows(
        self, *, public_ids: list[str], wait_s: float, users: list[str], since: float
    ) -> dict[str, Any]:
        """Wait until the given diagnoses are finished (at most ``wait_s``); their rows, with
        times as POSIX seconds, and how many diagnoses ``users`` created since ``since`` (to
        find duplicates)."""
        wanted = set(public_ids)
        deadline = time.monotonic() + wait_s
        while True:
            found = [
                row
                for row in self.live.rows(owner_prefix="bench-user-")
                if row["owner__email"] in users
            ]
            mine = [row for row in found if row["public_id"] in wanted]
            done = [row for row in mine if row["status"] in ("succeeded", "failed")]
            if len(done) >= len(wanted) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        return {
            "owned_since": sum(1 for row in found if (_seconds(row["created_at"]) or 0) >= since),
            "rows": [
                {
                    **{key: row[key] for key in ("public_id", "status", "attempts")},
                    **{key: row[key] for key in ("queue_wait_ms", "inference_ms")},
                    "failure_code": row["failure_code"],
                    **{
                        key: _seconds(row[key])
                        for key in ("created_at", "started_at", "finished_at")
                    },
                }
                for row in mine
            ],
        }

    def django(self, command: str, args: dict[str, Any]) -> Any:
        """``django("rows", {...})``: the name ``bench/e2e.py`` calls ``rows`` by."""
        if command != "rows":
            raise ValueError(f"unknown stack command {command!r}")
        return self.rows(**args)


def _seconds(value: str | None) -> float | None:
    """A row's time as ``SiteData.rows`` gives it (``str(datetime)``), in POSIX seconds."""
    return datetime.fromisoformat(value).timestamp() if value else None
