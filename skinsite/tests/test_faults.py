"""Faults against the real stack: workers killed, Redis restarted, jobs that hang or poison,
the database gone. Nothing may be lost, nothing may complete twice, nothing may loop forever.

One ``LiveStack`` for the module, with short Celery time limits (soft 3 s, hard 10 s; the
publisher's settings decide, as Celery puts them in each message), and one steady worker, killed
and restarted by the tests. Workers run ``testing.worker``: the site's own tasks, plus a
log of every job outcome (``stack.outcomes()``: how many times each diagnosis completed) and
faults chosen by the owner's e-mail: ``fault-hold.…`` holds its first attempt until the test
releases it (at most 8 s), ``fault-stall`` sleeps until the soft limit, ``fault-hang`` ignores the
soft limit, ``fault-crash`` kills its pool child. Every wait is bounded; a test that cannot
finish fails with what was left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from testing.live_stack import LiveStack, free_port, wait_until
from testing.photos import lesion_photo, shared_photos

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("keep_stack_logs_on_failure")]

SOFT_LIMIT, HARD_LIMIT = 3, 10
MAX_ATTEMPTS = 3
PASSWORD = "a-long-unusual-passphrase-42"


@pytest.fixture(scope="module")
def stack_options() -> dict[str, Any]:
    return {
        "workers": 0,  # the tests start, kill and restart their own
        "web_workers": 1,
        "extra_env": {
            "CELERY_TASK_SOFT_TIME_LIMIT": str(SOFT_LIMIT),
            "CELERY_TASK_TIME_LIMIT": str(HARD_LIMIT),
            "DIAGNOSIS_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "SKINSITE_FAULT_HOLD_SECONDS": "8",
        },
    }


class Fleet:
    """The module's one steady worker (replaced when a test kills it) and any helpers."""

    def __init__(self, stack: LiveStack) -> None:
        self.stack = stack
        self.steady: subprocess.Popen[bytes] | None = None

    def ensure_steady(self) -> subprocess.Popen[bytes]:
        if self.steady is None or self.steady.poll() is not None:
            self.steady = self.stack.start_worker()
            self.stack.wait_worker_ready(self.steady)
        return self.steady

    def restart_steady(self) -> subprocess.Popen[bytes]:
        self.steady = None
        return self.ensure_steady()


@pytest.fixture(scope="module")
def fleet(live_stack: LiveStack) -> Iterator[Fleet]:
    fleet = Fleet(live_stack)
    yield fleet
    if fleet.steady is not None:
        live_stack.kill_worker(fleet.steady)


@pytest.fixture
def worker(fleet: Fleet) -> subprocess.Popen[bytes]:
    """The steady worker, running and ready."""
    return fleet.ensure_steady()


@pytest.fixture(scope="module")
def photos() -> list[bytes]:
    real = shared_photos(4)
    if real:
        return [p.read_bytes() for p in real]
    return [lesion_photo((800, 600), seed=2 + i % 2) for i in range(4)]


def person(stack: LiveStack, kind: str = "person") -> str:
    """A new verified person; ``kind`` ``fault-<mode>`` makes their jobs misbehave."""
    email = f"{kind}.{uuid.uuid4().hex[:10]}@example.com"
    stack.create_users([email], PASSWORD)
    return email


def completions(stack: LiveStack, ids: list[int]) -> dict[int, Counter[str]]:
    """For each diagnosis, how many times each outcome was recorded by a worker."""
    wanted = set(ids)
    counts: dict[int, Counter[str]] = {pk: Counter() for pk in ids}
    for pk, outcome, _pid in stack.outcomes():
        if pk in wanted:
            counts[pk][outcome] += 1
    return counts


