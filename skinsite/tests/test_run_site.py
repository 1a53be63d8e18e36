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

import pytest

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
    deadline = time.monotonic() + 20
    while (port_open(web_port) or port_open(redis_port)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not port_open(web_port), "the web server outlived run_site"
    assert not port_open(redis_port), "Redis outlived run_site"
