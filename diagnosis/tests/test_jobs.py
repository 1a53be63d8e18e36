"""The worker's side, run in-process: claim, classify, record, fail, and the sweeper."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import default_storage
from django.utils import timezone

from diagnosis import inference, jobs, services, tasks
from diagnosis.models import Diagnosis
from diagnosis.tests import images
from diagnosis.tests.conftest import use_current_broker
from mltrain.ml.classes import CLASS_KEYS

pytestmark = pytest.mark.django_db

Status = Diagnosis.Status
#: The real publisher, kept before the ``enqueued`` fixture replaces it.
REAL_ENQUEUE = tasks.enqueue_diagnosis


@pytest.fixture
def queued(user_factory: Any, active_model: Any, enqueued: list[int]) -> Diagnosis:
    return services.submit_diagnosis(user=user_factory(), upload=images.jpeg((400, 300)))


def run(diagnosis: Diagnosis, *, redelivered: bool = False, may_retry: bool = True) -> str:
    outcome = jobs.process_diagnosis(diagnosis.pk, redelivered=redelivered, may_retry=may_retry)
    diagnosis.refresh_from_db()
    return outcome


def assert_valid_top3(predictions: list[dict[str, Any]]) -> None:
    assert len(predictions) == 3
    probabilities = [p["probability"] for p in predictions]
    assert all(0 < p <= 1 for p in probabilities)
    assert sum(probabilities) <= 1 + 1e-6
    assert probabilities == sorted(probabilities, reverse=True)
    assert len({p["key"] for p in predictions}) == 3
    assert all(p["key"] in CLASS_KEYS for p in predictions)


def test_a_queued_diagnosis_succeeds_with_a_top3_and_the_model_that_made_it(
    queued: Diagnosis, active_model: Any
) -> None:
    assert run(queued) == jobs.Outcome.SUCCEEDED

    assert queued.status == Status.SUCCEEDED
    assert_valid_top3(queued.predictions)
    assert queued.top_class == queued.predictions[0]["key"]
    assert queued.model_version == active_model.version
    assert queued.model_sha256 == active_model.sha256
    assert queued.attempts == 1
    assert queued.inference_ms is not None and queued.queue_wait_ms is not None
    assert queued.started_at <= queued.finished_at
    assert queued.failure_code == ""


def test_a_duplicate_delivery_does_nothing(queued: Diagnosis) -> None:
    run(queued)
    before = Diagnosis.objects.values().get(pk=queued.pk)

    assert run(queued) == jobs.Outcome.SKIPPED
    assert run(queued, redelivered=True) == jobs.Outcome.SKIPPED

    assert Diagnosis.objects.values().get(pk=queued.pk) == before


def test_a_first_delivery_never_takes_a_row_another_worker_is_running(queued: Diagnosis) -> None:
    claim = jobs.claim_diagnosis(queued.pk)
    assert claim is not None

    assert run(queued) == jobs.Outcome.SKIPPED
    assert queued.status == Status.RUNNING
    assert queued.attempts == 1


def test_a_redelivery_after_the_worker_died_claims_the_row_again_and_only_it_writes(
    queued: Diagnosis,
) -> None:
    dead = jobs.claim_diagnosis(queued.pk)  # the worker that was killed mid-task
    assert dead is not None

    assert run(queued, redelivered=True) == jobs.Outcome.SUCCEEDED
    assert queued.attempts == 2
    # The dead worker's claim can no longer write anything.
    assert jobs.fail_diagnosis(dead, code="internal", detail="late") is False
    queued.refresh_from_db()
    assert queued.status == Status.SUCCEEDED


def test_a_missing_row_is_a_log_line(db: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="diagnosis.jobs"):
        assert jobs.process_diagnosis(987654, redelivered=False, may_retry=True) == "skipped"
    assert "no such row" in caplog.text


def test_a_photo_that_keeps_killing_workers_fails_after_the_maximum_attempts(
    queued: Diagnosis, settings: Any
) -> None:
    settings.DIAGNOSIS_MAX_ATTEMPTS = 2
    assert jobs.claim_diagnosis(queued.pk) is not None
    assert jobs.claim_diagnosis(queued.pk, redelivered=True) is not None

    assert run(queued, redelivered=True) == jobs.Outcome.SKIPPED
    assert queued.status == Status.FAILED
    assert queued.failure_code == Diagnosis.FailureCode.TOO_MANY_ATTEMPTS
    assert queued.attempts == 2
    assert "several times" in queued.failure_message


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_missing_or_corrupt_model_fails_with_a_clear_reason_and_the_next_job_still_runs(
    damage: str, user_factory: Any, active_model: Any, enqueued: list[int]
) -> None:
    user = user_factory()
    first = services.submit_diagnosis(user=user, upload=images.jpeg())
    onnx = Path(active_model.path) / "model.onnx"
    saved = onnx.read_bytes()
    if damage == "missing":
        onnx.unlink()
    else:
        onnx.write_bytes(saved[: len(saved) // 3])

    assert run(first) == jobs.Outcome.FAILED
    assert first.status == Status.FAILED
    assert first.failure_code == Diagnosis.FailureCode.MODEL_UNUSABLE
    assert "model" in first.failure_message
    assert active_model.version in first.failure_detail

    onnx.write_bytes(saved)  # the operator repairs it
    second = services.submit_diagnosis(user=user, upload=images.jpeg())
    assert run(second) == jobs.Outcome.SUCCEEDED


def test_no_active_model_fails_the_job_with_its_own_reason(
    queued: Diagnosis, active_model: Any
) -> None:
    from mltrain.services import forget_active_model_version

    type(active_model).objects.update(is_active=False)
    forget_active_model_version()

    assert run(queued) == jobs.Outcome.FAILED
    assert queued.failure_code == Diagnosis.FailureCode.NO_MODEL


def test_a_stored_photo_that_disappeared_fails_the_job(queued: Diagnosis) -> None:
    default_storage.delete(queued.image.name)
    assert run(queued) == jobs.Outcome.FAILED
    assert queued.failure_code == Diagnosis.FailureCode.IMAGE_UNREADABLE


def test_a_transient_error_puts_the_row_back_in_the_queue_for_a_retry(
    queued: Diagnosis, monkeypatch: pytest.MonkeyPatch
) -> None:
    def overloaded(source: Any) -> Any:
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(inference, "classify_image", overloaded)

    with pytest.raises(jobs.RetryLater):
        run(queued)
    queued.refresh_from_db()
    assert queued.status == Status.QUEUED
    assert queued.attempts == 1

    assert run(queued, may_retry=False) == jobs.Outcome.FAILED
    assert queued.failure_code == Diagnosis.FailureCode.TIMED_OUT


def test_an_unexpected_error_still_ends_the_job_with_a_reason(
    queued: Diagnosis, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(source: Any) -> Any:
        raise ZeroDivisionError

    monkeypatch.setattr(inference, "classify_image", bug)
    assert run(queued) == jobs.Outcome.FAILED
    assert queued.failure_code == Diagnosis.FailureCode.INTERNAL


def test_the_worker_loads_a_newly_activated_version_before_its_next_job(
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from mltrain.services import register_model_version

    user = user_factory()
    first = services.submit_diagnosis(user=user, upload=images.jpeg())
    run(first)
    assert first.model_version == active_model.version

    # The same weights under another version name: enough to prove the switch.
    other = tmp_path / "tiny-test-2"
    shutil.copytree(active_model.path, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["version"] = "tiny-test-2"
    (other / "manifest.json").write_text(json.dumps(manifest))
    with django_capture_on_commit_callbacks(execute=True):
        register_model_version(artifact_dir=other, activate=True)

    second = services.submit_diagnosis(user=user, upload=images.jpeg())
    run(second)
    assert second.model_version == "tiny-test-2"


def test_enqueue_with_the_broker_down_leaves_the_row_for_the_sweeper(
    queued: Diagnosis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the producer is pointed at a closed port; the consumers keep CELERY_BROKER_URL.
    monkeypatch.setenv("CELERY_BROKER_WRITE_URL", "redis://127.0.0.1:1/0")
    use_current_broker()
    assert REAL_ENQUEUE(queued.pk) is False
    queued.refresh_from_db()
    assert queued.status == Status.QUEUED
    assert queued.enqueued_at is None


def test_an_unexpected_publish_error_leaves_the_row_for_the_sweeper(
    queued: Diagnosis, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever goes wrong while handing the job over (here a real producer pool, closed under
    the publisher), the saved photo is not lost and the upload does not fail: the sweeper
    sends it later, and the log says why."""
    from skinsite.celery import app

    app.producer_pool.connections.force_close_all()  # "Acquire on closed pool" next time
    with caplog.at_level(logging.ERROR, logger="diagnosis.tasks"):
        assert REAL_ENQUEUE(queued.pk) is False
    queued.refresh_from_db()
    assert queued.status == Status.QUEUED
    assert queued.enqueued_at is None
    assert "closed pool" in caplog.text


