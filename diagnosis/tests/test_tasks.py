"""The Celery entry points, run eagerly: retries, and the settings that keep jobs safe."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from diagnosis import inference, services
from diagnosis.models import Diagnosis
from diagnosis.tasks import (
    classify_diagnosis,
    purge_expired_diagnoses,
    requeue_stale_diagnoses,
)
from diagnosis.tests import images

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(user_factory: Any, active_model: Any, enqueued: list[int]) -> Diagnosis:
    return services.submit_diagnosis(user=user_factory(), upload=images.jpeg())


def test_the_task_classifies_the_row(queued: Diagnosis) -> None:
    assert classify_diagnosis.apply(args=(queued.pk,)).get() == "succeeded"
    queued.refresh_from_db()
    assert queued.status == Diagnosis.Status.SUCCEEDED


def test_a_transient_error_is_retried_and_the_retry_completes_the_row(
    queued: Diagnosis, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = inference.classify_image
    calls: list[int] = []

    def busy_once(source: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise SoftTimeLimitExceeded
        return real(source)

    monkeypatch.setattr(inference, "classify_image", busy_once)
    classify_diagnosis.apply(args=(queued.pk,))

    queued.refresh_from_db()
    assert len(calls) == 2
    assert queued.status == Diagnosis.Status.SUCCEEDED
    assert queued.attempts == 2


def test_a_bad_model_is_not_retried(queued: Diagnosis, active_model: Any) -> None:
    from pathlib import Path

    (Path(active_model.path) / "model.onnx").write_bytes(b"not a model")
    classify_diagnosis.apply(args=(queued.pk,))
    queued.refresh_from_db()
    assert queued.status == Diagnosis.Status.FAILED
    assert queued.attempts == 1


def test_the_periodic_tasks_call_the_sweeper_and_the_purge(
    queued: Diagnosis, enqueued: list[int]
) -> None:
    Diagnosis.objects.filter(pk=queued.pk).update(enqueued_at=None)
    assert requeue_stale_diagnoses.apply().get() == {"requeued": 1, "failed": 0}
    assert enqueued == [queued.pk]
    assert purge_expired_diagnoses.apply().get() == 0


def test_the_classify_task_gives_its_message_back_when_its_worker_dies() -> None:
    assert classify_diagnosis.acks_late is True
    assert classify_diagnosis.reject_on_worker_lost is True
    assert classify_diagnosis.max_retries is not None


def test_the_celery_settings_keep_jobs_from_being_lost() -> None:
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_TIME_LIMIT > settings.CELERY_TASK_SOFT_TIME_LIMIT
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > settings.CELERY_TASK_TIME_LIMIT
    route = settings.CELERY_TASK_ROUTES["diagnosis.tasks.classify_diagnosis"]
    assert route["queue"] == "inference"
    # The sweeper must never take a job that may still legitimately be running.
    assert settings.DIAGNOSIS_STALE_AFTER_SECONDS > settings.CELERY_TASK_TIME_LIMIT


def test_task_names_are_their_verb_noun_functions_and_beat_and_routes_name_them() -> None:
    from skinsite.celery import app

    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if name.startswith("diagnosis.")}
    assert set(ours) == {
        "diagnosis.tasks.classify_diagnosis",
        "diagnosis.tasks.requeue_stale_diagnoses",
        "diagnosis.tasks.purge_expired_diagnoses",
    }
    for name, task in ours.items():
        assert name == f"{task.__module__}.{task.__name__}"
        assert not name.endswith("_task")
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    # Other apps' tasks (spots' reminders) are scheduled and routed too.
    assert {name for name in scheduled if name.startswith("diagnosis.")} <= set(ours)
    assert {name for name in settings.CELERY_TASK_ROUTES if name.startswith("diagnosis.")} <= set(
        ours
    )
    assert set(settings.CELERY_TASK_ROUTES) <= set(app.tasks)
    assert scheduled <= set(app.tasks)
