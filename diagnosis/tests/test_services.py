"""Submitting, retrying and deleting diagnoses (database, files, what gets enqueued)."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from diagnosis import jobs, services
from diagnosis.models import Diagnosis
from diagnosis.tests import images
from skinsite.imaging import InvalidImage, validate_image

pytestmark = pytest.mark.django_db


def media_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_submit_stores_both_files_saves_a_queued_row_and_enqueues_after_commit(
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = user_factory()
    with django_capture_on_commit_callbacks(execute=True):
        diagnosis = services.submit_diagnosis(user=user, upload=images.jpeg((640, 480)))
        assert enqueued == []  # nothing leaves before the commit

    assert enqueued == [diagnosis.pk]
    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.QUEUED
    assert diagnosis.owner == user
    assert (diagnosis.width, diagnosis.height) == (640, 480)
    assert diagnosis.enqueued_at is not None
    assert len(media_files(settings)) == 2
    with default_storage.open(diagnosis.image.name) as handle:
        assert Image.open(handle).size == (640, 480)
    with default_storage.open(diagnosis.thumbnail.name) as handle:
        assert Image.open(handle).size == (256, 256)


def test_stored_names_are_random_and_reveal_nothing(
    user_factory: Any, active_model: Any, enqueued: list[int]
) -> None:
    user = user_factory(email="private.person@example.com")
    first = services.submit_diagnosis(user=user, upload=images.jpeg())
    second = services.submit_diagnosis(user=user, upload=images.jpeg())

    names = [first.image.name, first.thumbnail.name, second.image.name, second.thumbnail.name]
    assert len(set(names)) == 4
    for name in names:
        assert "private" not in name
        assert str(first.public_id) not in name and str(second.public_id) not in name
        assert name.endswith(".jpg")


def test_submit_refuses_a_bad_photo_and_stores_nothing(
    user_factory: Any, active_model: Any, enqueued: list[int], settings: Any
) -> None:
    with pytest.raises(InvalidImage):
        services.submit_diagnosis(user=user_factory(), upload=b"%PDF-1.4 not a photo")
    assert Diagnosis.objects.count() == 0
    assert media_files(settings) == []
    assert enqueued == []


def test_submit_without_an_active_model_raises_and_queues_nothing(
    user_factory: Any, enqueued: list[int], settings: Any
) -> None:
    with pytest.raises(services.ServiceNotReady):
        services.submit_diagnosis(user=user_factory(), upload=images.jpeg())
    assert Diagnosis.objects.count() == 0
    assert media_files(settings) == []
    assert enqueued == []


def test_the_same_token_and_photo_twice_make_one_diagnosis(
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = user_factory()
    token = uuid.uuid4()
    photo = images.jpeg()
    with django_capture_on_commit_callbacks(execute=True):
        first = services.submit_diagnosis(user=user, upload=photo, idempotency_key=token)
        second = services.submit_diagnosis(user=user, upload=photo, idempotency_key=token)

    assert first.pk == second.pk
    assert Diagnosis.objects.count() == 1
    assert enqueued == [first.pk]
    assert len(media_files(settings)) == 2  # the second copy's files were not kept


def test_a_different_photo_with_an_old_token_is_a_new_diagnosis(
    user_factory: Any, active_model: Any, enqueued: list[int]
) -> None:
    user = user_factory()
    token = uuid.uuid4()
    first = services.submit_diagnosis(user=user, upload=images.jpeg(), idempotency_key=token)
    other = images.encode(images.halves((300, 200)), "JPEG")
    second = services.submit_diagnosis(user=user, upload=other, idempotency_key=token)

    assert first.pk != second.pk
    assert Diagnosis.objects.count() == 2


def test_tokens_are_per_person(user_factory: Any, active_model: Any, enqueued: list[int]) -> None:
    token = uuid.uuid4()
    photo = images.jpeg()
    mine = services.submit_diagnosis(user=user_factory(), upload=photo, idempotency_key=token)
    theirs = services.submit_diagnosis(user=user_factory(), upload=photo, idempotency_key=token)
    assert mine.pk != theirs.pk
    assert mine.owner != theirs.owner


def test_delete_diagnosis_removes_the_row_and_both_files(
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = user_factory()
    keep = services.submit_diagnosis(user=user, upload=images.jpeg())
    gone = services.submit_diagnosis(user=user, upload=images.jpeg((400, 300)))
    gone_files = {gone.image.name, gone.thumbnail.name}

    with django_capture_on_commit_callbacks(execute=True):
        services.delete_diagnosis(diagnosis=gone)

    assert list(Diagnosis.objects.values_list("pk", flat=True)) == [keep.pk]
    left = {p.relative_to(settings.MEDIA_ROOT).as_posix() for p in media_files(settings)}
    assert left == {keep.image.name, keep.thumbnail.name}
    assert not gone_files & left


def test_delete_all_removes_only_that_persons_diagnoses_and_files(
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    me, other = user_factory(), user_factory()
    for _ in range(3):
        services.submit_diagnosis(user=me, upload=images.jpeg())
    theirs = services.submit_diagnosis(user=other, upload=images.jpeg())

    with django_capture_on_commit_callbacks(execute=True):
        assert services.delete_all_diagnoses(user=me) == 3

    assert list(Diagnosis.objects.all()) == [theirs]
    assert len(media_files(settings)) == 2


def test_retry_queues_a_failed_diagnosis_again_with_fresh_attempts(
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    diagnosis = services.submit_diagnosis(user=user_factory(), upload=images.jpeg())
    Diagnosis.objects.filter(pk=diagnosis.pk).update(
        status=Diagnosis.Status.FAILED,
        attempts=3,
        failure_code=Diagnosis.FailureCode.TOO_MANY_ATTEMPTS,
        finished_at=timezone.now(),
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert services.retry_diagnosis(diagnosis=diagnosis) is True
        assert services.retry_diagnosis(diagnosis=diagnosis) is False  # a second click

    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.QUEUED
    assert diagnosis.attempts == 0
    assert diagnosis.failure_code == ""
    assert enqueued == [diagnosis.pk]


def test_retry_leaves_a_succeeded_diagnosis_alone(
    user_factory: Any, active_model: Any, enqueued: list[int]
) -> None:
    diagnosis = services.submit_diagnosis(user=user_factory(), upload=images.jpeg())
    Diagnosis.objects.filter(pk=diagnosis.pk).update(status=Diagnosis.Status.SUCCEEDED)
    assert services.retry_diagnosis(diagnosis=diagnosis) is False
    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.SUCCEEDED


def test_purge_deletes_only_diagnoses_past_the_retention(
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = user_factory()
    old = services.submit_diagnosis(user=user, upload=images.jpeg())
    new = services.submit_diagnosis(user=user, upload=images.jpeg())
    Diagnosis.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))

    settings.DIAGNOSIS_RETENTION_DAYS = 0
    assert jobs.purge_expired_diagnoses() == 0
    settings.DIAGNOSIS_RETENTION_DAYS = 30
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.purge_expired_diagnoses() == 1

    assert list(Diagnosis.objects.all()) == [new]
    assert len(media_files(settings)) == 2


def test_the_upload_limits_come_from_settings(settings: Any) -> None:
    settings.DIAGNOSIS_MAX_UPLOAD_BYTES = 2048
    settings.DIAGNOSIS_MAX_PIXELS = 123_456
    settings.DIAGNOSIS_MIN_SIDE = 500
    limits = services.image_limits()
    assert (limits.max_bytes, limits.max_pixels, limits.min_side) == (2048, 123_456, 500)

    settings.DIAGNOSIS_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    with pytest.raises(InvalidImage) as info:
        validate_image(io.BytesIO(images.jpeg((320, 240))), limits=services.image_limits())
    assert info.value.code == "too_small"


def test_deleting_the_account_deletes_its_diagnoses_and_their_files(
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = user_factory()
    services.submit_diagnosis(user=user, upload=images.jpeg())
    kept = services.submit_diagnosis(user=user_factory(), upload=images.jpeg())

    with django_capture_on_commit_callbacks(execute=True):
        user.delete()

    assert list(Diagnosis.objects.all()) == [kept]
    left = {p.relative_to(settings.MEDIA_ROOT).as_posix() for p in media_files(settings)}
    assert left == {kept.image.name, kept.thumbnail.name}


def test_a_rolled_back_deletion_keeps_the_files(
    user_factory: Any,
    active_model: Any,
    enqueued: list[int],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.db import transaction

    diagnosis = services.submit_diagnosis(user=user_factory(), upload=images.jpeg())
    pk = diagnosis.pk
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.delete_diagnosis(diagnosis=diagnosis)
        raise RuntimeError
    assert callbacks == []

    assert Diagnosis.objects.filter(pk=pk).exists()
    assert len(media_files(settings)) == 2


def test_the_export_holds_the_persons_photos_and_records_and_names_no_missing_photo(
    user_factory: Any, active_model: Any, enqueued: list[int]
) -> None:
    import json
    import zipfile

    me = user_factory()
    first = services.submit_diagnosis(user=me, upload=images.jpeg((400, 300)))
    gone = services.submit_diagnosis(user=me, upload=images.jpeg())
    services.submit_diagnosis(user=user_factory(), upload=images.jpeg())
    default_storage.delete(gone.image.name)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        assert services.export_diagnoses(user=me, archive=archive) == 2
    bundle = zipfile.ZipFile(buffer)

    records = json.loads(bundle.read("diagnoses.json"))
    assert [r["id"] for r in records] == [str(first.public_id), str(gone.public_id)]
    assert records[0]["image"] == f"images/{first.public_id}.jpg"
    assert Image.open(io.BytesIO(bundle.read(records[0]["image"]))).size == (400, 300)
    assert records[1]["image"] == ""
    assert bundle.namelist() == [records[0]["image"], "diagnoses.json"]
