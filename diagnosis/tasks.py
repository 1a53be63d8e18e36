"""Celery entry points, and the sending of them. The tasks take primary keys, call the worker's
side in ``diagnosis.jobs`` and leave retries to Celery; the row holds the job's state.

``enqueue_diagnosis`` is the one place a diagnosis is handed to the broker: after the upload's
commit (``diagnosis.services``) and from the sweeper task. ``diagnosis.jobs`` never publishes.

Delivery guarantees come from the project's Celery settings (``skinsite/settings.py``):
``acks_late`` with ``reject_on_worker_lost`` (a pool child killed mid-task gives its message
back, and the redelivery may claim the RUNNING row again), prefetch 1, soft and hard time
limits, and a broker visibility timeout above the hard limit. The attempt counter on the row
stops a photo that kills its worker every time from looping.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure, worker_process_init
from django.db import DatabaseError
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from diagnosis import jobs
from skinsite.queues import Queue

logger = logging.getLogger(__name__)

#: What publishing a task raises when the broker is down or unreachable.
BROKER_ERRORS = (KombuError, RedisError, OSError)
MAX_RETRIES = 3
#: The longest a publish waits for a free producer of the pool (``broker_pool_limit``).
PRODUCER_TIMEOUT_SECONDS = 5


@shared_task(
    bind=True,
    name="diagnosis.tasks.classify_diagnosis",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # Transient errors only: ``RetryLater`` (the job released its row) and those raised before
    # a claim (the database blinked). Waits of 2, 4, 8 s at most (full jitter), capped at a
    # minute; after the last retry the error is raised.
    autoretry_for=(jobs.RetryLater, *jobs.TRANSIENT_ERRORS),
    max_retries=MAX_RETRIES,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
)
def classify_diagnosis(self: Task, diagnosis_id: int) -> str:
    """Classify one queued diagnosis (routed to the ``inference`` queue)."""
    request = self.request
    delivery = request.delivery_info or {}
    # A redelivered message (its worker died) or our own retry may find the row RUNNING under
    # a claim that will never finish; a first delivery must not take a RUNNING row.
    redelivered = bool(delivery.get("redelivered")) or request.retries > 0
    # On the last try the job fails the row with a reason instead of asking for a retry.
    may_retry = request.retries < MAX_RETRIES
    return jobs.process_diagnosis(diagnosis_id, redelivered=redelivered, may_retry=may_retry)


def enqueue_diagnosis(diagnosis_id: int) -> bool:
    """Hand the job to the broker; False (and ``enqueued_at`` cleared) when it is down."""
    try:
        # Celery's own producer pool (one per process, made at the first publish): a pooled
        # producer keeps its channel, so a publish costs one round trip. The wait for a free
        # one is bounded: a request never hangs on an exhausted pool.
        producers = classify_diagnosis.app.producer_pool
        with producers.acquire(block=True, timeout=PRODUCER_TIMEOUT_SECONDS) as producer:
            classify_diagnosis.apply_async(
                (diagnosis_id,), queue=Queue.INFERENCE.value, producer=producer
            )
    except BROKER_ERRORS as exc:
        logger.warning(
            "diagnosis %s: broker unreachable (%s); the sweeper will enqueue it",
            diagnosis_id,
            exc,
        )
        jobs.mark_unsent([diagnosis_id])
        return False
    except Exception:  # never fail the upload over the hand-over: the row is saved
        logger.exception(
            "diagnosis %s: could not be sent; the sweeper will enqueue it", diagnosis_id
        )
        jobs.mark_unsent([diagnosis_id])
        return False
    return True


@task_failure.connect(sender=classify_diagnosis)
def _fail_on_hard_time_limit(
    sender: Any = None,
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    **extra: Any,
) -> None:
    """A job killed at the hard time limit fails at once instead of waiting for the sweeper."""
    if not isinstance(exception, TimeLimitExceeded):
        return
    diagnosis_id = (args or [None])[0] if args else (kwargs or {}).get("diagnosis_id")
    if diagnosis_id is not None:
        jobs.fail_after_hard_time_limit(int(diagnosis_id))


@shared_task(name="diagnosis.tasks.requeue_stale_diagnoses", ignore_result=True)
def requeue_stale_diagnoses(now: datetime | None = None) -> dict[str, int]:
    """The periodic sweeper (celery beat, every minute; ``manage.py requeue_stale_diagnoses``):
    sends the rows ``jobs.take_stale_diagnoses`` put back in the queue, oldest first.

    The first send the broker refuses stops it: that row and the rest are marked unsent and
    wait for the next sweep. ``now`` moves the sweeper's clock (tests of stuck jobs).
    """
    sweep = jobs.take_stale_diagnoses(now=now)
    sent = 0
    for pk in sweep.to_enqueue:
        if not enqueue_diagnosis(pk):
            jobs.mark_unsent(sweep.to_enqueue[sent + 1 :])
            break
        sent += 1
    if sent or sweep.failed:
        logger.info("sweeper: %s diagnoses re-enqueued, %s failed", sent, sweep.failed)
    return {"requeued": sent, "failed": sweep.failed}


@shared_task(name="diagnosis.tasks.purge_expired_diagnoses", ignore_result=True)
def purge_expired_diagnoses() -> int:
    """Delete diagnoses past DIAGNOSIS_RETENTION_DAYS (daily; does nothing when it is 0)."""
    return jobs.purge_expired_diagnoses()


@worker_process_init.connect
def _load_model_in_pool_child(**kwargs: Any) -> None:
    """Load the model in each new pool child, after the fork, so its first job is not slow."""
    from diagnosis import inference

    try:
        inference.get_predictor()
    except (inference.ModelUnavailable, DatabaseError, ImportError) as exc:
        # Not fatal: the first job tries again and fails with a clear reason if it must.
        logger.info("no model loaded at worker start: %s", exc)
