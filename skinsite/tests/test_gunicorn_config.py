"""Every gunicorn started from the repository root (make run, Docker, test and benchmark stacks)
runs the ``asgi`` worker from ``gunicorn.conf.py``; ``skinsite.asgi`` runs every view in a pool of
threads and holds only the result page's long poll on the event loop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = "skinsite.asgi:application"


def _effective(env: dict[str, str]) -> dict[str, str]:
    printed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", APP],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
        check=True,
    ).stdout  # fmt: skip
    pairs = (line.split("=", 1) for line in printed.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def test_gunicorn_runs_asgi_workers_from_the_repository_config():
    config = _effective({})
    assert config["config"] == "./gunicorn.conf.py"
    assert config["worker_class"] == "asgi"


def test_processes_come_from_the_environment():
    assert _effective({"WEB_CONCURRENCY": "3"})["workers"] == "3"


def test_idle_connections_outlive_the_proxy_and_the_status_polls():
    # Longer than nginx's and cloud load balancers' 60 s upstream idle timeout, and than the
    # status page's slowest poll (15 s); gunicorn's own default of 2 s raced both.
    assert int(_effective({})["keepalive"]) == 75
    assert _effective({"WEB_KEEPALIVE": "120"})["keepalive"] == "120"


def test_every_launcher_serves_the_asgi_application():
    # The asgi worker cannot serve the WSGI application: no launcher may name it.
    for name in ("Dockerfile", "docker-compose.yml", "skinsite/management/commands/run_site.py"):
        assert APP in (ROOT / name).read_text(), name
    skipped = {".venv", "var", "out", "node_modules", ".git", "__pycache__"}
    kinds = {".py", ".yml", ".yaml", ".toml", ".cfg", ""}
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in skipped]
        for name in files:
            path = Path(folder) / name
            if path.suffix in kinds and path != Path(__file__):
                assert "skinsite.wsgi:application" not in path.read_text(errors="replace"), path


def test_only_the_long_poll_may_be_held_and_every_view_runs_in_the_thread_pool():
    from diagnosis import push
    from skinsite import asgi

    some_id = "00000000-0000-0000-0000-000000000000"
    assert asgi.held_channel(f"/diagnosis/{some_id}/wait/") == push.channel(some_id)
    assert asgi.held_channel(f"/diagnosis/{some_id}/status/") is None
    assert asgi.held_channel("/diagnosis/") is None
    assert asgi.held_channel("/no/such/page/") is None
    assert asgi.sync_views.executor._max_workers == asgi.WEB_THREADS >= 2
