"""The worker's side of a diagnosis: claim, run, record, the stale-job sweeper and the purge.

Nothing here talks to the broker: ``diagnosis.tasks`` sends (``enqueue_diagnosis``) and calls
these functions; the sweeper returns the rows it put back in the queue for the task to send.

Every transition is a conditional ``UPDATE`` (see the state machine in ``Diagnosis``), so a
duplicate delivery, a redelivery after a crash and the sweeper can race without a job running
to completion twice: the claim sets a fresh ``claim_token`` and the outcome is written only
where that token is still in place.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Raised inside the job by the pool's soft time limit (Celery re-exports it from billiard).
from billiard.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from PIL import UnidentifiedImageError
from redis.exceptions import RedisError

from diagnosis import inference, push
from diagnosis.models import Diagnosis
from diagnosis.red_flag import red_flag_class

logger = logging.getLogger(__name__)

#: Worth another try later: the database or broker blinked, or the machine was too busy.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, RedisError, SoftTimeLimitExceeded)

Status = Diagnosis.Status
FailureCode = Diagnosis.FailureCode


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class RetryLater(Exception):
    """A transient error: the row is back in the queue and the task should retry."""


@dataclass(frozen=True)
class Claim:
    diagnosis_id: int
    token: uuid.UUID
    attempts: int
    image_name: str
    queue_wait_ms: int | None


@dataclass(frozen=True)
class Sweep:
    """What the sweeper did: rows put back in the queue, which the caller must send (oldest
    first), and how many it failed for good."""

    to_enqueue: list[int]
    failed: int


def mark_unsent(diagnosis_ids: Iterable[int]) -> None:
    """Clear ``enqueued_at`` of queued rows the broker did not take, so the next sweep sends
    them at once instead of after the stale limit."""
    Diagnosis.objects.filter(pk__in=list(diagnosis_ids), status=Status.QUEUED).update(
        enqueued_at=None
    )


def claim_diagnosis(diagnosis_id: int, *, redelivered: bool = False) -> Claim | None:
    """Take the job: QUEUED -> RUNNING, or RUNNING -> RUNNING for a redelivered message.

    Returns None when there is nothing to do: the row is gone, finished or held by another
    delivery, or it reached DIAGNOSIS_MAX_ATTEMPTS (then it is failed here).
    """
    now = timezone.now()
    statuses = [Status.QUEUED, Status.RUNNING] if redelivered else [Status.QUEUED]
    max_attempts = settings.DIAGNOSIS_MAX_ATTEMPTS
    rows = Diagnosis.objects.filter(pk=diagnosis_id, status__in=statuses)
    token = uuid.uuid4()
    claimed = rows.filter(attempts__lt=max_attempts).update(
        status=Status.RUNNING, attempts=F("attempts") + 1, claim_token=token, started_at=now
    )
    if not claimed:
        exhausted = rows.filter(attempts__gte=max_attempts).update(
            status=Status.FAILED,
            failure_code=FailureCode.TOO_MANY_ATTEMPTS,
            failure_detail=f"gave up after {max_attempts} attempts",
            claim_token=None,
            finished_at=now,
        )
        if exhausted:
            logger.warning("diagnosis %s: failed after %s attempts", diagnosis_id, max_attempts)
        elif not Diagnosis.objects.filter(pk=diagnosis_id).exists():
            logger.info("diagnosis %s: no such row (deleted?); nothing to do", diagnosis_id)
        else:
            logger.info("diagnosis %s: already taken or finished; nothing to do", diagnosis_id)
        return None
    row = Diagnosis.objects.only("attempts", "image", "enqueued_at", "created_at").get(
        pk=diagnosis_id
    )
    queued_since = row.enqueued_at or row.created_at
    wait = max(0, round((now - queued_since).total_seconds() * 1000)) if queued_since else None
    return Claim(diagnosis_id, token, row.attempts, row.image.name, wait)


def _mine(claim: Claim) -> Q:
    return Q(pk=claim.diagnosis_id, status=Status.RUNNING, claim_token=claim.token)


def complete_diagnosis(claim: Claim, result: inference.Classification) -> bool:
    """RUNNING -> SUCCEEDED with the outcome (and the top-3 and red flag when it names
    conditions); False when the claim was lost meanwhile."""
    updated = Diagnosis.objects.filter(_mine(claim)).update(
        status=Status.SUCCEEDED,
        outcome=result.outcome,
        red_flag=red_flag_class(result.predictions),
        photo_type=result.photo_type,
        gate_score=result.gate_score,
        quality_issue=result.quality_issue,
        reference_accuracy=result.reference_accuracy,
        predictions=result.predictions,
        top_class=result.predictions[0]["key"] if result.predictions else "",
        model_version=result.model_version,
        model_sha256=result.model_sha256,
        inference_ms=result.inference_ms,
        queue_wait_ms=claim.queue_wait_ms,
        failure_code="",
        failure_detail="",
        finished_at=timezone.now(),
    )
    if not updated:
        logger.info("diagnosis %s: claim lost before the result was saved", claim.diagnosis_id)
    else:
        push.publish_finished(claim.diagnosis_id)  # the waiting result page shows it at once
    return bool(updated)


def fail_diagnosis(claim: Claim, *, code: str, detail: str) -> bool:
    """RUNNING -> FAILED with a reason the person can read (``code``) and one for staff."""
    updated = Diagnosis.objects.filter(_mine(claim)).update(
        status=Status.FAILED,
        failure_code=code,
        failure_detail=detail[:2000],
        queue_wait_ms=claim.queue_wait_ms,
        finished_at=timezone.now(),
    )
    logger.warning("diagnosis %s failed (%s): %s", claim.diagnosis_id, code, detail)
    if updated:
        push.publish_finished(claim.diagnosis_id)
    return bool(updated)


def fail_after_hard_time_limit(diagnosis_id: int) -> bool:
    """RUNNING -> FAILED (timed out) when the hard time limit killed the pool child.

    Runs in the worker's main process, which holds no claim: the pool child that did is dead,
    and with ``acks_late`` its message was acknowledged as failed, so nothing will redeliver it.
    """
    updated = Diagnosis.objects.filter(pk=diagnosis_id, status=Status.RUNNING).update(
        status=Status.FAILED,
        failure_code=FailureCode.TIMED_OUT,
        failure_detail="killed at the hard time limit",
        claim_token=None,
        finished_at=timezone.now(),
    )
    if updated:
        logger.warning("diagnosis %s failed: hard time limit", diagnosis_id)
    return bool(updated)


def release_diagnosis(claim: Claim) -> bool:
    """RUNNING -> QUEUED after a transient error, so the retry can claim it again."""
    return bool(
        Diagnosis.objects.filter(_mine(claim)).update(
            status=Status.QUEUED, claim_token=None, enqueued_at=timezone.now()
        )
    )


def process_diagnosis(diagnosis_id: int, *, redelivered: bool, may_retry: bool) -> Outcome:
    """Claim, classify and record one diagnosis: the body of the ``classify_diagnosis`` task.

    A missing or unusable model, or an unreadable stored photo, fails the job at once with a
    clear reason. A transient error releases the row and raises ``RetryLater`` while
    ``may_retry`` (and attempts remain); otherwise it fails the job too.
    """
    claim = claim_diagnosis(diagnosis_id, redelivered=redelivered)
    if claim is None:
        return Outcome.SKIPPED
    try:
        with default_storage.open(claim.image_name, "rb") as handle:
            result = inference.classify_image(handle)
    except inference.ModelUnavailable as exc:
        fail_diagnosis(claim, code=exc.code, detail=exc.detail)
        return Outcome.FAILED
    except TRANSIENT_ERRORS as exc:
        timed_out = isinstance(exc, SoftTimeLimitExceeded)
        if may_retry and claim.attempts < settings.DIAGNOSIS_MAX_ATTEMPTS:
            logger.warning("diagnosis %s: transient error, will retry: %r", diagnosis_id, exc)
            try:
                release_diagnosis(claim)
            except (OperationalError, InterfaceError):
                # The database itself is down: the retry claims the RUNNING row again.
                logger.warning("diagnosis %s: could not release the row", diagnosis_id)
            raise RetryLater(repr(exc)) from exc
        code = FailureCode.TIMED_OUT if timed_out else FailureCode.TOO_MANY_ATTEMPTS
        fail_diagnosis(claim, code=code, detail=repr(exc))
        return Outcome.FAILED
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        # The stored copy was written by the validator: unreadable now means gone or damaged.
        fail_diagnosis(claim, code=FailureCode.IMAGE_UNREADABLE, detail=repr(exc))
        return Outcome.FAILED
    except Exception as exc:
        logger.exception("diagnosis %s: unexpected error", diagnosis_id)
        fail_diagnosis(claim, code=FailureCode.INTERNAL, detail=repr(exc))
        return Outcome.FAILED
    return Outcome.SUCCEEDED if complete_diagnosis(claim, result) else Outcome.SKIPPED


def take_stale_diagnoses(*, now: datetime | None = None, limit: int = 500) -> Sweep:
    """Put jobs stuck in QUEUED or RUNNING back in the queue; fail those out of attempts.

    Stuck means: QUEUED and never handed to the broker (``enqueued_at`` empty: the broker was
    down) or handed over more than DIAGNOSIS_STALE_AFTER_SECONDS ago (the message was lost);
    RUNNING for longer than that and than the task's hard time limit (its worker died and the
    message was not redelivered). A job that used up DIAGNOSIS_MAX_ATTEMPTS fails with a reason.

    The rows taken are QUEUED again with ``enqueued_at`` set; the caller sends them
    (``diagnosis.tasks.requeue_stale_diagnoses``) and gives back with ``mark_unsent`` those the
    broker did not take.
    """
    now = now or timezone.now()
    stale = timedelta(seconds=settings.DIAGNOSIS_STALE_AFTER_SECONDS)
    # Never steal a job that may still legitimately be running.
    running_stale = max(stale, timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 30))
    stuck_running = Q(status=Status.RUNNING, started_at__lt=now - running_stale)
    lost_queued = Q(status=Status.QUEUED) & (
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - stale)
    )
    max_attempts = settings.DIAGNOSIS_MAX_ATTEMPTS

    stuck = Diagnosis.objects.filter(stuck_running | lost_queued)
    failed = stuck.filter(attempts__gte=max_attempts).update(
        status=Status.FAILED,
        failure_code=FailureCode.TOO_MANY_ATTEMPTS,
        failure_detail=f"stuck after {max_attempts} attempts; failed by the sweeper",
        claim_token=None,
        finished_at=now,
    )
    candidates = list(
        stuck.filter(attempts__lt=max_attempts)
        .order_by("created_at")
        .values_list("pk", "status")[:limit]
    )
    taken = []
    for pk, status in candidates:
        # One row at a time, each under its own condition: a worker's claim or another sweep
        # may have moved it since the list was read.
        condition = stuck_running if status == Status.RUNNING else lost_queued
        if Diagnosis.objects.filter(condition, pk=pk).update(
            status=Status.QUEUED, claim_token=None, enqueued_at=now
        ):
            taken.append(pk)
    return Sweep(to_enqueue=taken, failed=failed)


def purge_expired_diagnoses(*, now: datetime | None = None) -> int:
    """Delete diagnoses older than DIAGNOSIS_RETENTION_DAYS (0 keeps them until deleted)."""
    days = settings.DIAGNOSIS_RETENTION_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic():
        deleted, _ = Diagnosis.objects.filter(created_at__lt=cutoff).delete()
    if deleted:
        logger.info("purged %s diagnoses older than %s days", deleted, days)
    return deleted
