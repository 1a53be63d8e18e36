from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest

from mltrain.ml import artifacts
from mltrain.ml.artifacts import ArtifactError, load_manifest, sha256_file
from mltrain.ml.predictors import load_predictor
from mltrain.tests.conftest import copy_artifact


@pytest.fixture
def artifact(tiny_sources, tmp_path: Path) -> Path:
    return copy_artifact(tiny_sources[0], tmp_path / "models", "v1")


def test_the_manifest_describes_the_model(artifact: Path):
    manifest = load_manifest(artifact, verify=True)
    assert manifest.raw["format"] == "skinsite-model/1"
    assert manifest.resize == "squash"
    assert manifest.input_size == 32
    assert len(manifest.class_keys) == 10
    assert manifest.sha256 == sha256_file(artifact / "model.onnx")
    assert set(manifest.files) >= {"model.pt", "model.onnx", "metrics.json", "report.md",
                                   "split.json", "plots/reliability.png"}  # fmt: skip
    assert manifest.metrics["accuracy"] is not None
    assert "## Test metrics" in (artifact / "report.md").read_text()
    assert not list(artifact.parent.glob("*.part"))


def test_missing_corrupt_and_incompatible_manifests_are_clear_errors(artifact: Path, tmp_path):
    with pytest.raises(ArtifactError, match=r"manifest\.json is missing"):
        load_manifest(tmp_path / "nothing")
    raw = json.loads((artifact / "manifest.json").read_text())
    (artifact / "manifest.json").write_text(json.dumps({**raw, "format": "other/9"}))
    with pytest.raises(ArtifactError, match="format"):
        load_manifest(artifact)
    (artifact / "manifest.json").write_text("{broken")
    with pytest.raises(ArtifactError, match="not JSON"):
        load_manifest(artifact)


def test_a_tampered_weights_file_is_refused(artifact: Path):
    with (artifact / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtifactError, match="sha256"):
        load_predictor(artifact, backend="onnx")
    with pytest.raises(ArtifactError, match="sha256"):
        load_manifest(artifact, verify=True)


def test_a_full_disk_mid_save_leaves_the_old_artifact_intact(artifact: Path, monkeypatch):
    before = {p.name: p.read_bytes() for p in artifact.iterdir() if p.is_file()}
    manifest = json.loads((artifact / "manifest.json").read_text())
    from mltrain.ml.architectures import build_model

    real_write = Path.write_text

    def disk_full(self, *args, **kwargs):
        if self.name == "report.md":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space left"):
        artifacts.write_artifact(
            artifact, manifest=manifest, model=build_model("custom_cnn"), metrics={},
            report_md="new", plots={}, overwrite=True,
        )  # fmt: skip
    after = {p.name: p.read_bytes() for p in artifact.iterdir() if p.is_file()}
    assert after == before
    assert not list(artifact.parent.glob("*.part"))


def test_an_existing_version_is_never_overwritten_by_default(artifact: Path):
    from mltrain.ml.architectures import build_model

    with pytest.raises(ArtifactError, match="already exists"):
        artifacts.write_artifact(
            artifact, manifest={"input_size": 32, "temperature": 1.0},
            model=build_model("custom_cnn"), metrics={}, report_md="", plots={},
        )  # fmt: skip


def test_onnx_parity_check_catches_a_different_model(artifact: Path):
    from mltrain.ml.architectures import build_model

    batch = np.random.default_rng(0).normal(size=(6, 3, 32, 32)).astype(np.float32)
    other = build_model("custom_cnn")
    with pytest.raises(ArtifactError, match="disagrees"):
        artifacts.check_onnx_parity(other, artifact / "model.onnx", batch)


def test_onnx_threads_come_only_from_the_argument(artifact: Path, monkeypatch):
    monkeypatch.setenv("SKINSITE_ONNX_THREADS", "3")  # the old variable: no longer read here
    default = load_predictor(artifact, backend="onnx")
    assert default.session.get_session_options().intra_op_num_threads == 0
    two = load_predictor(artifact, backend="onnx", num_threads=2)
    assert two.session.get_session_options().intra_op_num_threads == 2


def test_a_model_records_the_weights_it_started_from_by_name_and_sha256(tmp_path) -> None:
    from mltrain.ml.artifacts import sha256_file
    from mltrain.ml.pipeline import weights_record

    weights = tmp_path / "start.pth"
    weights.write_bytes(b"weights")
    assert weights_record(weights) == {"name": "start.pth", "sha256": sha256_file(weights)}
    assert str(tmp_path) not in str(weights_record(weights))
    assert weights_record("imagenet") == "imagenet"
    assert weights_record(None) == "none"
