"""Several data roots read together: merged classes, roles, fingerprints, bad roots."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mltrain.ml.classes import CLASS_KEYS
from mltrain.ml.data import DataError, load_dataset
from mltrain.ml.roots import DataRoot, data_roots, load_roots
from mltrain.ml.split import apply_split, load_split, make_split, save_split
from mltrain.models import TrainingRun
from mltrain.tests.conftest import make_image, write_manifest_dataset


def write_root(
    root: Path,
    labels: dict[int, int],
    *,
    source: str = "atlas",
    class_name: str | None = None,
) -> Path:
    """A manifest root in skin10's layout: ``labels`` maps a class index to its image count."""
    rows = []
    for label, count in labels.items():
        folder = root / f"{label + 1}. {CLASS_KEYS[label]}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            name = f"{folder.name}/{source}_{i}.jpg"
            make_image(label, 100 + i).save(root / name, quality=90)
            rows.append(
                {"path": name, "label": label, "class_name": class_name or folder.name,
                 "source": source, "group_id": f"{source}:{label}:{i}"}
            )  # fmt: skip
    with (root / "metadata.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.fixture
def three_roots(tmp_path: Path) -> list[DataRoot]:
    base = write_manifest_dataset(tmp_path / "base")  # ten classes, "ham" and "dermnet" sources
    extra = write_root(tmp_path / "extra", {0: 6, 1: 6, 3: 6})
    marked = write_root(tmp_path / "marked", {0: 5, 6: 5}, source="dermnetcom")
    return data_roots([base, extra], [marked])


def test_roots_merge_by_class_key_and_keep_their_names(three_roots):
    listing = load_roots(three_roots)
    counts = listing.class_counts()
    assert counts["eczema"] == 6 + 6 + 5
    assert counts["psoriasis_lichen_planus"] == 6 + 5
    assert counts["melanocytic_nevi"] == 6
    assert {r.root for r in listing.records} == {"base", "extra", "marked"}
    # Each root's images are named under the root, so equal paths in two roots stay apart.
    names = [listing.relpath(r) for r in listing.records]
    assert len(set(names)) == len(names)
    assert "extra/1. eczema/atlas_0.jpg" in names


def test_train_only_images_never_reach_validation_or_test(three_roots):
    listing = load_roots(three_roots)
    split = make_split(listing, seed=3)
    parts = apply_split(listing, split)
    assert not {r.root for part in ("val", "test") for r in parts[part]} & {"marked"}
    assert sum(r.root == "marked" for r in parts["train"]) == 10
    assert {r.root for r in parts["test"]} == {"base", "extra"}


def test_the_split_records_every_root_its_role_and_fingerprint(three_roots, tmp_path: Path):
    listing = load_roots(three_roots)
    save_split(make_split(listing), tmp_path / "split.json")
    split = load_split(tmp_path / "split.json")
    assert split["format"] == "skinsite-split/2"
    roles = {root["name"]: root["role"] for root in split["roots"]}
    assert roles == {"base": "split", "extra": "split", "marked": "train_only"}
    for root in split["roots"]:
        # The same fingerprint as reading that root alone: a changed root is recognisable.
        assert root["fingerprint"] == load_dataset(root["path"]).fingerprint()
    assert split["data_fingerprint"] == listing.fingerprint()


def test_the_split_is_stratified_by_class_and_photo_type(tmp_path: Path):
    # Clinical melanoma is a small stratum beside dermoscopic melanoma: both must reach test.
    derm = write_root(tmp_path / "derm", {1: 40, 4: 40}, source="ham")
    clin = write_root(tmp_path / "clin", {1: 14, 0: 14}, source="fitz17k")
    listing = load_roots(data_roots([derm, clin]))
    parts = apply_split(listing, make_split(listing, seed=5))
    for part in ("val", "test"):
        cells = Counter((r.label, r.photo_type) for r in parts[part])
        assert cells[(1, "clinical")] >= 1 and cells[(1, "dermoscopic")] >= 3


def test_a_missing_root_is_an_error_before_anything_is_read(tmp_path: Path):
    present = write_manifest_dataset(tmp_path / "present")
    with pytest.raises(DataError, match=r"nowhere \(--train-only\) does not exist"):
        data_roots([present], [tmp_path / "nowhere"])
    twin = write_manifest_dataset(tmp_path / "other" / "present")
    with pytest.raises(DataError, match="same name"):
        data_roots([present, twin])


def test_a_root_with_other_class_names_is_an_error_naming_it(tmp_path: Path):
    good = write_manifest_dataset(tmp_path / "good")
    odd = tmp_path / "odd"
    write_root(odd, {0: 3})
    (odd / "11. Acne and Rosacea").mkdir()
    (odd / "metadata.csv").unlink()  # read as class folders: the Acne folder is unknown
    make_image(0, 1).save(odd / "11. Acne and Rosacea" / "a.jpg")
    with pytest.raises(DataError, match=r"odd.*Acne"):
        load_roots(data_roots([good, odd]))
    # A manifest whose label numbers mean other classes than its class names say.
    shifted = write_root(tmp_path / "shifted", {1: 3}, class_name="3. Atopic Dermatitis")
    with pytest.raises(DataError, match=r"shifted.*atopic_dermatitis"):
        load_roots(data_roots([good, shifted]))


def test_a_watermarked_source_cannot_be_a_split_root(tmp_path: Path):
    good = write_manifest_dataset(tmp_path / "good")
    marked = write_root(tmp_path / "marked", {0: 4, 6: 4}, source="dermnetcom")
    with pytest.raises(DataError, match="--train-only"):
        load_roots(data_roots([good, marked]))


def test_a_split_putting_watermarked_photos_in_test_is_refused(three_roots):
    listing = load_roots(three_roots)
    split = make_split(listing)
    split["test"].append(next(n for n in split["train"] if n.startswith("marked/")))
    with pytest.raises(DataError, match="watermarked"):
        apply_split(listing, split)


def test_an_old_single_root_split_still_applies(manifest_data: Path, tmp_path: Path):
    old = make_split(load_dataset(manifest_data), seed=2)
    del old["method"]
    old["format"] = "skinsite-split/1"
    save_split(old, tmp_path / "old.json")
    listing = load_roots(data_roots([manifest_data]))
    parts = apply_split(listing, load_split(tmp_path / "old.json"))
    assert [listing.relpath(r) for r in parts["test"]] == old["test"]
    assert sum(len(p) for p in parts.values()) == 60
    # ... but it cannot divide several roots.
    with pytest.raises(DataError, match="one data root"):
        second = write_root(tmp_path / "second", {0: 3})
        apply_split(load_roots(data_roots([manifest_data, second])), old)


def test_a_several_root_split_applies_to_one_of_its_roots_alone(three_roots):
    split = make_split(load_roots(three_roots), seed=3)
    extra = load_dataset(three_roots[1].path)
    tested = apply_split(extra, split)["test"]
    assert tested
    assert {f"extra/{extra.relpath(r)}" for r in tested} <= set(split["test"])


@pytest.mark.django_db
def test_train_model_reads_several_roots_and_saves_them_with_the_model(three_roots, settings):
    out = io.StringIO()
    call_command(
        "train_model", "--arch", "custom_cnn", "--name", "multi",
        "--data", str(three_roots[0].path), "--data", str(three_roots[1].path),
        "--train-only", str(three_roots[2].path), "--no-watermark-paste",
        "--epochs", "1", "--input-size", "32", "--batch-size", "16", "--no-progress",
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    split = json.loads((settings.MODELS_DIR / "multi" / "split.json").read_text())
    assert [r["name"] for r in split["roots"]] == ["base", "extra", "marked"]
    assert not any(n.startswith("marked/") for n in split["val"] + split["test"])
    assert "(train only)" in TrainingRun.objects.get().data_path


@pytest.mark.django_db
def test_train_model_refuses_a_missing_root_before_recording_a_run(three_roots, tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command(
            "train_model", "--arch", "custom_cnn", "--data", str(three_roots[0].path),
            "--train-only", str(tmp_path / "absent"), stdout=io.StringIO(),
        )  # fmt: skip
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("problem", ["missing", "not json", "another root"])
def test_train_model_refuses_a_bad_split_to_keep_before_recording_a_run(
    three_roots, tmp_path, problem
):
    path = tmp_path / "split.json"
    if problem == "not json":
        path.write_text("{not json")
    elif problem == "another root":
        earlier = make_split(load_dataset(three_roots[0].path), seed=5)
        earlier["data_fingerprint"] = "0" * 64
        save_split(earlier, path)
    with pytest.raises(CommandError, match="split"):
        call_command(
            "train_model", "--arch", "custom_cnn", "--data", str(three_roots[0].path),
            "--data", str(three_roots[1].path), "--keep-split", str(path), stdout=io.StringIO(),
        )  # fmt: skip
    assert not TrainingRun.objects.exists()


def test_the_sweep_reads_several_roots_and_can_make_their_split(three_roots, tmp_path: Path):
    from mltrain.ml.sweep import main as sweep_main

    tiny = {"input_size": 32, "batch_size": 8, "epochs": 1, "epoch_samples": 16,
            "neutralise_watermark": False}  # fmt: skip
    plan = [{"name": "one", "arch": "custom_cnn", "budget_s": 60, "overrides": tiny}]
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    base, extra, marked = (str(r.path) for r in three_roots)
    split_file = tmp_path / "split.json"
    sweep_main(["--data", base, "--data", extra, "--train-only", marked, "--new-split",
                "--split", str(split_file), "--plan", str(tmp_path / "plan.json"),
                "--out", str(tmp_path / "out"), "--device", "cpu"])  # fmt: skip
    split = load_split(split_file)
    assert [r["role"] for r in split["roots"]] == ["split", "split", "train_only"]
    rows = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert rows[0]["epochs"] == 1 and "error" not in rows[0]


def test_an_earlier_one_root_split_keeps_its_parts_when_roots_are_added(three_roots):
    """Training on from a model made on one root: its test images must stay out of training."""
    base_listing = load_dataset(three_roots[0].path)
    earlier = make_split(base_listing, seed=5)
    listing = load_roots(three_roots)
    split = make_split(listing, seed=9, keep=earlier)
    for part in ("train", "val", "test"):
        kept = {name for name in split[part] if name.startswith("base/")}
        assert kept == {f"base/{name}" for name in earlier[part]}
    parts = apply_split(listing, split)
    # The new root is split afresh, and the train-only root still only trains.
    assert {r.root for r in parts["test"]} == {"base", "extra"}
    assert not any(r.root == "marked" for part in ("val", "test") for r in parts[part])
    assert split["kept_from"]["images"] == len(base_listing.records)


def test_a_split_to_keep_whose_root_changed_is_refused(three_roots, tmp_path: Path):
    earlier = make_split(load_dataset(three_roots[0].path), seed=5)
    earlier["data_fingerprint"] = "0" * 64
    with pytest.raises(DataError, match="fingerprint"):
        make_split(load_roots(three_roots), keep=earlier)
