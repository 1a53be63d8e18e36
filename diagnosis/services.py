"""Every write to a diagnosis: what the person does (submit, try again, delete, export).

This is the app's public interface: other apps import this module, never the ones behind it
(an import-linter contract in ``pyproject.toml``). Besides the writes, it re-exports what other
apps' pages show of a diagnosis: ``result_view``, ``ResultView``, ``disease_catalogue`` and
``PHOTO_TIPS``.

A new or retried row is handed to ``diagnosis.tasks.enqueue_diagnosis`` after commit; the
worker's side of the state machine (claim, complete, fail, sweep, purge) is ``diagnosis.jobs``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from functools import partial
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from diagnosis import inference, tasks
from diagnosis.models import Diagnosis
from diagnosis.outcomes import PHOTO_TIPS
from diagnosis.presentation import ResultView, disease_catalogue, result_view
from skinsite.imaging import ImageLimits, ValidatedImage, validate_image

if TYPE_CHECKING:
    from accounts.models import User
    from spots.models import Spot

__all__ = [
    "PHOTO_TIPS",
    "ResultView",
    "ServiceNotReady",
    "delete_all_diagnoses",
    "delete_diagnosis",
    "disease_catalogue",
    "export_diagnoses",
    "image_limits",
    "outcome_counts",
    "result_view",
    "retry_diagnosis",
    "submit_diagnosis",
]

logger = logging.getLogger(__name__)


class ServiceNotReady(Exception):
    """No model version is active: nothing may be queued."""


def image_limits() -> ImageLimits:
    """The validator's bounds, from settings."""
    return ImageLimits(
        max_bytes=settings.DIAGNOSIS_MAX_UPLOAD_BYTES,
        max_pixels=settings.DIAGNOSIS_MAX_PIXELS,
        min_side=settings.DIAGNOSIS_MIN_SIDE,
    )


