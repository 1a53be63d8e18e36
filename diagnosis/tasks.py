"""Celery entry points. They take primary keys, call one function of ``diagnosis.jobs`` or
``diagnosis.services``, and decide about retries; the row holds the job's state.

Delivery guarantees come from the project's Celery settings (``skinsite/settings.py``):
``acks_late`` with ``reject_on_worker_lost`` (a pool child killed mid-task gives its message
back, and the redelivery may claim the RUNNING row again), prefetch 1, soft and hard time
limits, and a broker visibility timeout above the hard limit. The attempt counter on the row
stops a photo that kills its worker every time from looping.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure, worker_process_init
from django.db import DatabaseError

from diagnosis import jobs

logger = logging.getLogger(__name__)

MAX_RETRIES = 3


def _backoff(retries: int) -> int:
    """Seconds before retry number ``retries + 1``: 2, 4, 8 ... capped at a minute."""
    return min(60, 2 ** (retries + 1))


@shared_task(
    bind=True,
    name="diagnosis.tasks.classify_diagnosis",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def classify_diagnosis(self: Task, diagnosis_id: int) -> str:
    """Classify one queued diagnosis (routed to the ``inference`` queue)."""
    request = self.request
    delivery = request.delivery_info or {}
    # A redelivered message (its worker died) or our own retry may find the row RUNNING under
    # a claim that will never finish; a first delivery must not take a RUNNING row.
    redelivered = bool(delivery.get("redelivered")) or request.retries > 0
    may_retry = request.retries < MAX_RETRIES
    try:
        return jobs.process_diagnosis(diagnosis_id, redelivered=redelivered, may_retry=may_retry)
    except jobs.RetryLater as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
        raise self.retry(exc=cause, countdown=_backoff(request.retries)) from exc
    except jobs.TRANSIENT_ERRORS as exc:
        # Raised before a claim (the database blinked): nothing to release.
        if not may_retry:
            raise
        raise self.retry(exc=exc, countdown=_backoff(request.retries)) from exc


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
def requeue_stale_diagnoses() -> dict[str, int]:
    """The periodic sweeper (celery beat, every minute)."""
    result = jobs.requeue_stale_diagnoses()
    return {"requeued": result.requeued, "failed": result.failed}


@shared_task(name="diagnosis.tasks.purge_expired_diagnoses", ignore_result=True)
def purge_expired_diagnoses() -> int:
    """Delete diagnoses past DIAGNOSIS_RETENTION_DAYS (daily; does nothing when it is 0)."""
    from diagnosis import services

    return services.purge_expired_diagnoses()


@worker_process_init.connect
def _load_model_in_pool_child(**kwargs: Any) -> None:
    """Load the model in each new pool child, after the fork, so its first job is not slow."""
    from diagnosis import inference

    try:
        inference.get_predictor()
    except (inference.ModelUnavailable, DatabaseError, ImportError) as exc:
        # Not fatal: the first job tries again and fails with a clear reason if it must.
        logger.info("no model loaded at worker start: %s", exc)
