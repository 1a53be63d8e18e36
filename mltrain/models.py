"""Records of training runs and of the model versions the site can serve."""

from __future__ import annotations

from pathlib import Path

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TrainingRun(models.Model):
    """One ``train_model`` invocation.

    Status transitions: ``running`` -> ``succeeded`` (its ``model_version`` is set) or
    ``running`` -> ``failed`` (``error`` says why). A process killed mid-run leaves ``running``;
    ``train_model --resume`` continues it from its checkpoint.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    arch = models.CharField(_("architecture"), max_length=40)
    recipe = models.CharField(_("recipe"), max_length=40, default="reference")
    weights = models.CharField(_("initial weights"), max_length=500, blank=True)
    data_path = models.CharField(_("data"), max_length=500)
    version = models.SlugField(_("version"), max_length=100)
    options = models.JSONField(_("options"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RUNNING
    )
    error = models.TextField(_("error"), blank=True)
    history = models.JSONField(_("history"), default=list, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    model_version = models.ForeignKey(
        "ModelVersion",
        verbose_name=_("model version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="training_runs",
    )

    class Meta:
        verbose_name = _("training run")
        verbose_name_plural = _("training runs")
        ordering = ("-started_at",)

    def __str__(self) -> str:
        return f"{self.version} ({self.arch}, {self.status})"

    @property
    def seconds_per_epoch(self) -> float | None:
        seconds = [row.get("seconds") for row in self.history if row.get("seconds")]
        return round(sum(seconds) / len(seconds), 1) if seconds else None


class ModelVersionQuerySet(models.QuerySet["ModelVersion"]):
    def active(self) -> ModelVersion | None:
        """The version the site serves, or None."""
        return self.filter(is_active=True).first()


class ModelVersion(models.Model):
    """A registered model artifact (a directory written by ``mltrain.ml.artifacts``).

    At most one version is active (a partial unique constraint); ``services.activate_model_version``
    switches it in one transaction.
    """

    version = models.SlugField(_("version"), max_length=100, unique=True)
    arch = models.CharField(_("architecture"), max_length=40)
    path = models.CharField(_("artifact folder"), max_length=500)
    sha256 = models.CharField(_("sha256 of model.onnx"), max_length=64)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="mltrain_single_active_model_version",
            )
        ]
        permissions = [("activate_modelversion", _("Can activate a model version"))]

    def __str__(self) -> str:
        return self.version

    @property
    def artifact_dir(self) -> Path:
        return Path(self.path)
