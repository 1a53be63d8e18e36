"""Run the real site in subprocesses: a private Redis, gunicorn and Celery workers.

Used by the browser, fault and load tests and by the end-to-end benchmark. Every process listens
on loopback only, on free ports, and the whole stack is torn down by ``close()`` (or the context
manager), so nothing outlives a test. The database is a fresh PostgreSQL database on the server
named by ``DATABASE_URL`` (dropped afterwards), or an SQLite file in the stack's folder.

Django code runs in the stack through ``shell(code)``: one long-lived process
(``testing.shell_server``) answers every call, because each Django start costs seconds.
Workers run ``testing.worker`` by default: the site's Celery app plus an outcome log and
opt-in faults (see that module), so tests can count completions per job.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testing.shell_client import ShellClient, ShellError
from testing.site_data import SiteData

__all__ = [
    "LiveStack",
    "ShellError",
    "free_port",
    "port_open",
    "rss_kib",
    "start_celery_worker",
    "wait_until",
]

ROOT = Path(__file__).resolve().parents[1]

#: Everything a fresh stack needs before it serves, in one Django process.
PREPARE = """
from pathlib import Path
from django.core.management import call_command, get_commands
call_command("migrate", interactive=False, verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
if "load_diseases" in get_commands():
    call_command("load_diseases", verbosity=0)
if {model!r} != "none":
    from testing.artifacts import ensure_active_model
    print(ensure_active_model(Path({models_dir!r}), prefer={model!r}).version)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); TimeoutError after."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready within {timeout} s")
        time.sleep(interval)


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process in KiB (``VmRSS``), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def start_celery_worker(
    app: str, *, queues: str, concurrency: int, env: dict[str, str], log: Path, name: str
) -> subprocess.Popen[bytes]:
    """``celery -A app worker`` (prefork) in a process group of its own, logging to ``log``:
    how every test and benchmark runs a worker process (``app="testing.worker"`` for the
    instrumented one, ``"skinsite"`` for the site's own)."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", app, "worker", "--pool", "prefork",
            "--queues", queues, "--concurrency", str(concurrency), "--loglevel", "INFO",
            "--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h", "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _redis_binary() -> str:
    from skinsite.management.commands.run_site import find_redis_server

    return find_redis_server()


@dataclass
class LiveStack(SiteData):
    """A whole skinsite on loopback. Call ``start()``; then ``url``, ``shell()``, faults.

    ``model``: ``"default"`` activates the shipped default model (a tiny test model when none is
    shipped yet), ``"tiny"`` always the tiny test model, ``"none"`` no model at all.
    ``database_url``: the PostgreSQL server (any database on it) where the stack creates and
    drops its own database; ``DATABASE_URL`` by default, SQLite when it is not PostgreSQL.
    ``drop_env``: variables of the caller's environment the stack must not inherit.
    """

    folder: Path
    workers: int = 1
    web_workers: int = 2
    worker_concurrency: int = 1
    worker_app: str = "testing.worker"
    model: str = "default"
    extra_env: dict[str, str] = field(default_factory=dict)
    database_url: str = field(default_factory=lambda: os.environ.get("DATABASE_URL", ""))
    drop_env: tuple[str, ...] = ()
    redis_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    redis: subprocess.Popen[bytes] | None = None
    web: subprocess.Popen[bytes] | None = None
    worker_procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    extra_webs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    worker_logs: dict[int, Path] = field(default_factory=dict)
    active_model: str = ""
    _database: str | None = None
    _shell: ShellClient | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self, *, activate_default_model: bool = True) -> LiveStack:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.testing_dir.mkdir(exist_ok=True)
        self._create_database()
        self.start_redis()
        model = self.model if activate_default_model else "none"
        out = self.shell(
            PREPARE.format(model=model, models_dir=str(self.folder / "models")), timeout=900
        )
        self.active_model = out.strip().splitlines()[-1] if out.strip() else ""
        for _ in range(self.workers):
            self.start_worker()
        self.start_web()
        return self

    def close(self) -> None:
        running = [p for p in [self.web, *self.extra_webs, *self.worker_procs] if p is not None]
        # Stopped side by side: each may take a few seconds to shut down warm.
        threads = [threading.Thread(target=self._stop, args=(p,)) for p in running]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        if self._shell is not None:
            self._shell.close()
            self._shell = None
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
    def testing_dir(self) -> Path:
        """Where the instrumented workers write their outcome log and fault markers."""
        return self.folder / "testing"

    @property
    def mail_dir(self) -> Path:
        return self.folder / "mail"

    @property
    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
        env = {
            **keep,
            "DJANGO_SETTINGS_MODULE": "skinsite.settings",
            "SKINSITE_VAR_DIR": str(self.folder),
            "SKINSITE_TESTING_DIR": str(self.testing_dir),
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CACHE_URL": f"redis://127.0.0.1:{self.redis_port}/1",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("MEDIA_ROOT", "MODELS_DIR", "STATIC_ROOT", "CELERY_BROKER_WRITE_URL"):
            env.pop(name, None)  # the stack's own folders and broker, never the caller's
        for name in self.drop_env:
            env.pop(name, None)
        if self._database:
            env["DATABASE_URL"] = self._database
        else:
            env.pop("DATABASE_URL", None)
        env.update(self.extra_env)
        return env

    def manage(self, *args: str, timeout: float = 300) -> str:
        """Run a management command in a new process (see ``call_command`` for a fast one)."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
        return result.stdout

    def shell(self, code: str, timeout: float = 120) -> str:
        """Run Python with Django set up in the stack's environment; returns what it printed."""
        if self._shell is None or not self._shell.alive:
            self._shell = ShellClient(self.env, self.folder / "shell.log")
        return self._shell.run(code, timeout)

    def call_command(self, *args: str, timeout: float = 120) -> str:
        """A management command run by the stack's shell process (no new Django start)."""
        return self.shell(
            f"from django.core.management import call_command\ncall_command(*{list(args)!r})",
            timeout=timeout,
        )

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
            stdout=(self.folder / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: port_open(self.redis_port), 15, "redis")

    def stop_redis(self) -> None:
        if self.redis is not None:
            self._stop(self.redis)
            self.redis = None

    def restart_redis(self) -> None:
        """Stop Redis (SIGTERM: it writes its append-only file) and start it on the same port."""
        self.stop_redis()
        self.start_redis()

    def redis_client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.redis_port, db=db, socket_timeout=5)

    def queue_length(self, name: str = "inference") -> int:
        """Messages waiting in a Celery queue (every priority list of it)."""
        client = self.redis_client()
        try:
            keys = [name, *(k.decode() for k in client.scan_iter(match=f"{name}\x06\x16*"))]
            return sum(int(client.llen(key)) for key in keys)
        finally:
            client.close()

        """Messages delivered to a worker and not acknowledged yet."""
        client = self.redis_client()
        try:
            return int(client.hlen("unacked"))
        finally:
            client.close()

    # --- workers --------------------------------------------------------------------------
    def start_worker(
        self,
        *,
        concurrency: int | None = None,
        queues: str = "inference,default,maintenance",
        env: dict[str, str] | None = None,
        app: str | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a Celery worker (prefork) in its own process group; ``env`` adds variables."""
        index = len(self.worker_procs)
        log_path = self.folder / f"worker-{index}.log"
        worker = start_celery_worker(
            app or self.worker_app,
            queues=queues,
            concurrency=concurrency or self.worker_concurrency,
            env={**self.env, **(env or {})},
            log=log_path,
            name=f"w{index}",
        )
        self.worker_procs.append(worker)
        self.worker_logs[worker.pid] = log_path
        return worker

    def worker_log(self, worker: subprocess.Popen[bytes]) -> str:
        return self.worker_logs[worker.pid].read_text(errors="replace")

    def wait_worker_ready(self, worker: subprocess.Popen[bytes], timeout: float = 180) -> None:
        """Wait for Celery's "ready." line (it consumes from then on)."""

        def ready() -> bool:
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.worker_log(worker)[-4000:]}")
            return " ready." in self.worker_log(worker)

        wait_until(ready, timeout, "celery worker", interval=0.5)

    def stop_worker(self, worker: subprocess.Popen[bytes]) -> None:
        """A warm shutdown (SIGTERM to the group), SIGKILL when it takes too long."""
        self._stop(worker)

    def kill_worker(self, worker: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Kill a whole worker: its process group and its pool children, which billiard may
        have put in process groups of their own (they would outlive ``killpg`` alone)."""
        children = self.pool_children(worker)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, sig)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, sig)
        worker.wait(timeout=30)

    def pool_children(self, worker: subprocess.Popen[bytes]) -> list[int]:
        result = subprocess.run(
            ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in result.stdout.split()]

    def outcomes(self) -> list[tuple[int, str, int]]:
        """``(diagnosis id, outcome, pid)`` for every job an instrumented worker ran."""
        path = self.testing_dir / "outcomes.log"
        if not path.exists():
            return []
        rows = []
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                rows.append((int(parts[0]), parts[1], int(parts[2])))
        return rows

    # --- web ------------------------------------------------------------------------------
    def start_web(self) -> None:
        self.web = self._gunicorn(self.web_port, self.web_workers, self.env, "web.log")
        wait_until(lambda: self._answers(self.url), 180, "web server", interval=0.5)

    def start_extra_web(
        self, env: dict[str, str], *, workers: int = 1
    ) -> tuple[subprocess.Popen[bytes], str]:
        """Another web server on the stack's environment with ``env`` on top (for faults)."""
        port = free_port()
        name = f"web-extra-{len(self.extra_webs)}.log"
        process = self._gunicorn(port, workers, {**self.env, **env}, name)
        self.extra_webs.append(process)
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if process.poll() is not None:
                log = (self.folder / name).read_text(errors="replace")
                raise RuntimeError(f"web server exited:\n{log[-4000:]}")
            return self._answers(url)

        wait_until(up, 180, "extra web server", interval=0.5)
        return process, url

    def _gunicorn(
        self, port: int, workers: int, env: dict[str, str], log_name: str
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "skinsite.asgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=env,
            stdout=(self.folder / log_name).open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5):  # noqa: S310
                return True
        except OSError as exc:
            return getattr(exc, "code", None) == 503  # up, but says a service is down

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM to the group (a warm shutdown), then SIGKILL to it and its children."""
        if process.poll() is not None:
            return
        children = self.pool_children(process)
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
        for child in children:  # never leave an orphan running a job
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)

    # --- database -------------------------------------------------------------------------
    @property
    def database(self) -> str:
        """Which database the stack uses, in words (for reports)."""
        if self._database:
            return "PostgreSQL (a new database, dropped afterwards)"
        return "SQLite (in the stack's folder)"

    def _create_database(self) -> None:
        url = self.database_url
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

        name = self._database.rsplit("/", 1)[1]
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._database = None