def assert_each_succeeded_exactly_once(stack: LiveStack, rows: list[dict[str, Any]]) -> None:
    not_ok = [
        (r["pk"], r["status"], r["failure_detail"]) for r in rows if r["status"] != "succeeded"
    ]
    assert not not_ok, f"not succeeded: {not_ok}"
    counts = completions(stack, [r["pk"] for r in rows])
    twice = {pk: dict(c) for pk, c in counts.items() if c["succeeded"] != 1}
    assert not twice, f"completed other than exactly once: {twice}"
    # A refused photo (not skin, too poor) names no condition; an answer names three.
    assert all(
        len(r["predictions"]) == (0 if r["outcome"] in ("not_skin", "poor_quality") else 3)
        for r in rows
    )


def hold_marker(stack: LiveStack, pk: int) -> int:
    """Wait for the held job's pool child to announce itself; returns its pid."""
    path = stack.testing_dir / f"hold-{pk}"
    return int(wait_until(lambda: path.exists() and path.read_text(), 90, "the held job"))


def release(stack: LiveStack, pk: int) -> None:
    (stack.testing_dir / f"release-{pk}").touch()


def sweep(stack: LiveStack, *, seconds_later: int) -> dict[str, int]:
    """Run the stale-job sweeper as it would run ``seconds_later`` from now (its clock is the
    only thing simulated: production runs it every minute from celery beat)."""
    out = stack.shell(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from diagnosis.tasks import requeue_stale_diagnoses\n"
        f"r = requeue_stale_diagnoses(now=timezone.now() + timedelta(seconds={seconds_later}))\n"
        "print(r['requeued'], r['failed'])\n"
    )
    requeued, failed = (int(v) for v in out.split())
    return {"requeued": requeued, "failed": failed}


