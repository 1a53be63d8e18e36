from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
import torchvision
from django.core.management import call_command
from django.core.management.base import CommandError

from mltrain.models import ModelVersion, TrainingRun
from mltrain.tests.conftest import KAGGLE_FOLDERS, make_image

TINY = ["--epochs", "1", "--input-size", "32", "--batch-size", "8", "--no-progress"]


def _call(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _nothing_written(models_dir: Path) -> bool:
    written = list(models_dir.iterdir()) if models_dir.exists() else []
    return not written and not TrainingRun.objects.exists() and not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_train_model_registers_a_version_and_list_evaluate_activate_use_it(
    manifest_data: Path, settings
):
    out = _call("train_model", "--arch", "custom_cnn", "--data", str(manifest_data),
                "--name", "tiny-1", *TINY)  # fmt: skip
    assert "tiny-1 registered" in out
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.SUCCEEDED
    assert len(run.history) == 1
    version = ModelVersion.objects.get(version="tiny-1")
    assert Path(version.path) == (settings.MODELS_DIR / "tiny-1").resolve()
    assert not version.is_active

    assert "tiny-1" in _call("list_models")
    evaluated = _call("evaluate_model", "tiny-1", "--data", str(manifest_data))
    assert "balanced_accuracy" in evaluated
    assert "melanoma" in evaluated
    assert "No trust bundle" in evaluated  # an artifact without one says the gate is off
    _call("activate_model", "tiny-1")
    assert ModelVersion.objects.active().version == "tiny-1"
    assert _call("list_models").splitlines()[1].startswith("* tiny-1")


@pytest.mark.django_db
def test_a_missing_data_folder_is_a_clear_error(tmp_path, settings):
    with pytest.raises(CommandError, match="does not exist"):
        _call("train_model", "--arch", "custom_cnn", "--data", str(tmp_path / "none"), *TINY)
    assert _nothing_written(settings.MODELS_DIR)


@pytest.mark.django_db
def test_fewer_than_two_classes_is_a_clear_error(tmp_path, settings):
    folder = tmp_path / "one" / KAGGLE_FOLDERS[0]
    folder.mkdir(parents=True)
    for i in range(3):
        make_image(0, i).save(folder / f"{i}.jpg")
    with pytest.raises(CommandError, match="at least two"):
        _call("train_model", "--arch", "custom_cnn", "--data", str(tmp_path / "one"), *TINY)
    assert _nothing_written(settings.MODELS_DIR)


@pytest.mark.django_db
def test_an_unknown_class_folder_is_a_clear_error(folder_data: Path, settings):
    (folder_data / "11. Acne 300").mkdir()
    with pytest.raises(CommandError, match=r"Unknown class folder '11\. Acne 300'"):
        _call("train_model", "--arch", "custom_cnn", "--data", str(folder_data), *TINY)
    assert _nothing_written(settings.MODELS_DIR)


@pytest.mark.django_db
def test_an_unknown_architecture_is_a_clear_error(folder_data: Path, settings):
    with pytest.raises(CommandError, match=r"invalid choice: 'vgg16'"):
        _call("train_model", "--arch", "vgg16", "--data", str(folder_data), *TINY)
    assert _nothing_written(settings.MODELS_DIR)


@pytest.mark.django_db
def test_weights_of_the_wrong_shape_are_a_clear_error(folder_data: Path, tmp_path, settings):
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    with pytest.raises(CommandError, match="do not fit mobilenet_v2"):
        _call("train_model", "--arch", "mobilenet_v2", "--data", str(folder_data),
              "--weights", str(tmp_path / "r18.pth"), *TINY)  # fmt: skip
    assert _nothing_written(settings.MODELS_DIR)


@pytest.mark.django_db
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(folder_data: Path, settings):
    with pytest.raises(CommandError, match="no CUDA GPU"):
        _call("train_model", "--arch", "custom_cnn", "--data", str(folder_data),
              "--device", "cuda", *TINY)  # fmt: skip
    assert _nothing_written(settings.MODELS_DIR)


@pytest.mark.django_db
@pytest.mark.parametrize("decay", ["1.5", "1", "-0.1", "fast"])
def test_an_ema_decay_outside_zero_to_one_is_refused_before_any_work(folder_data, settings, decay):
    with pytest.raises(CommandError, match="--ema-decay"):
        _call("train_model", "--arch", "custom_cnn", "--data", str(folder_data),
              "--ema-decay", decay, *TINY)  # fmt: skip
    assert _nothing_written(settings.MODELS_DIR)


@pytest.mark.django_db
def test_activating_an_unknown_version_is_a_clear_error():
    with pytest.raises(CommandError, match="No model version 'nope'"):
        _call("activate_model", "nope")


@pytest.mark.django_db
def test_resume_needs_a_name(folder_data: Path):
    with pytest.raises(CommandError, match="--resume needs the --name"):
        _call("train_model", "--arch", "custom_cnn", "--data", str(folder_data), "--resume", *TINY)


@pytest.mark.django_db
def test_list_models_says_when_there_are_none():
    assert "No model versions" in _call("list_models")
