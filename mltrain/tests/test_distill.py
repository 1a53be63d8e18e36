"""Distillation: the loss (values, gradients, temperature), the teacher-logit cache, a run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mltrain.ml.config import TrainingError
from mltrain.ml.data import ImageDataset, load_dataset
from mltrain.ml.distill import (
    TeacherTargets,
    TrainingLoss,
    cache_path,
    distillation_loss,
    load_teacher,
    teacher_logits,
)
from mltrain.ml.engine import train
from mltrain.ml.transforms import EvalTransform
from mltrain.tests.conftest import make_image, tiny_config, train_tiny

STUDENT = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
TEACHER = torch.tensor([[1.0, 1.0, -2.0], [-1.0, 3.0, 0.5]])
LABELS = torch.tensor([0, 1])


def test_alpha_zero_is_the_label_loss_and_alpha_one_the_scaled_kl():
    hard = distillation_loss(STUDENT, TEACHER, LABELS, temperature=3.0, alpha=0.0)
    assert float(hard) == pytest.approx(float(F.cross_entropy(STUDENT, LABELS)))
    soft = distillation_loss(STUDENT, TEACHER, LABELS, temperature=2.0, alpha=1.0)
    # KL(p || q) by hand, averaged over the two rows, times T^2.
    p, q = (torch.softmax(x / 2.0, dim=1) for x in (TEACHER, STUDENT))
    by_hand = float((p * (p / q).log()).sum(dim=1).mean()) * 4.0
    assert float(soft) == pytest.approx(by_hand, rel=1e-5)
    mixed = distillation_loss(STUDENT, TEACHER, LABELS, temperature=2.0, alpha=0.25)
    assert float(mixed) == pytest.approx(0.25 * by_hand + 0.75 * float(F.cross_entropy(
        STUDENT, LABELS)), rel=1e-5)  # fmt: skip


def test_a_student_that_matches_the_teacher_has_no_soft_loss():
    same = distillation_loss(TEACHER, TEACHER.clone(), LABELS, temperature=4.0, alpha=1.0)
    assert float(same) == pytest.approx(0.0, abs=1e-6)


def test_the_soft_gradient_is_t_times_the_softened_difference():
    student = STUDENT.clone().requires_grad_(True)
    teacher = TEACHER.clone().requires_grad_(True)
    distillation_loss(student, teacher, LABELS, temperature=3.0, alpha=1.0).backward()
    expected = 3.0 * (torch.softmax(STUDENT / 3, 1) - torch.softmax(TEACHER / 3, 1)) / 2
    torch.testing.assert_close(student.grad, expected)
    assert teacher.grad is None  # the teacher is a constant target, never trained through


def test_a_high_temperature_approaches_matching_centred_logits():
    """As T grows, T^2 * KL tends to the squared distance of the centred logits / (2 * classes):
    the soft part keeps its scale instead of vanishing."""
    student = STUDENT.clone().requires_grad_(True)
    loss = distillation_loss(student, TEACHER, LABELS, temperature=100.0, alpha=1.0)
    centred = (STUDENT - STUDENT.mean(1, keepdim=True)) - (TEACHER - TEACHER.mean(1, keepdim=True))
    limit = float((centred**2).sum(1).mean()) / (2 * 3)
    assert float(loss) == pytest.approx(limit, rel=0.02)
    softer = distillation_loss(STUDENT, TEACHER, LABELS, temperature=1.0, alpha=1.0)
    assert float(softer) != pytest.approx(float(loss), rel=0.05)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(STUDENT, TEACHER, LABELS, temperature=0.0, alpha=0.5)
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(STUDENT, TEACHER, LABELS, temperature=1.0, alpha=1.5)


def test_the_training_loss_uses_the_teacher_only_when_the_targets_carry_it():
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    loss_fn = TrainingLoss(criterion, alpha=0.5, temperature=2.0)
    plain, n = loss_fn(STUDENT, LABELS)
    assert n == 2 and float(plain) == pytest.approx(float(criterion(STUDENT, LABELS)))
    distilled, n = loss_fn(STUDENT, [LABELS, TEACHER])
    expected = distillation_loss(STUDENT, TEACHER, LABELS, temperature=2.0, alpha=0.5,
                                 label_loss=criterion)  # fmt: skip
    assert n == 2 and float(distilled) == pytest.approx(float(expected))
    assert math.isfinite(float(distilled)) and float(distilled) != float(plain)


@pytest.fixture
def teacher_dir(tmp_path: Path) -> Path:
    """A model folder as a teacher reads it (manifest.json and model.pt), without training one:
    the cache and the wiring do not care how good the teacher is."""
    from mltrain.ml.architectures import build_model

    folder = tmp_path / "teacher"
    folder.mkdir()
    torch.manual_seed(3)
    torch.save(build_model("custom_cnn").state_dict(), folder / "model.pt")
    manifest = {"arch": "custom_cnn", "input_size": 32, "mean": [0.5] * 3, "std": [0.5] * 3}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_teacher_logits_are_computed_once_and_then_read_from_the_cache(
    teacher_dir: Path, manifest_data: Path, tmp_path: Path
):
    records = load_dataset(manifest_data).records[:12]
    teacher = load_teacher(teacher_dir)
    lines: list[str] = []
    first = teacher_logits(teacher, records, cache_dir=tmp_path / "cache", log=lines.append)
    assert first.shape == (12, 10) and first.dtype == np.float32
    # The logits are the teacher's on the plain image.
    image, _ = ImageDataset(records, EvalTransform(teacher.input_size, teacher.mean,
                                                   teacher.std))[3]  # fmt: skip
    with torch.no_grad():
        direct = teacher.model(image[None]).numpy()[0]
    np.testing.assert_allclose(first[3], direct, rtol=1e-4, atol=1e-4)

    # Second time: no forward pass (a teacher that would fail if asked proves it).
    teacher.model = None  # type: ignore[assignment]
    again = teacher_logits(teacher, records, cache_dir=tmp_path / "cache", log=lines.append)
    np.testing.assert_array_equal(again, first)
    assert "cached" in lines[-1]


def test_the_cache_key_changes_with_the_data_and_the_teacher(
    teacher_dir: Path, manifest_data: Path, tmp_path: Path
):
    records = load_dataset(manifest_data).records[:12]
    teacher = load_teacher(teacher_dir)
    key = cache_path(tmp_path, records, teacher)
    assert cache_path(tmp_path, records[:11], teacher) != key
    make_image(0, 77, size=30).save(records[0].path)  # the same file, other pixels and size
    assert cache_path(tmp_path, records, teacher) != key
    teacher.identity = "another teacher"
    assert cache_path(tmp_path, records[:12], teacher).name != key.name


def test_a_bad_teacher_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ValueError, match="does not exist"):
        load_teacher(tmp_path / "nowhere")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match="manifest"):
        load_teacher(tmp_path / "folder")


def test_a_run_distils_from_a_teacher_and_caches_its_logits(
    teacher_dir: Path, manifest_data: Path, tmp_path: Path
):
    outcome = train_tiny(manifest_data, tmp_path / "students", version="student",
                         teacher=str(teacher_dir), distill_alpha=0.7)  # fmt: skip
    assert len(outcome.result.history) == 1
    assert outcome.metrics["training"]["config"]["teacher"] == str(teacher_dir)
    cached = list((tmp_path / "students" / ".teacher-logits").glob("teacher-logits-*.npy"))
    assert len(cached) == 1
    assert np.load(cached[0]).shape == (outcome.metrics["split"]["train"], 10)


def test_the_engine_refuses_a_teacher_without_its_logits(manifest_data: Path):
    from mltrain.ml.architectures import build_model
    from mltrain.tests.conftest import tiny_train_val_sets

    train_set, val_set = tiny_train_val_sets(manifest_data)
    with pytest.raises(TrainingError, match="teacher logits"):
        train(build_model("custom_cnn"), train_set, val_set, tiny_config(teacher="x"),
              log=lambda _m: None, progress=False)  # fmt: skip
    wrapped = TeacherTargets(train_set, np.zeros((len(train_set), 10), dtype=np.float32))
    _image, (label, logits) = wrapped[0]
    assert label == train_set.records[0].label and logits.shape == (10,)
    assert wrapped.records == train_set.records


@pytest.mark.django_db
def test_train_model_refuses_a_bad_teacher_before_recording_a_run(manifest_data: Path, tmp_path):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from mltrain.models import TrainingRun

    with pytest.raises(CommandError, match="does not exist"):
        call_command("train_model", "--arch", "custom_cnn", "--data", str(manifest_data),
                     "--teacher", str(tmp_path / "no-teacher"), stdout=io.StringIO())  # fmt: skip
    assert not TrainingRun.objects.exists()
