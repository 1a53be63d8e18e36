"""A real, throwaway copy of the site on loopback: gunicorn, a Celery worker, Redis, a database.

* database: a new PostgreSQL database on 127.0.0.1:5432 (created, migrated, dropped at the end),
  or, when PostgreSQL is not reachable, SQLite in the stack's own folder;
* Redis: the real server on 127.0.0.1:6379, in a database number nobody uses (claimed with a
  key, flushed at the end), so the benchmark never takes other tests' jobs nor leaves any;
* gunicorn on a free loopback port, and a Celery worker on the ``inference`` queue with 1 or 2
  prefork processes (restartable with another count);
* its own ``SKINSITE_VAR_DIR`` (media, secret key) under ``bench/out``, removed at the end.

Every process this module starts is stopped by ``close()`` (also on errors, through ``with``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, Skipped, log, out_dir, stage

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_HOST, REDIS_PORT = "127.0.0.1", int(os.environ.get("BENCH_REDIS_PORT", "6379"))
_CLAIM_KEY = "skinsite-bench:claim"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _claim_redis_db(token: str) -> int:
    import redis

    for number in range(15, 1, -1):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number, socket_timeout=2)
        try:
            if client.dbsize() == 0 and client.set(_CLAIM_KEY, token, nx=True, ex=7200):
                return number
        except redis.RedisError as exc:
            raise Skipped(f"Redis at {REDIS_HOST}:{REDIS_PORT} is not usable: {exc}") from exc
        finally:
            client.close()
    raise Skipped("no empty Redis database number (2-15) is free for the benchmark")


def _release_redis_db(number: int, token: str) -> None:
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number, socket_timeout=2)
    try:
        if client.get(_CLAIM_KEY) == token.encode():
            client.flushdb()
    except redis.RedisError:
        pass  # the server went away: nothing left to clean
    finally:
        client.close()


def _pg(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


class Stack:
    def __init__(self, *, name: str = "e2e", web_workers: int = 2) -> None:
        self.token = uuid.uuid4().hex[:10]
        self.dir = out_dir() / f"stack-{name}-{self.token}"
        self.dir.mkdir(parents=True)
        self.web_workers = web_workers
        # Threads per process for the sync views: skinsite/asgi.py's pool (WEB_THREADS).
        self.web_threads = int(os.environ.get("WEB_THREADS") or 4)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.db_name: str | None = None
        self.redis_db: int | None = None
        self.web: subprocess.Popen | None = None
        self.helper: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_processes = 0
        self.database = "sqlite"
        self.env: dict[str, str] = {}

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, *, artifact: Path, users: int, history_rows: int) -> dict[str, Any]:
        """Create the database and Redis space, migrate, prepare data, start the web server."""
        self.redis_db = _claim_redis_db(self.token)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "skinsite.settings",
            "SKINSITE_VAR_DIR": str(self.dir / "var"),
            # Shared by every stack (and the smoke tests): collectstatic then only checks what
            # changed instead of compressing every file again.
            "STATIC_ROOT": str(REPO_ROOT / "bench" / "out" / "static"),
            "SECRET_KEY": f"bench-{self.token}-" + uuid.uuid4().hex,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CELERY_BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.redis_db}",
            "CACHE_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.redis_db}",
            "CACHE_KEY_PREFIX": f"bench-{self.token}",
            "LOG_LEVEL": "info",
            "PYTHONPATH": str(REPO_ROOT),
            # The load clients send far more photos each than a person may (diagnosis.limits).
            "DIAGNOSIS_UPLOAD_RATE_LIMIT": "",
        }
        # Settings of the developer's own site must not leak into the throwaway one.
        for name in (
            "DATABASE_URL", "MEDIA_ROOT", "MODELS_DIR", "INFERENCE_BACKEND", "INFERENCE_DEVICE",
            "INFERENCE_THREADS", "SECURE_HTTPS", "SECURE_SSL_REDIRECT", "BEHIND_PROXY",
            "CSRF_TRUSTED_ORIGINS", "SECRET_KEY_FILE", "EMAIL_HOST",
        ):  # fmt: skip
            env.pop(name, None)
        try:
            self.db_name = f"skinsite_bench_{self.token}"
            _pg(f'CREATE DATABASE "{self.db_name}"')
            base = PG_ADMIN_URL.rsplit("/", 1)[0]
            env["DATABASE_URL"] = f"{base}/{self.db_name}"
            self.database = "PostgreSQL (a new database, dropped afterwards)"
        except Exception as exc:  # noqa: BLE001 (any failure means: use SQLite, and say so)
            self.db_name = None
            self.database = f"SQLite (PostgreSQL unavailable: {exc.__class__.__name__})"
        self.env = env
        with stage("start the in-site helper"):
            self._start_helper()
        with stage("migrate"):
            self.manage("migrate", "--noinput")
        with stage("collectstatic"):
            self.manage("collectstatic", "--noinput")
        with stage("load_diseases"):
            try:
                self.manage("load_diseases")
            except RuntimeError as exc:
                log(f"load_diseases failed, the disease list will be empty: {exc}")
        with stage("register the model, create users and history"):
            info = self.django(
                "prepare",
                {"artifact": str(artifact), "users": users, "history_rows": history_rows},
            )
        with stage("start gunicorn"):
            self._start_web()
        return info

    def close(self) -> None:
        if self.helper is not None and self.helper.stdin is not None:
            with contextlib.suppress(OSError):
                self.helper.stdin.close()  # the helper stops at the end of its input
        for process in (self.worker, self.web, self.helper):
            _stop(process)
        self.worker = self.web = self.helper = None
        if self.db_name:
            # Best effort: a database left behind has a name that says what to drop.
            with contextlib.suppress(Exception):
                _pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self.db_name = None
        if self.redis_db is not None:
            _release_redis_db(self.redis_db, self.token)
            self.redis_db = None
        # Keep the logs of the last stack for a reader; drop the photos and database files.
        logs = out_dir() / "last-stack-logs"
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir(parents=True, exist_ok=True)
        for path in self.dir.glob("*.log"):
            shutil.copy(path, logs / path.name)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- commands ------------------------------------------------------------------------------

    def manage(self, *argv: str) -> str:
        """A management command, run by the in-site helper."""
        return str(self.django("manage", {"argv": list(argv)})["output"])

    def django(self, command: str, args: dict[str, Any]) -> Any:
        """One request to the in-site helper (``bench.django_tasks``); its answer."""
        helper = self.helper
        if helper is None or helper.poll() is not None or helper.stdin is None:
            raise RuntimeError("the in-site helper is not running; see helper.log")
        helper.stdin.write(json.dumps({"command": command, "args": args}) + "\n")
        helper.stdin.flush()
        reply = self._helper_reply()
        if "error" in reply:
            raise RuntimeError(f"bench.django_tasks {command} failed:\n{reply['error'][-1500:]}")
        return reply["answer"]

    def _helper_reply(self) -> dict[str, Any]:
        if self.helper is None or self.helper.stdout is None:
            raise RuntimeError("the in-site helper was not started")
        line = self.helper.stdout.readline()
        if not line:
            raise RuntimeError("the in-site helper exited; see helper.log")
        return json.loads(line)

    def _start_helper(self) -> None:
        self.helper = subprocess.Popen(
            [sys.executable, "-m", "bench.django_tasks"],
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(self.dir / "helper.log").open("ab"),
            text=True,
            start_new_session=True,
        )
        self._helper_reply()  # "ready"

    # --- processes -----------------------------------------------------------------------------

    def _start_web(self) -> None:
        output = (self.dir / "web.log").open("ab")
        self.web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "skinsite.asgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.web_workers),
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.web.returncode}); see {output.name}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer /healthz within 90 s")

    def start_worker(self, processes: int, *, threads: int, extra_env: dict | None = None) -> None:
        """(Re)start the Celery worker with ``processes`` prefork children on the inference
        queue, each with ``threads`` inference threads; wait until every child loaded the
        model."""
        _stop(self.worker)
        started = time.monotonic()
        log_path = self.dir / f"worker-{processes}.log"
        output = log_path.open("ab")
        env = {**self.env, "INFERENCE_THREADS": str(threads), **(extra_env or {})}
        self.worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "skinsite",
                "worker",
                "--queues",
                "inference",
                "--concurrency",
                str(processes),
                "--pool",
                "prefork",
                "--hostname",
                f"bench-{self.token}-{processes}@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.worker_processes = processes
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.worker.poll() is not None:
                raise RuntimeError(f"the Celery worker exited ({self.worker.returncode})")
            text = log_path.read_text(encoding="utf-8", errors="replace")
            if " ready." in text and text.count("loaded model") >= processes:
                seconds = time.monotonic() - started
                log(f"worker with {processes} process(es) ready in {seconds:.0f} s")
                return
            time.sleep(0.3)
        raise RuntimeError(f"the Celery worker was not ready within 120 s; see {log_path}")


def _stop(process: subprocess.Popen | None) -> None:
    """SIGTERM the process group this module started, then SIGKILL it after 20 s."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass
