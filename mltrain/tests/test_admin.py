from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from mltrain import services
from mltrain.models import ModelVersion
from mltrain.tests.conftest import copy_artifact


@pytest.fixture
def versions(tiny_sources, tmp_path: Path, db):
    for name, source in zip(("alpha", "beta"), tiny_sources, strict=True):
        path = copy_artifact(source, tmp_path / "models", name)
        services.register_model_version(artifact_dir=path, activate=name == "alpha")
    return ModelVersion.objects.order_by("version")


def _staff(user_factory, *perms: str):
    user = user_factory(is_staff=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_staff_see_versions_read_only_with_metrics_and_plots(client, user_factory, versions):
    client.force_login(_staff(user_factory, "view_modelversion"))
    alpha = versions[0]
    page = client.get(reverse("admin:mltrain_modelversion_change", args=[alpha.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "balanced_accuracy" in html
    assert "melanoma" in html  # the per-class table
    plot_url = reverse("admin:mltrain_modelversion_plot", args=[alpha.pk, "confusion_matrix.png"])
    assert plot_url in html
    assert 'name="_save"' not in html  # read-only
    plot = client.get(plot_url)
    assert plot.status_code == 200
    assert b"".join(plot.streaming_content)[:4] == b"\x89PNG"
    assert (
        client.get(reverse("admin:mltrain_modelversion_plot", args=[alpha.pk, "x.png"])).status_code
        == 404
    )


def test_the_activate_action_needs_the_permission(client, user_factory, versions):
    changelist = reverse("admin:mltrain_modelversion_changelist")
    beta = versions.get(version="beta")
    client.force_login(_staff(user_factory, "view_modelversion"))
    assert "Activate the selected" not in client.get(changelist).content.decode()
    client.post(changelist, {"action": "activate", "_selected_action": [beta.pk]})
    assert ModelVersion.objects.active().version == "alpha"

    client.force_login(_staff(user_factory, "view_modelversion", "activate_modelversion"))
    assert "Activate the selected" in client.get(changelist).content.decode()
    client.post(changelist, {"action": "activate", "_selected_action": [beta.pk]})
    assert ModelVersion.objects.active().version == "beta"


def test_training_runs_are_listed_read_only(client, user_factory, manifest_data, db):
    from django.core.management import call_command

    call_command("train_model", "--arch", "custom_cnn", "--data", str(manifest_data), "--name",
                 "run-1", "--epochs", "1", "--input-size", "32", "--no-progress")  # fmt: skip
    client.force_login(user_factory(is_staff=True, is_superuser=True))
    listing = client.get(reverse("admin:mltrain_trainingrun_changelist"))
    assert "run-1" in listing.content.decode()
    from mltrain.models import TrainingRun

    run = TrainingRun.objects.get()
    detail = client.get(reverse("admin:mltrain_trainingrun_change", args=[run.pk])).content.decode()
    assert "val balanced accuracy" in detail
    assert client.get(reverse("admin:mltrain_trainingrun_add")).status_code == 403


def test_staff_see_each_outcome_count_and_the_trust_figures(client, user_factory, db):
    from diagnosis.models import Diagnosis
    from mltrain.services import default_artifact_dirs, register_model_version

    version = register_model_version(artifact_dir=default_artifact_dirs()[-1])
    owner = user_factory()
    outcomes = ["answered", "answered", "cant_tell", "not_skin", "poor_quality", "not_skin"]
    for index, outcome in enumerate(outcomes):
        Diagnosis.objects.create(
            owner=owner,
            image=f"diagnoses/images/x{index}.jpg",
            thumbnail=f"diagnoses/thumbnails/x{index}.jpg",
            status=Diagnosis.Status.SUCCEEDED,
            outcome=outcome,
            model_version=version.version,
        )
    Diagnosis.objects.create(  # another version's check is not counted
        owner=owner, image="a.jpg", thumbnail="b.jpg", status="succeeded", outcome="not_skin"
    )
    client.force_login(_staff(user_factory, "view_modelversion"))
    page = client.get(reverse("admin:mltrain_modelversion_change", args=[version.pk]))
    html = page.content.decode()
    assert "<tr><th>Answered</th><td>2</td></tr>" in html
    assert "<tr><th>Not a close-up photo of skin</th><td>2</td></tr>" in html
    assert "<tr><th>Photo too poor to judge</th><td>1</td></tr>" in html
    assert "Risk-coverage" in html and "<td>clinical</td>" in html
