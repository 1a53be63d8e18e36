"""`make run`'s command starts Redis, a worker and the web server, and stops all of them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from testing.live_stack import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float, process: subprocess.Popen[str]) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"run_site exited early:\n{process.stdout.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return json.loads(response.read())
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def processes_mentioning(text: str) -> dict[int, str]:
    """Live processes whose command line contains ``text``, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it ended meanwhile
        if text in command:
            found[int(entry.name)] = command.strip()
    return found


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.integration
def test_run_site_serves_and_stops_every_process(tmp_path: Path) -> None:
    web_port, redis_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(SKINSITE_VAR_DIR=str(tmp_path), EMBEDDED_REDIS_PORT=str(redis_port))
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_site", "--port", str(web_port), "--web-workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        health = wait_for(f"http://127.0.0.1:{web_port}/healthz", timeout=120, process=process)
        assert health["database"] == "ok"
        assert health["broker"] == "ok"  # the Redis it started itself
        assert (tmp_path / "db.sqlite3").exists()
        assert port_open(redis_port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            output = ""  # a process that outlived run_site holds its output open; see below
            process.kill()
    leftovers = processes_mentioning(str(tmp_path))  # the worker's schedule, Redis's folder
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert leftovers == {}, f"processes outlived run_site: {leftovers}"
    assert "skinsite is running at" in output
    assert "printed in this terminal" in output
    assert "Traceback" not in output
    deadline = time.monotonic() + 20
    while (port_open(web_port) or port_open(redis_port)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not port_open(web_port), "the web server outlived run_site"
    assert not port_open(redis_port), "Redis outlived run_site"


#: run_site with its three children replaced by stubborn stand-ins: each ignores SIGTERM (so
#: the orderly stop is still waiting when the second signal comes) and forks a grandchild that
#: must die with it. The folder in argv[1] marks them for ``processes_mentioning``.
STUBBORN_SITE = """
import sys
import django
django.setup()
from django.core.management import call_command
from skinsite.management.commands import run_site

STUB = [sys.executable, "-c", (
    "import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); os.fork(); "
    "time.sleep(600)"
), sys.argv[1]]
run_site.Command._start_redis = lambda self: run_site._spawn(STUB)
run_site.Command._start_worker = lambda self: run_site._spawn(STUB)
run_site.Command._start_web = lambda self, *args: run_site._spawn(STUB)
call_command("run_site", "--skip-prepare")
"""


def test_a_second_sigterm_during_the_stop_ends_it_quietly_and_stops_every_child(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "DATABASE_URL"}}
    env.update(SKINSITE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="skinsite.settings")
    process = subprocess.Popen(
        [sys.executable, "-c", STUBBORN_SITE, str(tmp_path)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = []
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            output.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        # Redis, worker and web, each with its forked grandchild, and run_site itself.
        wait_until(
            lambda: len(processes_mentioning(str(tmp_path))) == 7, 60, "the stubs and their forks"
        )
        process.send_signal(signal.SIGTERM)
        for line in process.stdout:  # type: ignore[union-attr]
            output.append(line)
            if line.startswith("Stopping"):
                break
        process.send_signal(signal.SIGTERM)  # the children ignore the first: still stopping
        rest, _ = process.communicate(timeout=60)
        output.append(rest)
    finally:
        process.kill()
        leftovers = processes_mentioning(str(tmp_path))
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    text = "".join(output)
    assert leftovers == {}, f"processes outlived run_site: {leftovers}"
    assert "Stopping at once." in text
    assert "Traceback" not in text
    assert "KeyboardInterrupt" not in text
    assert process.returncode == 0, text


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str]]]:
    """The children run_site would start: their command lines and environments."""
    from skinsite.management.commands import run_site

    calls: list[tuple[list[str], dict[str, str]]] = []

    def record(command: list[str], **kwargs: Any) -> None:
        calls.append((command, kwargs.get("env") or {}))

    monkeypatch.setattr(run_site, "_spawn", record)
    return calls


def start_children() -> None:
    from skinsite.management.commands.run_site import Command

    command = Command()
    command._start_worker()
    command._start_web("127.0.0.1", 8000, 1)