def process_exists(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


# --- workers killed ----------------------------------------------------------------------------


def test_kill_9_of_the_whole_worker_with_50_jobs_queued_loses_none_and_runs_each_once(
    live_stack: LiveStack, fleet: Fleet, photos: list[bytes]
) -> None:
    stack = live_stack
    if fleet.steady is not None:
        stack.stop_worker(fleet.steady)
    # 50 jobs queued with no worker; the first one holds the worker's only pool child.
    held = stack.submit(person(stack, "fault-hold"), photos[:1])[0]
    others = stack.submit(person(stack), [photos[i % len(photos)] for i in range(49)])
    ids = [held, *others]
    assert stack.queue_length() == 50
    worker = fleet.restart_steady()
    child = hold_marker(stack, held)
    assert stack.rows([held])[0]["status"] == "running"
    assert stack.queue_length() == 49

    stack.kill_worker(worker)  # SIGKILL to the main process and its pool child at once
    # The kernel takes a moment to tear the child down once its parent is gone.
    wait_until(
        lambda: not process_exists(worker.pid) and not process_exists(child),
        10,
        "the killed worker and its pool child to disappear",
    )
    assert stack.queue_length() == 49, "the queued jobs are still in Redis"

    fleet.restart_steady()
    rows = stack.wait_finished(others, timeout=240)
    assert_each_succeeded_exactly_once(stack, rows)
    assert {r["attempts"] for r in rows} == {1}
    # The job the dead worker held is RUNNING with its message unacknowledged: the sweeper
    # re-enqueues it once it is older than the stale limit (simulated: an hour later).
    assert stack.rows([held])[0]["status"] == "running"
    assert sweep(stack, seconds_later=3600) == {"requeued": 1, "failed": 0}
    rows = stack.wait_finished(ids, timeout=120)
    assert_each_succeeded_exactly_once(stack, rows)
    assert stack.rows([held])[0]["attempts"] == 2  # the killed run and the one that finished
    wait_until(lambda: stack.queue_length() == 0, 30, "an empty queue")


def test_a_pool_child_killed_mid_task_gives_the_job_back_and_it_completes_once(
    live_stack: LiveStack, worker: subprocess.Popen[bytes], photos: list[bytes]
) -> None:
    stack = live_stack
    held = stack.submit(person(stack, "fault-hold"), photos[:1])[0]
    child = hold_marker(stack, held)
    after = stack.submit(person(stack), photos[:3])
    assert child in stack.pool_children(worker)
    assert stack.rows([held])[0]["status"] == "running"

    os.kill(child, signal.SIGKILL)  # only the pool child: the worker's main process lives on

    rows = stack.wait_finished([held, *after], timeout=120)
    assert_each_succeeded_exactly_once(stack, rows)
    assert rows[0]["attempts"] == 2, "redelivered (reject_on_worker_lost) and claimed again"
    assert worker.poll() is None
    assert child not in stack.pool_children(worker), "a fresh pool child replaced it"


# --- Redis restarted -------------------------------------------------------------------------


def test_redis_restarted_with_jobs_queued_the_worker_reconnects_and_every_job_finishes(
    live_stack: LiveStack, worker: subprocess.Popen[bytes], photos: list[bytes]
) -> None:
    stack = live_stack
    held = stack.submit(person(stack, "fault-hold"), photos[:1])[0]
    hold_marker(stack, held)  # the worker is busy: what comes next stays queued
    queued = stack.submit(person(stack), [photos[i % len(photos)] for i in range(20)])
    assert stack.queue_length() == 20
    log_before = len(stack.worker_log(worker))

    stack.restart_redis()
    assert stack.queue_length() == 20, "the append-only file kept the queue across the restart"
    release(stack, held)

    rows = stack.wait_finished([held, *queued], timeout=180)
    assert_each_succeeded_exactly_once(stack, rows)
    assert worker.poll() is None
    assert "Connection to broker lost" in stack.worker_log(worker)[log_before:], (
        "the worker saw Redis go away and reconnected"
    )
    wait_until(lambda: stack.queue_length() == 0, 30, "an empty queue")


# --- poison images --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "poison",
    [
        pytest.param(b"%PDF-1.4\n% not a photo at all\n", id="not-an-image"),
        pytest.param(lesion_photo((640, 480), seed=3)[:3000], id="truncated-jpeg"),
    ],
)
def test_a_poison_image_fails_once_and_is_not_retried(
    live_stack: LiveStack, worker: subprocess.Popen[bytes], photos: list[bytes], poison: bytes
) -> None:
    stack = live_stack
    # The validator would refuse it at upload, so it is swapped in after: the stored copy is
    # damaged before the job is enqueued, and only the worker meets it.
    bad = stack.submit(person(stack), photos[:1], replace_stored_with=poison)[0]
    good = stack.submit(person(stack), photos[1:2])

    bad_row, *good_rows = stack.wait_finished([bad, *good], timeout=120)
    assert_each_succeeded_exactly_once(stack, good_rows)
    assert bad_row["status"] == "failed"
    assert bad_row["failure_code"] == "image_unreadable"
    assert bad_row["attempts"] == 1
    # No retry waiting anywhere: not queued, not held back by the worker for later.
    wait_until(lambda: bad not in stack.pending_diagnoses(), 30, "no message left for it")
    assert dict(completions(stack, [bad])[bad]) == {"failed": 1}
    assert stack.rows([bad])[0]["attempts"] == 1


def test_an_image_that_kills_its_worker_every_time_fails_after_the_attempt_limit(
    live_stack: LiveStack, worker: subprocess.Popen[bytes], photos: list[bytes]
) -> None:
    stack = live_stack
    crashing = stack.submit(person(stack, "fault-crash"), photos[:1])[0]
    after = stack.submit(person(stack), photos[1:3])

    rows = stack.wait_finished([crashing, *after], timeout=180)
    assert_each_succeeded_exactly_once(stack, rows[1:])
    assert rows[0]["status"] == "failed"
    assert rows[0]["failure_code"] == "too_many_attempts"
    assert rows[0]["attempts"] == MAX_ATTEMPTS
    assert completions(stack, [crashing])[crashing]["succeeded"] == 0
    assert worker.poll() is None, "the worker survived its pool children dying"
    wait_until(lambda: stack.queue_length() == 0, 30, "an empty queue")


