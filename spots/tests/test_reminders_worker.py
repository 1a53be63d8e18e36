"""Reminders with a real Celery worker on the real Redis: one e-mail per due date, however
often beat fires and even across a worker restart (PostgreSQL: the worker is a thread beside
the test)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from spots import reminders, services
from spots.models import Spot

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TASK = "spots.tasks.send_due_reminders"


@pytest.fixture
def runs() -> Iterator[list[str]]:
    """Names of the tasks the worker finished, in order."""
    from celery.signals import task_postrun
    from django.db import connections

    done: list[str] = []
    lock = threading.Lock()

    def finished(sender: Any = None, **kwargs: Any) -> None:
        connections.close_all()  # the worker thread's own, so the test database can go
        with lock:
            done.append(sender.name)

    task_postrun.connect(finished, weak=False)
    try:
        yield done
    finally:
        task_postrun.disconnect(finished)


def worker() -> Any:
    from celery.contrib.testing.worker import start_worker

    from skinsite.celery import app

    return start_worker(app, queues=["maintenance"], perform_ping_check=False, shutdown_timeout=30)


def beat(runs: list[str], times: int) -> None:
    """Send the task as beat would, ``times`` times, and wait until the worker ran them all."""
    from spots.tasks import send_due_reminders

    expected = runs.count(TASK) + times
    for _ in range(times):
        send_due_reminders.delay()
    deadline = time.monotonic() + 60
    while runs.count(TASK) < expected:
        assert time.monotonic() < deadline, "the worker did not run the reminders in time"
        time.sleep(0.05)


def test_one_email_per_due_date_across_beats_and_a_worker_restart(
    broker: str, needs_postgres: None, runs: list[str], user_factory: Any
) -> None:
    spot = services.create_spot(user=user_factory(), name="mole", region="back")
    reminders.set_reminder(spot=spot, weeks=4, now=timezone.now() - timedelta(weeks=5))

    with worker():
        beat(runs, 3)
    assert len(mail.outbox) == 1

    with worker():  # a restarted worker, beat firing again
        beat(runs, 2)
    assert len(mail.outbox) == 1
    spot.refresh_from_db()
    assert spot.next_reminder_at is not None
    assert spot.next_reminder_at > timezone.now() + timedelta(weeks=3)

    # The next due date (moved into the past instead of waiting four weeks) sends the next one.
    Spot.objects.filter(pk=spot.pk).update(next_reminder_at=timezone.now() - timedelta(hours=1))
    with worker():
        beat(runs, 2)
    assert len(mail.outbox) == 2


# A real ``celery beat`` process: the project's schedule, except that the reminders entry fires
# twice a second (hourly in production), and the broker keys carry this test's prefix.
BEAT = """
import sys
from skinsite.celery import app
prefix, schedule_file = sys.argv[1], sys.argv[2]
options = app.conf.broker_transport_options
app.conf.broker_transport_options = {**options, "global_keyprefix": prefix}
app.conf.beat_schedule = {
    "send-due-reminders": {"task": "spots.tasks.send_due_reminders", "schedule": 0.5},
}
app.Beat(schedule=schedule_file, loglevel="WARNING", quiet=True).run()
"""


def test_a_real_beat_process_sends_one_email_per_due_date(
    broker: str, needs_postgres: None, runs: list[str], user_factory: Any, tmp_path: Path
) -> None:
    spot = services.create_spot(user=user_factory(), name="mole", region="back")
    reminders.set_reminder(spot=spot, weeks=4, now=timezone.now() - timedelta(weeks=5))
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-c", BEAT, broker, str(tmp_path / "beat-schedule")]
    with worker():
        beat_process = subprocess.Popen(command, cwd=root, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while runs.count(TASK) < 4:
                if beat_process.poll() is not None:
                    pytest.fail(f"celery beat stopped: {beat_process.stderr.read()}")
                assert time.monotonic() < deadline, "beat's reminders did not run in time"
                time.sleep(0.05)
        finally:
            beat_process.terminate()
            beat_process.wait(timeout=20)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [spot.owner.email]
