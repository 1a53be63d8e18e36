from __future__ import annotations

from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from mltrain import services
from mltrain.ml.artifacts import ArtifactError
from mltrain.models import ModelVersion
from mltrain.tests.conftest import copy_artifact


@pytest.fixture
def two_artifacts(tiny_sources, tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "models"
    return copy_artifact(tiny_sources[0], root, "alpha"), copy_artifact(
        tiny_sources[1], root, "beta"
    )


@pytest.mark.django_db(transaction=True)
def test_activation_switches_the_single_active_version(two_artifacts):
    alpha = services.register_model_version(artifact_dir=two_artifacts[0], activate=True)
    assert services.active_model_version() == alpha
    beta = services.register_model_version(artifact_dir=two_artifacts[1])
    assert services.active_model_version() == alpha  # registering does not activate

    services.activate_model_version(version="beta")
    assert list(ModelVersion.objects.filter(is_active=True)) == [beta]
    assert services.active_model_version().version == "beta"  # the cache was dropped
    assert ModelVersion.objects.get(version="beta").activated_at is not None


@pytest.mark.django_db
def test_the_database_refuses_two_active_versions(two_artifacts):
    services.register_model_version(artifact_dir=two_artifacts[0], activate=True)
    beta = services.register_model_version(artifact_dir=two_artifacts[1])
    beta.is_active = True
    with pytest.raises(IntegrityError), transaction.atomic():
        beta.save(update_fields=["is_active"])


@pytest.mark.django_db
def test_registering_is_idempotent_and_refuses_a_different_artifact_under_one_name(
    two_artifacts, tmp_path
):
    first = services.register_model_version(artifact_dir=two_artifacts[0])
    again = services.register_model_version(artifact_dir=two_artifacts[0])
    assert again.pk == first.pk
    assert first.metrics["accuracy"] is not None
    assert first.sha256 and first.path == str(two_artifacts[0].resolve())
    impostor = tmp_path / "impostor" / "alpha"
    impostor.parent.mkdir()
    two_artifacts[1].rename(impostor)
    manifest = impostor / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"version": "beta"', '"version": "alpha"'))
    with pytest.raises(ArtifactError, match="already registered"):
        services.register_model_version(artifact_dir=impostor)


@pytest.mark.django_db
def test_ensure_default_model_activates_the_shipped_artifact_once(two_artifacts, settings):
    settings.DEFAULT_MODEL_DIR = two_artifacts[0].parent
    assert services.ensure_default_model().version == "beta"  # the newest name
    assert ModelVersion.objects.count() == 1
    services.register_model_version(artifact_dir=two_artifacts[0], activate=True)
    assert services.ensure_default_model().version == "alpha"  # an active one is kept


@pytest.mark.django_db
def test_ensure_default_model_without_a_shipped_model_returns_none(settings, tmp_path):
    settings.DEFAULT_MODEL_DIR = tmp_path / "empty"
    assert services.ensure_default_model() is None
    assert services.active_model_version() is None


@pytest.mark.django_db
def test_the_cached_active_version_is_plain_values_rebuilt_as_a_model_version(two_artifacts):
    from django.core.cache import cache

    alpha = services.register_model_version(artifact_dir=two_artifacts[0], activate=True)
    services.forget_active_model_version()
    assert services.active_model_version() == alpha  # fills the cache
    cached = cache.get(services.ACTIVE_CACHE_KEY)
    assert isinstance(cached, dict)
    assert all(isinstance(value, (int, str, bool, dict, type(None))) or hasattr(value, "tzinfo")
               for value in cached.values())  # fmt: skip

    rebuilt = services.active_model_version()  # from the cache
    assert isinstance(rebuilt, ModelVersion)
    assert (rebuilt.pk, rebuilt.version, rebuilt.sha256, rebuilt.path) == (
        alpha.pk, alpha.version, alpha.sha256, alpha.path,
    )  # fmt: skip
    assert not rebuilt._state.adding


@pytest.mark.django_db
def test_a_cached_row_of_another_shape_is_read_again_from_the_database(two_artifacts):
    from django.core.cache import cache

    alpha = services.register_model_version(artifact_dir=two_artifacts[0], activate=True)
    cache.set(services.ACTIVE_CACHE_KEY, {"id": alpha.pk, "old_field": 1}, 60)
    assert services.active_model_version() == alpha
    assert "old_field" not in cache.get(services.ACTIVE_CACHE_KEY)
