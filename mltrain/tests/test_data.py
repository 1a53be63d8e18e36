from __future__ import annotations

from pathlib import Path

import pytest

from mltrain.ml.classes import CLASS_KEYS
from mltrain.ml.data import DataError, load_dataset, map_class_name, parse_label
from mltrain.tests.conftest import KAGGLE_FOLDERS, make_image


def test_kaggle_folder_names_map_to_the_class_keys_in_order():
    assert [map_class_name(name) for name in KAGGLE_FOLDERS] == list(CLASS_KEYS)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("1. Eczema", "eczema"),
        ("5. Melanocytic Nevi (NV)", "melanocytic_nevi"),
        ("6. Benign Keratosis-like Lesions (BKL)", "benign_keratosis"),
        ("8. Seborrheic Keratoses and other Benign Tumors", "seborrheic_keratosis_benign_tumors"),
        ("melanoma", "melanoma"),
        ("basal_cell_carcinoma", "basal_cell_carcinoma"),
        ("MELANOMA 3140", "melanoma"),
    ],
)
def test_folder_name_variants_map(name, key):
    assert map_class_name(name) == key


def test_an_unknown_class_folder_is_an_error_naming_it():
    with pytest.raises(DataError, match="Acne"):
        map_class_name("11. Acne and Rosacea 840")


def test_manifest_labels_accept_index_key_or_folder_name():
    assert parse_label("1") == 1
    assert parse_label("viral_infections") == 9
    assert parse_label("4. Basal Cell Carcinoma (BCC) 3323") == 3
    with pytest.raises(DataError):
        parse_label("12")


def test_folder_layout_lists_every_image_with_its_class(folder_data: Path):
    listing = load_dataset(folder_data)
    assert listing.layout == "folders"
    assert len(listing.records) == 40
    assert set(listing.class_counts().values()) == {4}


def test_manifest_layout_keeps_groups_and_sources(manifest_data: Path):
    listing = load_dataset(manifest_data)
    assert listing.layout == "manifest"
    assert len(listing.records) == 60
    first = listing.records[0]
    assert first.group_id == "eczema-lesion-0"
    assert first.source == "dermnet"
    assert first.photo_type == "clinical"


def test_corrupt_images_are_skipped_and_listed(folder_data: Path):
    melanoma = folder_data / KAGGLE_FOLDERS[1]
    (melanoma / "not_an_image.jpg").write_text("hello")
    good = melanoma / "img_0.jpg"
    (melanoma / "truncated.jpg").write_bytes(good.read_bytes()[:200])
    listing = load_dataset(folder_data)
    skipped = dict(listing.skipped)
    assert set(skipped) == {
        f"{KAGGLE_FOLDERS[1]}/not_an_image.jpg",
        f"{KAGGLE_FOLDERS[1]}/truncated.jpg",
    }
    assert all("unreadable" in reason for reason in skipped.values())
    assert len(listing.records) == 40


def test_a_missing_folder_is_an_error(tmp_path: Path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")


def test_a_single_class_is_an_error(tmp_path: Path):
    folder = tmp_path / "one" / "2. Melanoma"
    folder.mkdir(parents=True)
    make_image(1, 0).save(folder / "a.jpg")
    with pytest.raises(DataError, match="at least two"):
        load_dataset(tmp_path / "one")


def test_the_fingerprint_changes_with_the_data(folder_data: Path):
    before = load_dataset(folder_data).fingerprint()
    make_image(3, 99).save(folder_data / KAGGLE_FOLDERS[3] / "new.jpg")
    assert load_dataset(folder_data).fingerprint() != before
