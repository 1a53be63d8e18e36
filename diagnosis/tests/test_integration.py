"""End to end with a real Celery worker on the real Redis and the real database.

The in-process worker (``start_worker``, solo pool) serves the happy path and the faults that
need no process to die; the ``kill -9`` tests run the instrumented worker ``testing.worker`` in a
process of its own, as the live stack does (``testing.live_stack.start_celery_worker``).
Every test uses a fresh broker key prefix, so no message from or to any other run is touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from diagnosis import services, tasks
from diagnosis.models import Diagnosis
from diagnosis.tests import images
from diagnosis.tests.conftest import use_current_broker
from testing.live_stack import start_celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
SHARED_PHOTO = REPO.parent / "shared" / "data" / "skin10" / "2. Melanoma" / "ham_ISIC_0024310.jpg"
Status = Diagnosis.Status


def wait_for(check: Callable[[], Any], *, timeout: float = 60, what: str = "") -> Any:
    """Poll until ``check()`` is truthy; fail (not hang) when it never becomes so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what or check}")


def finished(pk: int) -> Callable[[], Diagnosis | None]:
    def check() -> Diagnosis | None:
        row = Diagnosis.objects.get(pk=pk)
        return row if row.is_finished else None

    return check


def real_jpeg() -> bytes:
    """A real photo from skin10 when ../shared is there, else a synthetic JPEG."""
    return SHARED_PHOTO.read_bytes() if SHARED_PHOTO.is_file() else images.jpeg((600, 450))


@pytest.fixture
def browser(client: Client, user_factory: Any) -> Client:
    from diseases.loader import load_diseases

    load_diseases()
    client.force_login(user_factory())
    return client


def test_an_uploaded_photo_is_classified_and_shown_on_the_result_page_and_in_the_history(
    worker: Any, browser: Client
) -> None:
    from diseases.lookup import disease_map

    upload = SimpleUploadedFile("lesion.jpg", real_jpeg(), content_type="image/jpeg")
    response = browser.post(reverse("diagnosis:upload"), {"image": upload})
    assert response.status_code == 302

    row = wait_for(finished(Diagnosis.objects.get().pk), what="the diagnosis to finish")

    assert row.status == Status.SUCCEEDED, row.failure_detail
    probabilities = [p["probability"] for p in row.predictions]
    assert len(probabilities) == 3
    assert all(0 < p <= 1 for p in probabilities)
    assert sum(probabilities) <= 1 + 1e-6
    assert row.attempts == 1 and row.model_version == "tiny-test-1"
    name = disease_map()[row.top_class].name("en")
    assert name in browser.get(response.url).content.decode()
    status = browser.get(reverse("diagnosis:status", args=[row.public_id])).json()
    assert status["finished"] is True and name in status["html"]
    history = browser.get(reverse("diagnosis:history")).content.decode()
    assert str(row.public_id) in history and name in history