class TestSweeper:
    @pytest.fixture
    def rows(self, user_factory: Any, active_model: Any, enqueued: list[int]) -> dict[str, int]:
        user = user_factory()
        now = timezone.now()
        long_ago = now - timedelta(hours=2)
        made = {}
        specs = {
            "never_enqueued": {"status": Status.QUEUED, "enqueued_at": None},
            "queued_recently": {"status": Status.QUEUED, "enqueued_at": now},
            "queued_long_ago": {"status": Status.QUEUED, "enqueued_at": long_ago},
            "running_recently": {"status": Status.RUNNING, "started_at": now, "attempts": 1},
            "running_long_ago": {"status": Status.RUNNING, "started_at": long_ago, "attempts": 1},
            "running_out_of_attempts": {
                "status": Status.RUNNING,
                "started_at": long_ago,
                "attempts": 3,
            },
            "succeeded_long_ago": {"status": Status.SUCCEEDED, "started_at": long_ago},
        }
        for name, fields in specs.items():
            row = services.submit_diagnosis(user=user, upload=images.jpeg())
            Diagnosis.objects.filter(pk=row.pk).update(**fields)
            made[name] = row.pk
        enqueued.clear()
        return made

    def test_it_requeues_stuck_jobs_and_fails_those_out_of_attempts(
        self, rows: dict[str, int], enqueued: list[int], settings: Any
    ) -> None:
        settings.DIAGNOSIS_MAX_ATTEMPTS = 3
        result = tasks.requeue_stale_diagnoses()

        expected = {rows["never_enqueued"], rows["queued_long_ago"], rows["running_long_ago"]}
        assert set(enqueued) == expected
        assert result == {"requeued": 3, "failed": 1}
        state = dict(Diagnosis.objects.values_list("pk", "status"))
        assert state[rows["running_long_ago"]] == Status.QUEUED
        assert state[rows["running_recently"]] == Status.RUNNING
        assert state[rows["queued_recently"]] == Status.QUEUED
        assert state[rows["succeeded_long_ago"]] == Status.SUCCEEDED
        failed = Diagnosis.objects.get(pk=rows["running_out_of_attempts"])
        assert failed.status == Status.FAILED
        assert failed.failure_code == Diagnosis.FailureCode.TOO_MANY_ATTEMPTS
        # Re-enqueueing is not an attempt: only claims count.
        assert Diagnosis.objects.get(pk=rows["running_long_ago"]).attempts == 1

    def test_it_never_takes_a_job_younger_than_the_task_time_limit(
        self, rows: dict[str, int], enqueued: list[int], settings: Any
    ) -> None:
        settings.DIAGNOSIS_STALE_AFTER_SECONDS = 10
        settings.CELERY_TASK_TIME_LIMIT = 3 * 3600
        tasks.requeue_stale_diagnoses()
        assert rows["running_long_ago"] not in enqueued
        assert rows["queued_long_ago"] in enqueued

    def test_it_stops_at_the_first_broker_failure_and_the_next_sweep_sends_the_rest(
        self, rows: dict[str, int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[int] = []
        broker_up = False

        def enqueue(diagnosis_id: int) -> bool:
            calls.append(diagnosis_id)
            if not broker_up:
                jobs.mark_unsent([diagnosis_id])
            return broker_up

        monkeypatch.setattr(tasks, "enqueue_diagnosis", enqueue)
        result = tasks.requeue_stale_diagnoses()

        assert len(calls) == 1 and result["requeued"] == 0
        stuck = [rows["never_enqueued"], rows["queued_long_ago"], rows["running_long_ago"]]
        unsent = Diagnosis.objects.filter(pk__in=stuck)
        assert {row.status for row in unsent} == {Status.QUEUED}
        # Unsent, so the next sweep takes them at once instead of after the stale limit.
        assert {row.enqueued_at for row in unsent} == {None}

        broker_up = True
        calls.clear()
        assert tasks.requeue_stale_diagnoses() == {"requeued": 3, "failed": 0}
        assert set(calls) == set(stuck)

    def test_the_command_runs_the_sweeper(self, rows: dict[str, int], enqueued: list[int]) -> None:
        from io import StringIO

        from django.core.management import call_command

        out = StringIO()
        call_command("requeue_stale_diagnoses", stdout=out)
        assert "3 re-enqueued, 1 failed" in out.getvalue()
        assert len(enqueued) == 3
