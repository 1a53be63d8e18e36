"""Fixtures of the diagnosis tests: a tiny model artifact, an active model, a fake broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded ten-class CNN at 64 px: fast to build and to run, never trained."""
    from testing.artifacts import build_tiny_artifact

    return build_tiny_artifact(tmp_path_factory.mktemp("artifacts") / "tiny-test-1")


@pytest.fixture
def active_model(
    db: None, tiny_artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """The tiny artifact (a private copy, so a test may damage it) registered and active."""
    import shutil

    from diagnosis import inference
    from mltrain.services import register_model_version

    copy = tmp_path / "artifacts" / tiny_artifact.name
    shutil.copytree(tiny_artifact, copy)
    # No model of an earlier test stays loaded (restored afterwards, for a worker thread).
    monkeypatch.setattr(inference, "_loaded", None)
    return register_model_version(artifact_dir=copy, activate=True)


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record what would be handed to the broker instead of publishing it."""
    from diagnosis import tasks

    calls: list[int] = []

    def fake_enqueue(diagnosis_id: int) -> bool:
        calls.append(diagnosis_id)
        return True

    monkeypatch.setattr(tasks, "enqueue_diagnosis", fake_enqueue)
    return calls


def use_current_broker() -> None:
    """Drop Celery's producer pool, so the next publish goes to the broker the settings and the
    environment name now.

    Celery makes the pool once per process, for the write URL and transport options of that
    moment; a test that points the producer elsewhere (a closed port, a key prefix) and back
    calls this after each change.
    """
    from kombu import pools

    from skinsite.celery import app

    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    # Celery takes its producer pool from kombu's registry, keyed by the connection: drop the
    # closed pools there too, or the next publish to the same broker gets a closed one back.
    pools.reset()


@pytest.fixture(autouse=True)
def _no_stray_publishing(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Outside integration tests, a publish that slipped through fails instead of leaving a
    message on the machine's real Redis for some later worker."""
    if request.node.get_closest_marker("integration") is None:
        monkeypatch.setenv("CELERY_BROKER_WRITE_URL", "redis://127.0.0.1:1/0")
    use_current_broker()
    yield
    use_current_broker()


@pytest.fixture
def broker() -> Iterator[str]:
    """The real Redis under a key prefix of this test only; every key is removed afterwards."""
    import uuid

    import redis

    from skinsite.celery import app

    url = app.conf.broker_url
    if not url.startswith("redis://"):
        pytest.skip(f"integration tests need a Redis broker, CELERY_BROKER_URL is {url!r}")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {url} is not reachable: {exc}")
    prefix = f"diagnosis-test-{uuid.uuid4().hex[:12]}:"
    saved = app.conf.broker_transport_options
    app.conf.broker_transport_options = {**saved, "global_keyprefix": prefix}
    use_current_broker()
    try:
        yield prefix
    finally:
        app.conf.broker_transport_options = saved
        use_current_broker()
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture
def needs_postgres() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(
            "a worker beside the test needs a database server (DATABASE_URL=postgres://...): "
            "SQLite's shared in-memory test database locks whole tables across threads"
        )


@pytest.fixture
def worker(broker: str, active_model: Any, needs_postgres: None) -> Iterator[Any]:
    """A real Celery worker thread (solo pool) consuming the inference queue."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from skinsite.celery import app

    def close_connections(**kwargs: Any) -> None:
        # The worker thread's own connections, so the test database can be dropped later.
        connections.close_all()

    task_postrun.connect(close_connections, weak=False)
    try:
        with start_worker(
            app, queues=["inference"], perform_ping_check=False, shutdown_timeout=30
        ) as running:
            yield running
    finally:
        task_postrun.disconnect(close_connections)


@pytest.fixture
def catalogue(db: None) -> dict[str, Any]:
    """The ten diseases loaded from the shipped catalogue, as ``disease_map()`` returns them."""
    from diseases.loader import load_diseases
    from diseases.lookup import disease_map

    load_diseases()
    return disease_map()


@pytest.fixture
def person(user_factory: Any) -> Any:
    return user_factory()


@pytest.fixture
def browser(client: Client, person: Any) -> Client:
    """The test client signed in as ``person``."""
    client.force_login(person)
    return client
