"""The sweep (several budgeted runs on one split) and packaging its saved state as an artifact."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError

from mltrain.ml.data import ImageDataset, ImageRecord, load_dataset
from mltrain.ml.predictors import load_predictor
from mltrain.ml.sampling import sample_weights
from mltrain.ml.split import make_split, save_split
from mltrain.ml.sweep import main as sweep_main
from mltrain.ml.sweep import weights_label
from mltrain.ml.trained_state import load_trained_state
from mltrain.models import ModelVersion

TINY = {"input_size": 32, "batch_size": 8, "epochs": 2, "epoch_samples": 16, "patience": 5}


@pytest.fixture
def swept(manifest_data: Path, tmp_path: Path) -> Path:
    split_file = tmp_path / "split.json"
    save_split(make_split(load_dataset(manifest_data)), split_file)
    plan = [
        {"name": "kept", "arch": "custom_cnn", "budget_s": 60, "save_state": True,
         "overrides": TINY},
        {"name": "bad", "arch": "custom_cnn", "budget_s": 60, "overrides": {"sampling": "nope"}},
        {"name": "sampled", "arch": "custom_cnn", "budget_s": 60,
         "overrides": {**TINY, "sampling": "class_sqrt"}},
    ]  # fmt: skip
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    out = tmp_path / "out"
    sweep_main(["--data", str(manifest_data), "--split", str(split_file),
                "--plan", str(plan_file), "--out", str(out), "--device", "cpu"])  # fmt: skip
    return out


def test_a_sweep_keeps_every_row_and_a_failed_run_does_not_stop_the_others(swept: Path):
    rows = {r["name"]: r for r in json.loads((swept / "sweep.json").read_text())}
    assert set(rows) == {"kept", "bad", "sampled"}
    assert "nope" in rows["bad"]["error"]
    assert rows["kept"]["weights"] == "scratch"
    for name in ("kept", "sampled"):
        assert rows[name]["epochs"] == 2
        assert 0.0 <= rows[name]["test_balanced_accuracy"] <= 1.0
        assert rows[name]["clinical_balanced_accuracy"] is not None
    table = (swept / "sweep.md").read_text()
    assert table.count("\n") == 2 + 3
    assert (swept / "kept.pt").is_file() and not (swept / "sampled.pt").exists()


def test_the_first_run_failing_stops_the_sweep(manifest_data: Path, tmp_path: Path):
    split_file = tmp_path / "split.json"
    save_split(make_split(load_dataset(manifest_data)), split_file)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps([{"name": "x", "arch": "no_such_net", "budget_s": 5}]))
    with pytest.raises(ValueError, match="no_such_net"):
        sweep_main(["--data", str(manifest_data), "--split", str(split_file), "--plan",
                    str(plan_file), "--out", str(tmp_path / "o"), "--device", "cpu"])  # fmt: skip


def test_a_total_budget_skips_what_cannot_fit(manifest_data: Path, tmp_path: Path):
    split_file = tmp_path / "split.json"
    save_split(make_split(load_dataset(manifest_data)), split_file)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps([{"name": "late", "arch": "custom_cnn", "budget_s": 60}]))
    sweep_main(["--data", str(manifest_data), "--split", str(split_file), "--plan",
                str(plan_file), "--out", str(tmp_path / "o"), "--device", "cpu",
                "--total-seconds", "10"])  # fmt: skip
    rows = json.loads((tmp_path / "o" / "sweep.json").read_text())
    assert rows == [{"name": "late", "arch": "custom_cnn", "error": "no time left"}]


@pytest.mark.django_db
def test_a_saved_state_becomes_an_artifact_that_predicts_like_the_state(
    swept: Path, manifest_data: Path, settings
):
    state = load_trained_state(swept / "kept.pt")
    assert state["split"]["test"] and state["training"]["history"]
    out = io.StringIO()
    call_command("train_model", "--arch", "custom_cnn", "--data", str(manifest_data),
                 "--trained-state", str(swept / "kept.pt"), "--name", "from-gpu",
                 "--no-progress", stdout=out)  # fmt: skip
    version = ModelVersion.objects.get(version="from-gpu")
    manifest = json.loads((Path(version.path) / "manifest.json").read_text())
    assert manifest["input_size"] == 32
    metrics = json.loads((Path(version.path) / "metrics.json").read_text())
    assert metrics["training"]["history"] == state["training"]["history"]
    assert "trained elsewhere" in out.getvalue().lower() or "registered" in out.getvalue()
    split = json.loads((Path(version.path) / "split.json").read_text())
    assert split["test"] == state["split"]["test"]

    from mltrain.ml.architectures import build_model

    model = build_model("custom_cnn").eval()
    model.load_state_dict(state["state_dict"])
    x = np.random.default_rng(0).normal(size=(3, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).argmax(1).numpy()
    predictor = load_predictor(version.path, backend="onnx")
    assert (predictor.predict_proba(x).argmax(1) == expected).all()


@pytest.mark.django_db
def test_a_trained_state_of_another_architecture_is_a_clear_error(swept: Path, manifest_data):
    with pytest.raises(CommandError, match="holds a custom_cnn model, not resnet18"):
        call_command("train_model", "--arch", "resnet18", "--data", str(manifest_data),
                     "--trained-state", str(swept / "kept.pt"), stdout=io.StringIO())  # fmt: skip


@pytest.mark.django_db
def test_a_file_that_is_not_a_trained_state_is_a_clear_error(tmp_path: Path, manifest_data):
    plain = tmp_path / "plain.pt"
    torch.save({"weight": torch.zeros(2)}, plain)
    for path, message in ((plain, "is not a trained state"), (tmp_path / "no.pt", "not exist")):
        with pytest.raises(CommandError, match=message):
            call_command("train_model", "--arch", "custom_cnn", "--data", str(manifest_data),
                         "--trained-state", str(path), stdout=io.StringIO())  # fmt: skip


def test_class_only_sampling_ignores_the_photo_type():
    records = [ImageRecord(Path(f"{i}.jpg"), 0, str(i), "ham") for i in range(9)]
    records += [ImageRecord(Path(f"c{i}.jpg"), 0, f"c{i}", "dermnet") for i in range(1)]
    records += [ImageRecord(Path(f"n{i}.jpg"), 1, f"n{i}", "dermnet") for i in range(4)]
    dataset = ImageDataset(records, transform=None)
    by_type = sample_weights(dataset)
    by_class = sample_weights(dataset, by_photo_type=False)
    # Class shares follow sqrt(size) either way: sqrt(10) : sqrt(4).
    for weights in (by_type, by_class):
        assert math.isclose(weights[:10].sum() / weights[10:].sum(), math.sqrt(10) / 2)
    # Only the photo-type-aware weights lift the single clinical image of class 0.
    assert by_class[9] == pytest.approx(by_class[0])
    assert by_type[9] > 2 * by_type[0]


@pytest.mark.parametrize("problem", ["no_data", "no_split", "no_plan", "bad_plan"])
def test_bad_sweep_input_is_one_clear_error_before_any_training(
    problem: str, manifest_data: Path, tmp_path: Path, capsys
):
    split_file = tmp_path / "split.json"
    save_split(make_split(load_dataset(manifest_data)), split_file)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps([{"name": "x", "arch": "custom_cnn", "budget_s": 5}]))
    args = {"--data": str(manifest_data), "--split": str(split_file), "--plan": str(plan_file)}
    if problem == "no_data":
        args["--data"] = str(tmp_path / "missing")
    elif problem == "no_split":
        args["--split"] = str(tmp_path / "missing.json")
    elif problem == "no_plan":
        args["--plan"] = str(tmp_path / "missing-plan.json")
    else:
        plan_file.write_text(json.dumps({"name": "not a list"}))
    argv = [part for pair in args.items() for part in pair]
    with pytest.raises(SystemExit) as stopped:
        sweep_main([*argv, "--out", str(tmp_path / "out"), "--device", "cpu"])
    assert stopped.value.code == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_table_names_what_each_run_started_from():
    assert weights_label("none") == "scratch"
    assert weights_label("imagenet") == "ImageNet (torchvision)"
    # A continuation from one of our models is not mistaken for ImageNet weights.
    assert weights_label("models/v1/model.pt") == "model.pt"
    assert weights_label("../shared/weights/mobilenet_v2_imagenet.pth") == (
        "mobilenet_v2_imagenet.pth"
    )
