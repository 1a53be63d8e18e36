"""The diagnosis row: one uploaded photo and the job that classifies it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def _random_name(folder: str) -> str:
    # Names say nothing about the person or the public id; two hex characters spread the files.
    token = uuid.uuid4().hex
    return f"diagnoses/{folder}/{token[:2]}/{token}.jpg"


def image_upload_to(instance: Diagnosis, filename: str) -> str:
    return _random_name("images")


def thumbnail_upload_to(instance: Diagnosis, filename: str) -> str:
    return _random_name("thumbnails")


class DiagnosisQuerySet(models.QuerySet["Diagnosis"]):
    def for_user(self, user: User | AnonymousUser) -> DiagnosisQuerySet:
        """The person's own diagnoses; nothing at all for an anonymous visitor."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def with_condition(self, class_key: str) -> DiagnosisQuerySet:
        """Answers naming ``class_key`` anywhere in their top-3 (refused photos name none)."""
        in_top3 = models.Q()
        for index in range(3):
            in_top3 |= models.Q(**{f"predictions__{index}__key": class_key})
        return self.filter(in_top3)

    def unfinished(self) -> DiagnosisQuerySet:
        return self.filter(status__in=[Diagnosis.Status.QUEUED, Diagnosis.Status.RUNNING])


class Diagnosis(models.Model):
    """One photo and the job that classifies it; the row is the job's only state.

    Status transitions (every one a conditional ``UPDATE ... WHERE status = ...``)::

        (upload) ──────────────────────────────▶ QUEUED      submit_diagnosis; enqueued on commit
        QUEUED ──worker claims, attempts + 1──▶ RUNNING      claim_diagnosis
        RUNNING ──model ran────────────────────▶ SUCCEEDED   complete_diagnosis, with an outcome
        RUNNING ──no usable model, unreadable──▶ FAILED      fail_diagnosis
        RUNNING ──transient error (retry)──────▶ QUEUED      release_diagnosis, then Celery retry
        RUNNING ──redelivered after the worker died──▶ RUNNING   claim again, attempts + 1
        QUEUED | RUNNING ──stuck past the stale limit──▶ QUEUED (re-enqueued) by the sweeper,
                         or FAILED once ``attempts`` reached DIAGNOSIS_MAX_ATTEMPTS
        FAILED ──the person asks to try again──▶ QUEUED      retry_diagnosis (attempts reset)

    SUCCEEDED is final, whatever its ``outcome``: ANSWERED (the top-3), CANT_TELL (the top-3,
    but the calibrated first answer is too unsure), NOT_SKIN or POOR_QUALITY (no disease names,
    no percentages; the gate's score or the quality problem is recorded instead).

    ``attempts`` counts claims: a photo that kills its worker every time fails after
    DIAGNOSIS_MAX_ATTEMPTS instead of looping. A worker only writes the outcome of its own claim
    (``claim_token`` still the one it set), so a duplicate or stolen delivery never writes
    twice.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting in line")
        RUNNING = "running", _("Being analysed")
        SUCCEEDED = "succeeded", _("Done")
        FAILED = "failed", _("Failed")

    class Outcome(models.TextChoices):
        """What the checker concluded (SUCCEEDED rows only); the label is what history shows."""

        ANSWERED = "answered", _("Answered")
        CANT_TELL = "cant_tell", _("The checker can't tell")
        NOT_SKIN = "not_skin", _("Not a close-up photo of skin")
        POOR_QUALITY = "poor_quality", _("Photo too poor to judge")

    class FailureCode(models.TextChoices):
        """Why a job failed; the label is what the person reads."""

        NO_MODEL = (
            "no_model",
            _("The checker is not ready: no model is active. Please try again later."),
        )
        MODEL_UNUSABLE = (
            "model_unusable",
            _(
                "The checker's model could not be loaded. The site's staff have been told; "
                "please try again later."
            ),
        )
        IMAGE_UNREADABLE = (
            "image_unreadable",
            _("Your stored photo could not be read. Please upload it again."),
        )
        TOO_MANY_ATTEMPTS = (
            "too_many_attempts",
            _("The check was tried several times without finishing. Please try again later."),
        )
        TIMED_OUT = "timed_out", _("The check took too long. Please try again later.")
        INTERNAL = (
            "internal",
            _("Something went wrong on our side while checking your photo. Please try again."),
        )

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="diagnoses"
    )
    image = models.FileField(upload_to=image_upload_to, max_length=200)
    thumbnail = models.FileField(upload_to=thumbnail_upload_to, max_length=200)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    #: sha256 of the stored copy: with the form's token it tells a double click (same photo)
    #: from a new photo sent from a page opened earlier.
    content_sha256 = models.CharField(max_length=64, blank=True)
    idempotency_key = models.UUIDField(null=True, blank=True, editable=False)
    #: The spot the person says this photo shows (optional); deleting the spot may keep it.
    spot = models.ForeignKey(
        "spots.Spot",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="diagnoses",
    )

    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    #: Set by each claim; a worker writes the outcome only while the token is still its own.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    #: When the job was last handed to the broker; NULL when that failed (broker down), which
    #: the sweeper reads as "enqueue me now".
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    #: Top-3, most likely first: ``[{"key": "melanoma", "probability": 0.41}, ...]``.
    predictions = models.JSONField(default=list, blank=True)
    top_class = models.CharField(max_length=64, blank=True, db_index=True)
    model_version = models.CharField(max_length=100, blank=True)
    model_sha256 = models.CharField(max_length=64, blank=True)

    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, db_index=True)
    #: The most urgent skin cancer plausible in the top-3 (a class key), "" when none: the
    #: red flag that history marks and the result page leads with.
    red_flag = models.CharField(max_length=64, blank=True)
    #: ``clinical`` or ``dermoscopic`` as the photo-type head saw it ("" without a trust bundle).
    photo_type = models.CharField(max_length=16, blank=True)
    #: The not-skin gate's score (higher: less like the skin photos the model knows).
    gate_score = models.FloatField(null=True, blank=True)
    #: A ``mltrain.ml.quality.QualityIssue`` value for POOR_QUALITY rows.
    quality_issue = models.CharField(max_length=16, blank=True)
    #: How often the first answer was right in testing on photos of this type (the model's own
    #: figure, kept with the row so the page always quotes the model that answered).
    reference_accuracy = models.FloatField(null=True, blank=True)

    #: A ``FailureCode`` value. Not ``choices=``: rewording a message needs no migration.
    failure_code = models.CharField(max_length=32, blank=True)
    #: Technical detail for staff and logs (English, never shown to the person).
    failure_detail = models.TextField(blank=True)

    queue_wait_ms = models.PositiveIntegerField(null=True, blank=True)
    inference_ms = models.PositiveIntegerField(null=True, blank=True)

    objects = DiagnosisQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        indexes = [models.Index(fields=["owner", "-created_at"], name="diagnosis_owner_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"], name="diagnosis_unique_submission"
            ),
        ]

    def __str__(self) -> str:
        return f"diagnosis {self.public_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}

    @property
    def failure_message(self) -> str:
        """The sentence the person reads about a failure, in their language."""
        if not self.failure_code:
            return ""
        try:
            return str(self.FailureCode(self.failure_code).label)
        except ValueError:
            return str(self.FailureCode.INTERNAL.label)

    @property
    def has_answer(self) -> bool:
        """Whether the page may name conditions (answered or can't tell, not refused)."""
        return self.status == self.Status.SUCCEEDED and self.outcome in {
            "",  # rows finished before outcomes existed were answers
            self.Outcome.ANSWERED,
            self.Outcome.CANT_TELL,
        }

    def top_predictions(self) -> list[dict[str, Any]]:
        return [p for p in self.predictions if isinstance(p, dict)][:3]