def submit_diagnosis(
    *,
    user: User,
    upload: ValidatedImage | IO[bytes] | bytes,
    idempotency_key: uuid.UUID | None = None,
    spot: Spot | None = None,
    answers: Mapping[str, Any] | None = None,
) -> Diagnosis:
    """Validate and store the photo, save the row as queued, enqueue it after commit.

    ``spot`` (one of the person's own) files the photo under it; ``answers`` (fields of
    ``spots.models.Answers``) is what the person noticed, saved with the row when not empty.

    Raises ``ServiceNotReady`` when no model is active and ``InvalidImage`` for a bad photo;
    nothing is stored or queued then. ``idempotency_key`` (the upload form's token) makes a
    double submission of the same photo return the first diagnosis instead of a second one.
    A broker that is down does not fail the upload: the row stays queued, without
    ``enqueued_at``, and the sweeper enqueues it once the broker is back.
    """
    if not inference.service_ready():
        raise ServiceNotReady
    if spot is not None and spot.owner_id != user.pk:
        raise ValueError("a diagnosis can only be filed under its owner's own spot")
    image = (
        upload
        if isinstance(upload, ValidatedImage)
        else validate_image(upload, limits=image_limits())
    )
    digest = hashlib.sha256(image.content).hexdigest()
    if idempotency_key is not None:
        existing = _submitted(user, idempotency_key)
        if existing is not None:
            if existing.content_sha256 == digest:
                return existing
            # A different photo sent from a page opened before: a new diagnosis, not a repeat.
            idempotency_key = None

    diagnosis = Diagnosis(
        owner=user,
        width=image.width,
        height=image.height,
        content_sha256=digest,
        idempotency_key=idempotency_key,
        enqueued_at=timezone.now(),
        spot=spot,
    )
    diagnosis.image.save("photo.jpg", ContentFile(image.content), save=False)
    diagnosis.thumbnail.save("thumbnail.jpg", ContentFile(image.thumbnail), save=False)
    stored = [diagnosis.image.name, diagnosis.thumbnail.name]
    try:
        with transaction.atomic():
            diagnosis.save()
            if answers:
                from spots.services import save_answers

                save_answers(diagnosis=diagnosis, answers=answers)
            transaction.on_commit(partial(tasks.enqueue_diagnosis, diagnosis.pk), robust=True)
    except IntegrityError:
        # The same token won a race a few milliseconds earlier (two requests of one double
        # click): that first diagnosis is the answer.
        delete_stored_files(stored)
        existing = _submitted(user, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing
    except BaseException:
        delete_stored_files(stored)
        raise
    logger.info("diagnosis %s submitted (%sx%s)", diagnosis.pk, image.width, image.height)
    return diagnosis


def _submitted(user: User, key: uuid.UUID) -> Diagnosis | None:
    return Diagnosis.objects.filter(owner=user, idempotency_key=key).first()


def retry_diagnosis(*, diagnosis: Diagnosis) -> bool:
    """Queue a failed diagnosis again with a fresh attempt count (the person's "try again").

    Returns False when it is not failed (a second click); raises ``ServiceNotReady`` when no
    model is active.
    """
    if not inference.service_ready():
        raise ServiceNotReady
    with transaction.atomic():
        updated = Diagnosis.objects.filter(pk=diagnosis.pk, status=Diagnosis.Status.FAILED).update(
            status=Diagnosis.Status.QUEUED,
            attempts=0,
            claim_token=None,
            failure_code="",
            failure_detail="",
            started_at=None,
            finished_at=None,
            enqueued_at=timezone.now(),
        )
        if updated:
            transaction.on_commit(partial(tasks.enqueue_diagnosis, diagnosis.pk), robust=True)
    return bool(updated)


def delete_diagnosis(*, diagnosis: Diagnosis) -> None:
    """Delete one diagnosis; its photo and thumbnail go once that is committed."""
    with transaction.atomic():
        diagnosis.delete()


def delete_all_diagnoses(*, user: User) -> int:
    """Delete every diagnosis of ``user`` and their files; returns how many were deleted."""
    with transaction.atomic():
        count, _ = Diagnosis.objects.filter(owner=user).delete()
    return count


def export_diagnoses(*, user: User, archive: zipfile.ZipFile) -> int:
    """Write every diagnosis of ``user`` into ``archive``: ``diagnoses.json`` (oldest first, each
    with its photo's spot and what the person noticed) and each photo as
    ``images/<public id>.jpg``. Returns how many diagnoses were written.

    A photo missing from storage is logged and its record names no image.
    """
    from spots.services import diagnosis_export_fields

    records = []
    rows = Diagnosis.objects.for_user(user).select_related("spot", "answers")
    for diagnosis in rows.order_by("created_at", "pk"):
        image_name = f"images/{diagnosis.public_id}.jpg"
        try:
            with default_storage.open(diagnosis.image.name, "rb") as image:
                archive.writestr(image_name, image.read())
        except OSError:
            logger.warning("export: photo of diagnosis %s is missing", diagnosis.pk)
            image_name = ""
        records.append(_export_record(diagnosis, image_name) | diagnosis_export_fields(diagnosis))
    archive.writestr("diagnoses.json", json.dumps(records, cls=DjangoJSONEncoder, indent=2))
    return len(records)


def _export_record(diagnosis: Diagnosis, image_name: str) -> dict[str, Any]:
    return {
        "id": str(diagnosis.public_id),
        "created_at": diagnosis.created_at,
        "finished_at": diagnosis.finished_at,
        "status": diagnosis.status,
        "outcome": diagnosis.outcome,
        "red_flag": diagnosis.red_flag,
        "photo_type": diagnosis.photo_type,
        "quality_issue": diagnosis.quality_issue,
        "gate_score": diagnosis.gate_score,
        "predictions": diagnosis.predictions,
        "model_version": diagnosis.model_version,
        "failure": diagnosis.failure_code,
        "image": image_name,
    }


def delete_stored_files(names: Iterable[str]) -> None:
    """Remove files from private media (after the rows that named them are gone)."""
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except OSError:
            # The row is gone; a file left behind is logged for the operator, not fatal.
            logger.warning("could not delete the file %s", name, exc_info=True)


def outcome_counts(*, model_version: str) -> list[tuple[str, int]]:
    """(outcome label, count) of the finished checks one model version made, for staff."""
    from django.db.models import Count

    counts = dict(
        Diagnosis.objects.filter(model_version=model_version, status=Diagnosis.Status.SUCCEEDED)
        .values_list("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    return [(str(label), counts.get(value, 0)) for value, label in Diagnosis.Outcome.choices]