# --- jobs that hang --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def helper_worker(live_stack: LiveStack, fleet: Fleet) -> Iterator[subprocess.Popen[bytes]]:
    """A second worker beside the steady one: the other jobs run there while one job hangs."""
    fleet.ensure_steady()
    helper = live_stack.start_worker()
    live_stack.wait_worker_ready(helper)
    yield helper
    live_stack.kill_worker(helper)


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param("stall", id="stuck-in-python-the-soft-limit-interrupts-it"),
        pytest.param("hang", id="stuck-past-the-soft-limit-until-the-hard-limit"),
    ],
)
def test_a_hanging_job_fails_at_its_time_limit_with_a_clear_message_while_others_complete(
    live_stack: LiveStack,
    fleet: Fleet,
    helper_worker: subprocess.Popen[bytes],
    photos: list[bytes],
    mode: str,
) -> None:
    stack = live_stack
    hanging = stack.submit(person(stack, f"fault-{mode}"), photos[:1])[0]
    wait_until(lambda: stack.rows([hanging])[0]["status"] == "running", 60, "the hanging job")
    others = stack.submit(person(stack), [photos[i % len(photos)] for i in range(6)])

    rows = stack.wait_finished(others, timeout=120)
    assert_each_succeeded_exactly_once(stack, rows)
    # Soft limit: the task is interrupted, retried with backoff, and fails after the last
    # attempt. Hard limit: the pool child is killed; the job must not stay "running".
    bound = MAX_ATTEMPTS * (HARD_LIMIT + 10)
    try:
        row = stack.wait_finished([hanging], timeout=bound)[0]
    except TimeoutError as exc:
        row = stack.rows([hanging])[0]
        pytest.fail(
            f"the hanging job is still {row['status']} (attempts {row['attempts']}) "
            f"{bound} s after it started: nothing failed it at its time limit ({exc})"
        )
    assert row["status"] == "failed"
    assert row["failure_code"] == "timed_out", row
    assert row["attempts"] <= MAX_ATTEMPTS
    assert completions(stack, [hanging])[hanging]["succeeded"] == 0
    message = stack.shell(
        "from diagnosis.models import Diagnosis\n"
        f"print(Diagnosis.objects.get(pk={hanging}).failure_message)"
    )
    assert "took too long" in message
    assert fleet.steady is not None and fleet.steady.poll() is None
    assert helper_worker.poll() is None


# --- the database is gone --------------------------------------------------------------------


def test_with_postgresql_unavailable_the_site_answers_503_pages_not_tracebacks(
    live_stack: LiveStack,
) -> None:
    closed = free_port()
    process, url = live_stack.start_extra_web(
        {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/skinsite"}
    )
    try:
        health = requests.get(f"{url}/healthz", timeout=30)
        assert health.status_code == 503
        assert health.json()["database"] == "down"

        session = requests.Session()
        session.cookies.set("sessionid", uuid.uuid4().hex)  # a signed-in person's next request
        for path in ("/", "/diseases/", "/diagnosis/", "/accounts/login/"):
            response = session.get(url + path, timeout=30, allow_redirects=False)
            body = response.text
            assert response.status_code == 503, (path, response.status_code, body[:500])
            assert response.headers["Content-Type"].startswith("text/html")
            assert response.headers.get("Retry-After")
            assert "temporarily unavailable" in body
            for leak in ("Traceback", "OperationalError", "psycopg", str(closed)):
                assert leak not in body, f"{path} shows {leak!r}"
    finally:
        live_stack.stop_worker(process)  # the same group stop works for a web server
    assert process.poll() is not None
    log = "".join(p.read_text(errors="replace") for p in live_stack.folder.glob("web-extra-*"))
    assert "OperationalError" in log, "the operator's log keeps the cause"
    # The stack's own web server, on the real database, is untouched.
    assert requests.get(f"{live_stack.url}/healthz", timeout=30).status_code == 200
