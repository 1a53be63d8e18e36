"""Writes and lookups for model versions and training runs.

The diagnosis worker calls ``active_model_version()`` before each job; it is cached for a few
seconds so activation reaches every worker quickly without a query per prediction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from mltrain.ml.artifacts import ArtifactError, load_manifest
from mltrain.models import ModelVersion, TrainingRun

logger = logging.getLogger(__name__)

#: Bump the suffix when the cached row changes shape, so old cached entries are ignored.
ACTIVE_CACHE_KEY = "mltrain:active-model-version:v2"
ACTIVE_CACHE_SECONDS = 10
_NONE = "none"  # cached marker for "no active version" (None means a cache miss)


def active_model_version() -> ModelVersion | None:
    """The active version, cached for ``ACTIVE_CACHE_SECONDS``.

    The cache holds the row's field values, not a pickled model instance (the rule in
    ``diseases/lookup.py``): a deploy that changes the class never unpickles old objects."""
    cached = cache.get(ACTIVE_CACHE_KEY)
    if cached == _NONE:
        return None
    if isinstance(cached, dict) and set(cached) == set(_active_fields()):
        return ModelVersion.from_db(ModelVersion.objects.db, list(cached), list(cached.values()))
    version = ModelVersion.objects.active()
    row = _NONE if version is None else {name: getattr(version, name) for name in _active_fields()}
    cache.set(ACTIVE_CACHE_KEY, row, ACTIVE_CACHE_SECONDS)
    return version


def _active_fields() -> list[str]:
    return [field.attname for field in ModelVersion._meta.concrete_fields]


def forget_active_model_version() -> None:
    cache.delete(ACTIVE_CACHE_KEY)


def register_model_version(*, artifact_dir: Path, activate: bool = False) -> ModelVersion:
    """Register an artifact folder (verifying every file's sha256); idempotent for the same
    artifact. Raises ``ArtifactError`` for a bad artifact or a version name already used by a
    different artifact."""
    manifest = load_manifest(artifact_dir, verify=True)
    path = str(Path(artifact_dir).resolve())
    with transaction.atomic():
        existing = ModelVersion.objects.select_for_update().filter(version=manifest.version).first()
        if existing is not None:
            if existing.sha256 != manifest.sha256:
                raise ArtifactError(
                    f"Version {manifest.version} is already registered with another artifact "
                    f"(sha256 {existing.sha256[:12]}...)."
                )
            if existing.path != path:
                # The same artifact moved (a new checkout or container path).
                existing.path = path
                existing.save(update_fields=["path"])
            version = existing
        else:
            version = ModelVersion.objects.create(
                version=manifest.version,
                arch=manifest.arch,
                path=path,
                sha256=manifest.sha256,
                metrics=dict(manifest.metrics),
            )
        if activate:
            version = activate_model_version(version=version)
    return version


def activate_model_version(*, version: ModelVersion | str) -> ModelVersion:
    """Make ``version`` the one the site serves (after checking its artifact still loads)."""
    with transaction.atomic():
        name = version if isinstance(version, str) else version.version
        target = ModelVersion.objects.select_for_update().filter(version=name).first()
        if target is None:
            raise ModelVersion.DoesNotExist(f"No model version {name!r}.")
        load_manifest(target.path, verify=True)
        if not target.is_active:
            ModelVersion.objects.filter(is_active=True).update(is_active=False)
            target.is_active = True
            target.activated_at = timezone.now()
            target.save(update_fields=["is_active", "activated_at"])
        transaction.on_commit(forget_active_model_version)
    logger.info("model version %s is active", target.version)
    return target


def artifact_dir_for(name: str) -> Path | None:
    """The folder of a registered version called ``name``, or ``name`` itself when it is an
    artifact folder; None when it is neither."""
    found = ModelVersion.objects.filter(version=name).only("path").first()
    if found is not None:
        return Path(found.path)
    return Path(name) if Path(name).is_dir() else None


def default_artifact_dirs() -> list[Path]:
    """Artifact folders shipped in ``settings.DEFAULT_MODEL_DIR``, newest name last."""
    root = Path(settings.DEFAULT_MODEL_DIR)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "manifest.json").is_file())


def ensure_default_model() -> ModelVersion | None:
    """When no version is active, register and activate the newest shipped default artifact.

    Returns the active version (None when there is none and nothing is shipped)."""
    current = ModelVersion.objects.active()
    if current is not None:
        if not Path(current.path).is_dir():
            # The checkout moved: re-point the shipped version when it is the one active.
            for folder in default_artifact_dirs():
                if folder.name == current.version:
                    return register_model_version(artifact_dir=folder)
        return current
    folders = default_artifact_dirs()
    if not folders:
        return None
    return register_model_version(artifact_dir=folders[-1], activate=True)


def start_training_run(
    *, arch: str, recipe: str, weights: str, data_path: str, version: str, options: dict[str, Any]
) -> TrainingRun:
    return TrainingRun.objects.create(
        arch=arch,
        recipe=recipe,
        weights=weights,
        data_path=data_path,
        version=version,
        options=options,
    )


def train_model_version(
    *,
    run: TrainingRun,
    train: Callable[[], Any],
    activate: bool = False,
) -> TrainingRun:
    """Run ``train`` (a ``mltrain.ml.pipeline.run_training`` call returning a ``RunOutcome``) for
    ``run``, register the artifact it writes and record the outcome on the run row. Failures mark
    the run failed and are re-raised."""
    try:
        outcome = train()
    except BaseException as exc:
        run.status = TrainingRun.Status.FAILED
        run.error = f"{exc.__class__.__name__}: {exc}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    version = register_model_version(artifact_dir=outcome.manifest.path, activate=activate)
    run.status = TrainingRun.Status.SUCCEEDED
    run.model_version = version
    run.history = outcome.result.history
    run.metrics = dict(outcome.manifest.metrics)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "model_version", "history", "metrics", "finished_at"])
    return run
