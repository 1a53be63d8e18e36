"""Run the real site in subprocesses: a private Redis, gunicorn and Celery workers.

Used by the browser, fault and load tests and by the end-to-end benchmark. Every process listens
on loopback only, on free ports, and the whole stack is torn down by ``close()`` (or the context
manager), so nothing outlives a test. The database is a fresh PostgreSQL database on the server
named by ``DATABASE_URL`` (dropped afterwards), or an SQLite file in the stack's folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready within {timeout} s")


def _redis_binary() -> str:
    from skinsite.management.commands.run_site import find_redis_server

    return find_redis_server()


@dataclass
class LiveStack:
    """A whole skinsite on loopback. Call ``start()``; then ``url``, ``manage()``, faults."""

    folder: Path
    workers: int = 1
    web_workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    redis_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    redis: subprocess.Popen[bytes] | None = None
    web: subprocess.Popen[bytes] | None = None
    worker_procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _database: str | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self, *, activate_default_model: bool = True) -> LiveStack:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._create_database()
        self.start_redis()
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        commands = set(self.manage("help", "--commands").split())
        if "load_diseases" in commands:
            self.manage("load_diseases")
        if activate_default_model and "ensure_default_model" in commands:
            self.manage("ensure_default_model")
        for _ in range(self.workers):
            self.start_worker()
        self.start_web()
        return self

    def close(self) -> None:
        if self.web is not None:
            self._stop(self.web)
        for worker in self.worker_procs:
            self._stop(worker)
        if self.redis is not None:
            self._stop(self.redis)
        self._drop_database()

    def __enter__(self) -> LiveStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- environment ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
        env = {
            **keep,
            "DJANGO_SETTINGS_MODULE": "skinsite.settings",
            "SKINSITE_VAR_DIR": str(self.folder),
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CACHE_URL": f"redis://127.0.0.1:{self.redis_port}/1",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.folder / "mail"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
        }
        if self._database:
            env["DATABASE_URL"] = self._database
        else:
            env.pop("DATABASE_URL", None)
        env.update(self.extra_env)
        return env

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
        return result.stdout

    def shell(self, code: str, timeout: float = 120) -> str:
        """Run Python with Django set up in the stack's environment; returns its stdout."""
        return self.manage("shell", "--no-imports", "-c", code, timeout=timeout)

    # --- processes ------------------------------------------------------------------------
    def start_redis(self) -> None:
        data = self.folder / "redis"
        data.mkdir(exist_ok=True)
        self.redis = subprocess.Popen(
            [
                _redis_binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                str(data),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(lambda: port_open(self.redis_port), 15, "redis")

    def stop_redis(self) -> None:
        if self.redis is not None:
            self._stop(self.redis)
            self.redis = None

    def start_worker(
        self, *, concurrency: int = 1, queues: str = "inference,default,maintenance"
    ) -> subprocess.Popen[bytes]:
        log = (self.folder / f"worker-{len(self.worker_procs)}.log").open("ab")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "skinsite",
                "worker",
                "--queues",
                queues,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--hostname",
                f"w{len(self.worker_procs)}-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.worker_procs.append(worker)
        return worker

    def start_web(self) -> None:
        log = (self.folder / "web.log").open("ab")
        self.web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "skinsite.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                str(self.web_workers),
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._web_answers, 90, "web server")

    def kill_worker(self, worker: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Kill a worker's whole process group (the main process and its pool children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, sig)
        worker.wait(timeout=30)

    def pool_children(self, worker: subprocess.Popen[bytes]) -> list[int]:
        result = subprocess.run(
            ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in result.stdout.split()]

    def _web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):  # noqa: S310
                return True
        except OSError as exc:
            return getattr(exc, "code", None) == 503  # up, but says a service is down

    @staticmethod
    def _stop(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except PermissionError:
                process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    # --- database -------------------------------------------------------------------------
    def _create_database(self) -> None:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres://", "postgresql://")):
            return
        import psycopg

        name = f"skinsite_live_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._database = url.rsplit("/", 1)[0] + "/" + name

    def _drop_database(self) -> None:
        if not self._database:
            return
        import psycopg

        admin_url = os.environ["DATABASE_URL"]
        name = self._database.rsplit("/", 1)[1]
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._database = None
