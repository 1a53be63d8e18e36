"""The trust bundle: its scores, the choices fitted on validation, its files, and the shipped
model's bundle on real and generated photos."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mltrain.ml.artifacts import load_manifest
from mltrain.ml.data import ImageRecord
from mltrain.ml.trust import bundle as trust
from mltrain.ml.trust.fit import (
    Part,
    choose_abstain_threshold,
    fit_bundle,
    fit_temperatures,
    risk_coverage,
    write_bundle,
)
from testing.artifacts import build_tiny_artifact
from testing.photos import lesion_photo

DEFAULT = next(
    (Path(__file__).resolve().parents[1] / "default_model").glob("*/manifest.json")
).parent


def unit(*rows: list[float]) -> np.ndarray:
    return trust.l2_normalise(np.asarray(rows, dtype=np.float32))


# --- scores --------------------------------------------------------------------------------


def test_knn_distance_is_zero_on_the_bank_and_one_when_orthogonal() -> None:
    bank = unit([1, 0, 0], [0, 1, 0])
    distance = trust.knn_distance(unit([1, 0, 0], [0, 0, 1], [1, 1, 0]), bank, k=1)
    assert distance[0] == pytest.approx(0, abs=1e-6)
    assert distance[1] == pytest.approx(1, abs=1e-6)
    assert distance[2] == pytest.approx(1 - np.sqrt(0.5), abs=1e-6)
    assert trust.knn_distance(unit([1, 0, 0]), bank, k=2)[0] == pytest.approx(0.5, abs=1e-6)


def test_the_gate_score_averages_the_standardised_layers() -> None:
    banks = {"mid": unit([1, 0]), "late": unit([0, 1])}
    features = {"mid": unit([0, 1]), "late": unit([0, 1])}  # mid: distance 1, late: 0
    standardise = {"mid": (0.5, 0.25), "late": (0.0, 1.0)}
    assert trust.gate_scores(features, banks, standardise)[0] == pytest.approx((2 + 0) / 2)


def test_calibration_uses_each_photos_own_temperature() -> None:
    logits = np.array([[2.0, 0.0], [2.0, 0.0]])
    probs = trust.calibrated_probabilities(
        logits, ["clinical", "dermoscopic"], {"clinical": 2.0, "dermoscopic": 0.5}
    )
    assert probs[0, 0] == pytest.approx(1 / (1 + np.exp(-1)), abs=1e-6)
    assert probs[1, 0] == pytest.approx(1 / (1 + np.exp(-4)), abs=1e-6)


# --- choices made on validation ------------------------------------------------------------


def test_the_abstention_threshold_is_the_lowest_whose_answers_reach_the_target() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.2, 1.0, 2000)
    labels = np.zeros(2000, dtype=int)
    right = rng.uniform(size=2000) < confidence  # right as often as it is sure
    probs = np.stack(
        [np.where(right, confidence, 1 - confidence), np.where(right, 1 - confidence, confidence)],
        1,
    )
    probs = np.where(
        probs.max(1, keepdims=True) == probs, probs, probs
    )  # argmax is the label when right
    threshold = choose_abstain_threshold(probs, labels, target=0.8)
    table = {
        round(r["threshold"], 2): r
        for r in risk_coverage(probs, labels, [threshold, threshold - 0.01])
    }
    assert table[round(threshold, 2)]["accuracy"] >= 0.8
    assert table[round(threshold - 0.01, 2)]["accuracy"] < 0.8
    assert choose_abstain_threshold(probs, labels, target=1.01) == 0.99


def test_risk_coverage_falls_in_coverage_as_the_threshold_rises() -> None:
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.55, 0.45]])
    labels = np.array([0, 1, 1, 0])
    rows = risk_coverage(probs, labels, [0.0, 0.58, 0.8])
    assert [r["coverage"] for r in rows] == [1.0, 0.75, 0.25]
    assert [r["accuracy"] for r in rows] == [0.75, pytest.approx(2 / 3), 1.0]


def test_each_photo_type_gets_its_own_temperature() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 400)
    clean = np.eye(3)[labels] * 4 + rng.normal(0, 1, (400, 3))
    types = np.array(["clinical"] * 200 + ["dermoscopic"] * 200)
    logits = clean.copy()
    logits[:200] = np.roll(clean[:200], 1, axis=1) * 0.5 + clean[:200] * 0.5  # clinical: unsure
    temperatures = fit_temperatures(logits, labels, types)
    assert set(temperatures) == {"clinical", "dermoscopic"}
    assert temperatures["clinical"] != pytest.approx(temperatures["dermoscopic"], rel=0.05)


# --- a whole bundle, fitted and served -----------------------------------------------------


class TinyGate(torch.nn.Module):
    """A seeded stand-in for the ImageNet backbone with the same two outputs."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.mid = torch.nn.Conv2d(3, 8, 3, stride=2)
        self.late = torch.nn.Conv2d(8, 16, 3, stride=2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mid = torch.relu(self.mid(x))
        late = torch.relu(self.late(mid))
        return mid.mean(dim=(2, 3)), late.mean(dim=(2, 3))


def skin(seed: int) -> Image.Image:
    return Image.open(io.BytesIO(lesion_photo((200, 160), seed=seed))).convert("RGB")


@pytest.fixture(scope="module")
def tiny_trusted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny test model with a bundle fitted by the real code on generated skin photos."""
    from mltrain.ml.predictors import load_predictor
    from mltrain.ml.trust import fit as fitting

    folder = tmp_path_factory.mktemp("trusted")
    artifact = build_tiny_artifact(folder / "tiny-trusted", input_size=64)
    gate_path = folder / "gate.onnx"
    torch.onnx.export(
        TinyGate().eval(),
        (torch.zeros(1, 3, 160, 160),),
        str(gate_path),
        input_names=["image"],
        output_names=list(trust.GATE_LAYERS),
        dynamic_axes={"image": {0: "batch"}, "mid": {0: "batch"}, "late": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    gate = fitting._session(gate_path)
    predictor = load_predictor(artifact)

    def part(seeds: range) -> Part:
        images = [skin(s) for s in seeds]
        records = [
            ImageRecord(Path(f"{s}.jpg"), s % 10, str(s), "ham" if s % 2 else "dermnet")
            for s in seeds
        ]
        features, logits = fitting.extract(images, gate, predictor, predictor.manifest)
        return Part(records, features, logits)

    config, arrays = fit_bundle(
        part(range(0, 60)), part(range(60, 100)), part(range(100, 130)),
        backbone_name="tiny", backbone_sha256="0" * 64,
    )  # fmt: skip
    write_bundle(artifact, config, arrays, gate_path)
    return artifact


def test_a_fitted_bundle_is_listed_in_the_manifest_and_serves(tiny_trusted: Path) -> None:
    manifest = load_manifest(tiny_trusted, verify=True)
    assert manifest.raw["trust"] == "trust.json"
    assert set(trust.TRUST_FILES) <= set(manifest.files)
    bundle = trust.load_trust(manifest)
    assert bundle is not None
    config = bundle.config
    # The gate passes its quantile of the validation photos of each type.
    assert config["validation"]["gate_pass_rate"] >= 0.95
    assert set(config["temperatures"]) == {"clinical", "dermoscopic"}
    assert all(0 <= v <= 1 for v in config["abstain_thresholds"].values())
    from mltrain.ml.preprocess import IMAGENET_MEAN, IMAGENET_STD, preprocess

    batch = preprocess(skin(3), input_size=160, mean=IMAGENET_MEAN, std=IMAGENET_STD)[None]
    judgement = bundle.judge(np.zeros((1, 10), np.float32), batch)
    assert judgement.photo_type in trust.PHOTO_TYPES
    assert judgement.probabilities.sum() == pytest.approx(1, abs=1e-5)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (160, 160, 3), np.uint8))
    far = preprocess(noise, input_size=160, mean=IMAGENET_MEAN, std=IMAGENET_STD)[None]
    assert bundle.judge(np.zeros((1, 10), np.float32), far).gate_score > judgement.gate_score


def test_a_model_without_a_bundle_has_the_gate_off(tmp_path: Path) -> None:
    artifact = build_tiny_artifact(tmp_path / "old-model")
    assert trust.load_trust(load_manifest(artifact)) is None


@pytest.mark.parametrize("damage", ["npz-bytes", "missing-onnx", "negative-temperature", "format"])
def test_a_damaged_bundle_is_refused_at_load(
    tiny_trusted: Path, tmp_path: Path, damage: str
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_trusted, copy)
    if damage == "npz-bytes":
        data = bytearray((copy / "trust.npz").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (copy / "trust.npz").write_bytes(bytes(data))
    elif damage == "missing-onnx":
        (copy / "gate.onnx").unlink()
    else:
        config = json.loads((copy / "trust.json").read_text())
        if damage == "format":
            config["format"] = "skinsite-trust/99"
        else:
            config["temperatures"]["clinical"] = -1
        (copy / "trust.json").write_text(json.dumps(config))
        # Re-list the edited file so only the content, not the checksum, is wrong.
        manifest = json.loads((copy / "manifest.json").read_text())
        from mltrain.ml.artifacts import sha256_file

        manifest["files"]["trust.json"] = sha256_file(copy / "trust.json")
        (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(trust.TrustError):
        trust.load_trust(load_manifest(copy))


@pytest.mark.django_db
def test_evaluate_model_prints_the_bundles_figures(tiny_trusted: Path, tmp_path: Path) -> None:
    from django.core.management import call_command

    from mltrain.tests.conftest import write_manifest_dataset

    data = write_manifest_dataset(tmp_path / "data")
    out = io.StringIO()
    call_command("evaluate_model", str(tiny_trusted), "--data", str(data), stdout=out)
    text = out.getvalue()
    assert "pass the gate" in text and "photo-type head" in text
    assert "Risk-coverage" in text and "| 0.50 |" in text


# --- the shipped model's bundle ------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> trust.TrustBundle:
    bundle = trust.load_trust(load_manifest(DEFAULT, verify=True))
    assert bundle is not None, "the shipped default model carries a trust bundle"
    return bundle


def gate_rejects(bundle: trust.TrustBundle, images: list[Image.Image]) -> np.ndarray:
    from mltrain.ml.trust.fit import extract

    features, _ = extract(images, bundle.session)
    return bundle.gate_scores(features) > bundle.gate_threshold


def test_the_shipped_gate_refuses_real_non_skin_photos(shipped: trust.TrustBundle) -> None:
    pytest.importorskip("skimage", reason="scikit-image (a test requirement) ships the photos")
    from mltrain.ml.trust.probes import framings, real_photos

    photos = framings(real_photos())
    rejected = gate_rejects(shipped, [image for _, image in photos])
    assert len(photos) >= 60
    assert rejected.mean() >= 0.90


def test_the_shipped_gate_accepts_the_generated_skin_photos_the_tests_use(
    shipped: trust.TrustBundle,
) -> None:
    photos = [
        Image.open(io.BytesIO(lesion_photo(size, seed=seed))).convert("RGB")
        for size in ((640, 480), (800, 600), (1200, 900), (1600, 1200))
        for seed in (2, 3)
    ]
    assert not gate_rejects(shipped, photos).any()


def test_the_shipped_bundle_reports_what_the_model_card_quotes(shipped: trust.TrustBundle) -> None:
    test = shipped.config["test"]["by_photo_type"]
    assert test["clinical"]["gate_pass_rate"] >= 0.97
    assert test["dermoscopic"]["gate_pass_rate"] >= 0.97
    assert shipped.config["reference_accuracy"]["clinical"] == test["clinical"]["answered_accuracy"]
    assert shipped.config["type_head"]["train_accuracy"] > 0.95


@pytest.mark.django_db
def test_evaluate_model_on_several_roots_with_a_one_root_split(
    tiny_trusted: Path, tmp_path: Path
) -> None:
    """The shipped model's split covers skin10 alone: the card's trust table (skin10 plus
    clinical-extra) must still come out of one command."""
    from django.core.management import call_command

    from mltrain.ml.data import load_dataset
    from mltrain.ml.split import make_split, save_split
    from mltrain.tests.conftest import write_manifest_dataset

    artifact = tmp_path / "artifact"
    shutil.copytree(tiny_trusted, artifact)
    first = write_manifest_dataset(tmp_path / "first")
    second = write_manifest_dataset(tmp_path / "second")
    save_split(make_split(load_dataset(first)), artifact / "split.json")
    out = io.StringIO()
    call_command(
        "evaluate_model", str(artifact), "--data", str(first), "--data", str(second), stdout=out
    )
    text = out.getvalue()
    assert f"classification figures are for {first}" in text
    assert "pass the gate" in text and "Risk-coverage" in text


def test_a_root_the_model_trained_on_keeps_the_models_split_of_several_roots(
    tmp_path: Path,
) -> None:
    """A model trained on several roots: its training photos must stay out of the photos the
    thresholds are chosen on and the figures measured on, root by root."""
    from mltrain.ml.data import load_dataset
    from mltrain.ml.roots import data_roots, load_roots
    from mltrain.ml.split import make_split
    from mltrain.ml.trust.runner import split_root
    from mltrain.tests.conftest import write_manifest_dataset

    first = write_manifest_dataset(tmp_path / "first")
    second = write_manifest_dataset(tmp_path / "second")
    split = make_split(load_roots(data_roots([first, second])), seed=11)
    for root in (first, second):
        parts = split_root(load_dataset(root), split)
        for part, records in parts.items():
            named = {f"{root.name}/{r.path.relative_to(root).as_posix()}" for r in records}
            assert named == {n for n in split[part] if n.startswith(f"{root.name}/")}
    # A root the split does not cover is split on its own.
    other = write_manifest_dataset(tmp_path / "other")
    parts = split_root(load_dataset(other), split)
    assert sum(len(records) for records in parts.values()) == len(load_dataset(other).records)
