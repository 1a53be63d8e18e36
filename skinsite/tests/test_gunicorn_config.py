"""Every gunicorn started from the repository root (make run, Docker, test and benchmark stacks)
runs threaded workers from ``gunicorn.conf.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _effective(env: dict[str, str]) -> dict[str, str]:
    printed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "skinsite.wsgi:application"],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
        check=True,
    ).stdout  # fmt: skip
    pairs = (line.split("=", 1) for line in printed.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def test_gunicorn_runs_threaded_workers_from_the_repository_config():
    config = _effective({})
    assert config["config"] == "./gunicorn.conf.py"
    assert config["worker_class"] == "gthread"
    assert int(config["threads"]) >= 2


def test_threads_and_processes_come_from_the_environment():
    config = _effective({"WEB_THREADS": "7", "WEB_CONCURRENCY": "3"})
    assert (config["threads"], config["workers"]) == ("7", "3")


def test_idle_connections_outlive_the_proxy_and_the_status_polls():
    # Longer than nginx's and cloud load balancers' 60 s upstream idle timeout, and than the
    # status page's slowest poll (15 s); gunicorn's own default of 2 s raced both.
    assert int(_effective({})["keepalive"]) == 75
    assert _effective({"WEB_KEEPALIVE": "120"})["keepalive"] == "120"
