"""The Celery app for LiveStack workers: the site's own app, tasks and settings, plus test hooks.

``celery -A testing.worker worker ...`` runs exactly what ``-A skinsite`` runs. In each
pool child (after the fork, like the site's own model loading) it wraps two functions:

* ``diagnosis.jobs.process_diagnosis``: every outcome is appended to
  ``$SKINSITE_TESTING_DIR/outcomes.log`` as ``<diagnosis id> <outcome> <pid>`` (or
  ``raised:<exception>`` when it raised, e.g. to retry), so a test can count how many times each
  job completed: exactly once means one ``succeeded`` line.
* ``diagnosis.inference.classify_image`` (runs after the job claimed its row): faults for tests,
  chosen by the e-mail of the diagnosis's owner, ``fault-<mode>.<anything>@...``:

  ``hold``   the first attempt writes the pool child's pid to ``$SKINSITE_TESTING_DIR/hold-<id>``
             and waits until the test creates ``release-<id>`` there (at most
             ``SKINSITE_FAULT_HOLD_SECONDS``, default 30; the soft time limit is ignored
             meanwhile), then classifies; later attempts run at once. Meanwhile the test queues
             more jobs, kills the child, restarts Redis...
  ``stall``  sleeps forever in Python: the soft time limit interrupts it.
  ``hang``   ignores the soft-time-limit signal, then sleeps forever, like a call stuck in C
             code: only the hard time limit ends it.
  ``crash``  the pool child kills itself with SIGKILL, every attempt.

``SKINSITE_FAULT_DELAY_SECONDS`` slows every classification down, so that a test can be sure to
kill a worker in the middle of a job. ``SKINSITE_TESTING_BROKER_PREFIX`` puts every broker key
under a prefix (a test on a shared Redis then never takes another run's messages). Without these
variables nothing but the outcome log changes.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

from celery.signals import worker_process_init

from skinsite.celery import app

__all__ = ["app"]

logger = logging.getLogger("testing.worker")

FAULT_EMAIL = re.compile(r"^fault-(?P<mode>[a-z]+)\.")
_current: dict[str, Any] = {}

if os.environ.get("SKINSITE_TESTING_BROKER_PREFIX"):
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "global_keyprefix": os.environ["SKINSITE_TESTING_BROKER_PREFIX"],
    }


def _testing_dir() -> Path:
    folder = Path(os.environ.get("SKINSITE_TESTING_DIR", "var/testing"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _append(line: str) -> None:
    # One short write with O_APPEND: lines from concurrent pool children never interleave.
    fd = os.open(_testing_dir() / "outcomes.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _fault_mode(diagnosis_id: int) -> str:
    from diagnosis.models import Diagnosis

    email = Diagnosis.objects.filter(pk=diagnosis_id).values_list("owner__email", flat=True).first()
    match = FAULT_EMAIL.match(email or "")
    return match.group("mode") if match else ""


def _sleep_forever() -> None:
    while True:
        time.sleep(1)


def _inject(diagnosis_id: int) -> None:
    delay = float(os.environ.get("SKINSITE_FAULT_DELAY_SECONDS", "0") or 0)
    if delay:
        time.sleep(delay)
    mode = _fault_mode(diagnosis_id)
    if not mode:
        return
    logger.warning("fault %s injected into diagnosis %s (pid %s)", mode, diagnosis_id, os.getpid())
    if mode == "hold":
        marker = _testing_dir() / f"hold-{diagnosis_id}"
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            release = _testing_dir() / f"release-{diagnosis_id}"
            deadline = time.monotonic() + float(os.environ.get("SKINSITE_FAULT_HOLD_SECONDS", "30"))
            # A hold is not a hang: the soft time limit must not cut it short (the hard limit
            # still would, so holds stay shorter than it).
            previous = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
            try:
                while not release.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                signal.signal(signal.SIGUSR1, previous)
    elif mode == "stall":
        _sleep_forever()
    elif mode == "hang":
        # Like a call stuck in C code, which never gives Python the chance to raise the soft
        # limit's exception. (Blocking the signal in this thread would not do: the process's
        # other threads, ONNX Runtime's, would still take it.)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        _sleep_forever()
    elif mode == "crash":
        os.kill(os.getpid(), signal.SIGKILL)


def install() -> None:
    """Wrap the job and the classification in this process (idempotent)."""
    from diagnosis import inference, jobs

    if getattr(jobs.process_diagnosis, "_skinsite_testing", False):
        return
    real_process = jobs.process_diagnosis
    real_classify = inference.classify_image

    def process_diagnosis(diagnosis_id: int, **kwargs: Any) -> Any:
        _current["id"] = diagnosis_id
        try:
            outcome = real_process(diagnosis_id, **kwargs)
        except BaseException as exc:
            _append(f"{diagnosis_id} raised:{type(exc).__name__} {os.getpid()}")
            raise
        finally:
            _current.pop("id", None)
        _append(f"{diagnosis_id} {outcome} {os.getpid()}")
        return outcome

    def classify_image(source: Any) -> Any:
        if "id" in _current:
            _inject(_current["id"])
        return real_classify(source)

    process_diagnosis._skinsite_testing = True  # type: ignore[attr-defined]
    jobs.process_diagnosis = process_diagnosis  # type: ignore[assignment]
    inference.classify_image = classify_image  # type: ignore[assignment]


@worker_process_init.connect
def _install_in_pool_child(**kwargs: Any) -> None:
    install()