def test_a_duplicate_delivery_does_nothing(
    worker: Any, broker: str, user_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from diagnosis.tasks import classify_diagnosis
    from skinsite.celery import app

    monkeypatch.setattr(tasks, "enqueue_diagnosis", lambda pk: True)  # publish by hand below
    row = services.submit_diagnosis(user=user_factory(), upload=real_jpeg())
    with app.connection_for_write() as conn:
        for _ in range(2):
            classify_diagnosis.apply_async((row.pk,), queue="inference", connection=conn)

    done = wait_for(finished(row.pk), what="the diagnosis to finish")
    client = redis.Redis.from_url(app.conf.broker_url)
    wait_for(
        lambda: client.llen(f"{broker}inference") == 0 and client.hlen(f"{broker}unacked") == 0,
        what="both messages to be consumed",
    )
    again = Diagnosis.objects.get(pk=row.pk)
    assert again.status == Status.SUCCEEDED
    assert again.attempts == 1
    assert (again.finished_at, again.predictions) == (done.finished_at, done.predictions)


@pytest.fixture(params=["missing", "corrupt"])
def damaged_model(
    request: pytest.FixtureRequest, active_model: Any
) -> Iterator[Callable[[], None]]:
    """The active model's file is gone or truncated before the worker ever loads it."""
    onnx = Path(active_model.path) / "model.onnx"
    good = onnx.read_bytes()
    if request.param == "missing":
        onnx.unlink()
    else:
        onnx.write_bytes(good[: len(good) // 3])
    yield lambda: onnx.write_bytes(good)


def test_a_missing_or_corrupt_model_fails_with_a_clear_reason_and_the_worker_keeps_serving(
    damaged_model: Callable[[], None], worker: Any, browser: Client
) -> None:
    browser.post(reverse("diagnosis:upload"), {"image": SimpleUploadedFile("a.jpg", real_jpeg())})
    failed = wait_for(finished(Diagnosis.objects.get().pk), what="the first diagnosis")
    assert failed.status == Status.FAILED
    assert failed.failure_code == Diagnosis.FailureCode.MODEL_UNUSABLE
    page = browser.get(reverse("diagnosis:detail", args=[failed.public_id])).content.decode()
    assert "model could not be loaded" in page

    damaged_model()  # the operator puts the file back; the same worker picks it up
    browser.post(reverse("diagnosis:upload"), {"image": SimpleUploadedFile("b.jpg", real_jpeg())})
    second = Diagnosis.objects.exclude(pk=failed.pk).get()
    assert wait_for(finished(second.pk), what="the second diagnosis").status == Status.SUCCEEDED


def test_with_redis_down_the_photo_waits_as_queued_and_completes_after_the_sweeper(
    worker: Any, browser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the producer is pointed at a closed port; the worker keeps its connection.
    monkeypatch.setenv("CELERY_BROKER_WRITE_URL", "redis://127.0.0.1:1/0")
    use_current_broker()
    response = browser.post(
        reverse("diagnosis:upload"), {"image": SimpleUploadedFile("a.jpg", real_jpeg())}
    )
    row = Diagnosis.objects.get()
    assert response.status_code == 302
    assert row.status == Status.QUEUED and row.enqueued_at is None
    page = browser.get(response.url).content.decode()
    assert "will be checked as soon as it is back" in page

    assert tasks.requeue_stale_diagnoses()["requeued"] == 0  # still down: nothing changes
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL")
    use_current_broker()
    assert tasks.requeue_stale_diagnoses()["requeued"] == 1

    done = wait_for(finished(row.pk), what="the diagnosis after the sweep")
    assert done.status == Status.SUCCEEDED and done.attempts == 1


# --- worker processes killed with SIGKILL -------------------------------------------------------


class WorkerProcess:
    """``testing.worker`` (prefork, one child) on the test's broker prefix and database; a job
    whose owner is ``HOLD_EMAIL`` holds on its first attempt, its child's pid in
    ``hold-<id>`` under ``testing_dir``."""

    def __init__(self, *, broker: str, log: Path, testing_dir: Path) -> None:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
            "CACHE_URL": "locmem://",
            "SECRET_KEY": "integration-test-only",
            "SKINSITE_TESTING_BROKER_PREFIX": broker,
            "SKINSITE_TESTING_DIR": str(testing_dir),
            "SKINSITE_FAULT_HOLD_SECONDS": "120",
            "INFERENCE_THREADS": "1",
        }
        env.pop("CELERY_BROKER_WRITE_URL", None)
        self.log = log
        self.process = start_celery_worker(
            "testing.worker", queues="inference", concurrency=1, env=env, log=log, name="diagnosis"
        )

    def kill_all(self) -> None:
        """SIGKILL the worker and its pool child at once (the machine lost the worker)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def spawn(
    broker: str, active_model: Any, needs_postgres: None, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        worker = WorkerProcess(broker=broker, log=log, testing_dir=tmp_path / "testing")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


#: Owner of a diagnosis whose first classification holds until its worker is killed
#: (``testing.worker``'s ``hold`` fault).
HOLD_EMAIL = "fault-hold.integration@example.com"


def queued_row(user_factory: Any, email: str | None = None) -> Diagnosis:
    """Submitted and published the normal way, to the test's broker prefix."""
    return services.submit_diagnosis(user=user_factory(email=email), upload=real_jpeg())


def held(row: Diagnosis, tmp_path: Path) -> Callable[[], str | bool]:
    """The pid of the pool child holding ``row``, once it holds it."""
    marker = tmp_path / "testing" / f"hold-{row.pk}"
    return lambda: marker.exists() and marker.read_text()


def test_a_pool_child_killed_mid_task_is_replaced_and_the_diagnosis_completes_once(
    spawn: Callable[..., WorkerProcess], user_factory: Any, tmp_path: Path
) -> None:
    worker = spawn()
    row = queued_row(user_factory, HOLD_EMAIL)

    child = int(wait_for(held(row, tmp_path), what="the task to start"))
    assert Diagnosis.objects.get(pk=row.pk).status == Status.RUNNING
    os.kill(child, signal.SIGKILL)

    done = wait_for(finished(row.pk), timeout=90, what="the redelivered task")
    assert done.status == Status.SUCCEEDED, worker.output()
    assert done.attempts == 2  # the killed run and the one that finished: no third


def test_a_whole_worker_killed_mid_task_completes_once_on_a_new_worker_after_the_sweep(
    spawn: Callable[..., WorkerProcess], user_factory: Any, tmp_path: Path
) -> None:
    first = spawn()
    row = queued_row(user_factory, HOLD_EMAIL)
    wait_for(held(row, tmp_path), what="the task to start")
    first.kill_all()
    assert Diagnosis.objects.get(pk=row.pk).status == Status.RUNNING

    second = spawn()
    # Later than the stale limit: the sweeper sees the dead worker's job and re-enqueues it.
    later = timezone.now() + timedelta(hours=1)
    assert tasks.requeue_stale_diagnoses(now=later)["requeued"] == 1

    done = wait_for(finished(row.pk), timeout=90, what="the swept task")
    assert done.status == Status.SUCCEEDED, second.output()
    assert done.attempts == 2