def test_by_default_the_terminal_gets_no_request_log_banner_or_beat_lines(
    spawned: list[tuple[list[str], dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    start_children()
    (worker, worker_env), (web, web_env) = spawned
    assert "--quiet" in worker
    assert worker[worker.index("--loglevel") + 1] == "WARNING"
    assert "--access-logfile" not in web
    assert web[web.index("--log-level") + 1] == "warning"
    assert worker_env["LOG_LEVEL"] == web_env["LOG_LEVEL"] == "warning"


def test_log_level_info_brings_the_logs_back(
    spawned: list[tuple[list[str], dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "info")
    settings.LOG_LEVEL = "INFO"
    start_children()
    (worker, _), (web, web_env) = spawned
    assert "--quiet" not in worker
    assert worker[worker.index("--loglevel") + 1] == "INFO"
    assert web[web.index("--access-logfile") + 1] == "-"
    assert web_env["LOG_LEVEL"] == "info"


@pytest.mark.parametrize("root", [True, False])
def test_celerys_root_warning_is_filtered_only_for_root(
    spawned: list[tuple[list[str], dict[str, str]]], monkeypatch: pytest.MonkeyPatch, root: bool
) -> None:
    from skinsite.management.commands import run_site

    monkeypatch.setattr(run_site, "_running_as_root", lambda: root)
    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    start_children()
    (_worker, worker_env), (_web, web_env) = spawned
    filtered = run_site.ROOT_WARNING_FILTER in worker_env.get("PYTHONWARNINGS", "")
    assert filtered is root
    assert "PYTHONWARNINGS" not in web_env


def test_prepare_site_makes_a_private_media_folder_then_runs_every_step_in_order(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.management import call_command

    from skinsite.management.commands import prepare_site

    steps: list[str] = []
    monkeypatch.setattr(prepare_site, "call_command", lambda name, **_kwargs: steps.append(name))
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("prepare_site")
    assert steps == ["migrate", "collectstatic", "load_diseases", "ensure_default_model"]
    assert (tmp_path / "media").stat().st_mode & 0o777 == 0o700


#: run_site with stand-ins that note in argv[1] when they can take SIGTERM, when it reaches them
#: and when they leave, a moment later (as a worker finishing its job would).
LOGGING_SITE = """
import sys
import django
django.setup()
from django.core.management import call_command
from skinsite.management.commands import run_site

def stub(name):
    return run_site._spawn([sys.executable, "-c", (
        "import signal, sys, time\\n"
        "def stop(*_):\\n"
        "    open(sys.argv[1], 'a').write(sys.argv[2] + ' term\\\\n'); time.sleep(0.5)\\n"
        "    open(sys.argv[1], 'a').write(sys.argv[2] + ' exit\\\\n'); sys.exit(0)\\n"
        "signal.signal(signal.SIGTERM, stop)\\n"
        "open(sys.argv[1], 'a').write(sys.argv[2] + ' ready\\\\n')\\n"
        "time.sleep(600)"
    ), sys.argv[1], name])

run_site.Command._start_redis = lambda self: stub("redis")
run_site.Command._start_worker = lambda self: stub("worker")
run_site.Command._start_web = lambda self, *args: stub("web")
call_command("run_site", "--skip-prepare")
"""


def test_redis_is_stopped_only_after_the_web_server_and_the_worker_have_gone(
    tmp_path: Path,
) -> None:
    events = tmp_path / "events"
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "DATABASE_URL"}}
    env.update(SKINSITE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="skinsite.settings")
    process = subprocess.Popen(
        [sys.executable, "-c", LOGGING_SITE, str(events)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("Press Ctrl-C"):
                break
        wait_until(
            lambda: events.exists() and events.read_text().count(" ready") == 3, 60, "stand-ins"
        )
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        process.kill()
    lines = events.read_text().split("\n")
    assert {"web term", "web exit", "worker term", "worker exit", "redis term"} <= set(lines)
    assert lines.index("redis term") > max(lines.index("web exit"), lines.index("worker exit"))
    assert process.returncode == 0
