"""Datasets: a folder of class folders or a CSV manifest, mapped onto the ten class keys.

Two layouts are accepted:

* a folder of class folders, named like the Kaggle "Skin Diseases Image Dataset"
  (``1. Eczema 1677``, ``5. Melanocytic Nevi (NV) - 7970`` ...) or by the class keys themselves;
* a CSV manifest with the columns ``path,label[,group_id][,source]``, where ``label`` is a model
  index, a class key or a class folder name and ``path`` is relative to the CSV's folder. A data
  folder holding ``metadata.csv`` or ``manifest.csv`` (as ``skin10`` does) is read through it.

Unreadable images are skipped and listed (``DatasetListing.skipped``), never a crash.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .classes import CLASS_KEYS, NUM_CLASSES

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"})
MANIFEST_NAMES = ("metadata.csv", "manifest.csv")
# Photo types: HAM10000 and ISIC are dermoscopic, DermNet NZ (and phone photos) are clinical.
DERMOSCOPIC_SOURCES = frozenset({"ham", "ham10000", "isic", "dermoscopic"})


class DataError(Exception):
    """The data cannot be used for training (missing folder, unknown class, too few classes)."""


@dataclass(frozen=True)
class ImageRecord:
    path: Path
    label: int
    group_id: str
    source: str = ""
    # The name of the data root the image came from when several are read together (see
    # ``roots.py``); empty for a single root, whose split names images by their plain path.
    root: str = ""

    @property
    def key(self) -> str:
        return CLASS_KEYS[self.label]

    @property
    def photo_type(self) -> str:
        """``dermoscopic`` or ``clinical`` when the source is known, else ``unknown``."""
        if not self.source:
            return "unknown"
        return "dermoscopic" if self.source.lower() in DERMOSCOPIC_SOURCES else "clinical"


@dataclass(frozen=True)
class RootInfo:
    """One data root of a listing: ``role`` is ``split`` (train, validation and test) or
    ``train_only``; ``path`` is the folder the image paths are relative to."""

    name: str
    path: Path
    role: str
    layout: str
    fingerprint: str
    images: int

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "path": self.path.as_posix(),
            "role": self.role,
            "layout": self.layout,
            "fingerprint": self.fingerprint,
            "images": self.images,
        }


@dataclass
class DatasetListing:
    root: Path
    records: list[ImageRecord]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    layout: str = "folders"
    # Every data root read, with its role and fingerprint (``roots.load_roots``); empty when the
    # listing came from ``load_dataset`` alone.
    roots: list[RootInfo] = field(default_factory=list)

    def class_counts(self) -> dict[str, int]:
        counts = Counter(r.label for r in self.records)
        return {CLASS_KEYS[i]: counts.get(i, 0) for i in range(NUM_CLASSES)}

    def relpath(self, record: ImageRecord) -> str:
        """The image's name in a split: its path relative to its data root, prefixed with the
        root's name when several roots were read together (their paths would collide)."""
        base = next((info.path for info in self.roots if info.name == record.root), self.root)
        try:
            rel = record.path.relative_to(base).as_posix()
        except ValueError:
            rel = record.path.as_posix()
        return f"{record.root}/{rel}" if record.root else rel

    def fingerprint(self) -> str:
        """sha256 over sorted (relative path, label, size) triples: changes when the data does."""
        digest = hashlib.sha256()
        for record in sorted(self.records, key=lambda r: self.relpath(r)):
            size = record.path.stat().st_size if record.path.exists() else -1
            digest.update(f"{self.relpath(record)}\t{record.label}\t{size}\n".encode())
        return digest.hexdigest()


# Keyword rules, tried in order: the more specific names first ("Seborrheic Keratoses ... Benign
# Tumors" before "Benign Keratosis-like", "Atopic Dermatitis" before "Eczema", "Melanocytic Nevi"
# before "Melanoma").
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "seborrheic_keratosis_benign_tumors",
        ("seborrheic", "seborrhoeic", "benign tumor", "benign tumour", "sk"),
    ),
    ("benign_keratosis", ("keratosis like", "bkl", "benign keratosis")),
    ("atopic_dermatitis", ("atopic",)),
    ("eczema", ("eczema", "eczematous")),
    ("melanocytic_nevi", ("nevi", "nevus", "naevi", "naevus", "nv", "melanocytic")),
    ("melanoma", ("melanoma", "mel")),
    ("basal_cell_carcinoma", ("basal cell", "bcc", "basal")),
    ("psoriasis_lichen_planus", ("psoriasis", "lichen planus", "lichen")),
    ("fungal_infections", ("tinea", "ringworm", "candidiasis", "fungal", "fungus")),
    ("viral_infections", ("wart", "warts", "molluscum", "viral", "virus")),
)


def _normalise(name: str) -> str:
    text = name.lower().replace("_", " ").replace("-", " ")
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = re.sub(r"\b\d+\b", " ", text)  # "1." prefixes and "1677" counts
    return " ".join(text.split())


def map_class_name(name: str) -> str:
    """Map a class folder name (Kaggle style, or a class key) to its class key.

    Raises ``DataError`` naming the folder when nothing matches.
    """
    if name in CLASS_KEYS:
        return name
    text = _normalise(name)
    if text.replace(" ", "_") in CLASS_KEYS:
        return text.replace(" ", "_")
    padded = f" {text} "
    for key, words in _RULES:
        if any(f" {word} " in padded for word in words):
            return key
    raise DataError(
        f"Unknown class folder {name!r}: it matches none of the ten classes "
        f"({', '.join(CLASS_KEYS)})."
    )


def parse_label(value: str) -> int:
    """A manifest label: a model index (``0``-``9``), a class key or a class folder name."""
    value = value.strip()
    if value.isdigit():
        index = int(value)
        if not 0 <= index < NUM_CLASSES:
            raise DataError(f"Label {index} is out of range 0-{NUM_CLASSES - 1}.")
        return index
    return CLASS_KEYS.index(map_class_name(value))


def _scan_folders(root: Path) -> list[ImageRecord]:
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    records: list[ImageRecord] = []
    for class_dir in class_dirs:
        label = CLASS_KEYS.index(map_class_name(class_dir.name))
        for path in sorted(class_dir.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                rel = path.relative_to(root).as_posix()
                records.append(ImageRecord(path=path, label=label, group_id=rel))
    return records


def _check_class_name(class_name: str | None, label: int) -> None:
    """A ``class_name`` column must name the label's class: a set whose label numbers mean other
    classes would otherwise merge silently into the wrong ones."""
    if not class_name or not class_name.strip():
        return
    key = map_class_name(class_name.strip())
    if key != CLASS_KEYS[label]:
        raise DataError(
            f"label {label} is {CLASS_KEYS[label]!r} but class_name {class_name!r} is {key!r}."
        )


def _read_manifest(csv_path: Path) -> list[ImageRecord]:
    base = csv_path.parent
    records: list[ImageRecord] = []
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        if not {"path", "label"} <= columns:
            raise DataError(f"{csv_path} needs the columns path and label (has {sorted(columns)}).")
        for line_no, row in enumerate(reader, start=2):
            try:
                label = parse_label(row["label"])
                _check_class_name(row.get("class_name"), label)
            except DataError as exc:
                raise DataError(f"{csv_path}, line {line_no}: {exc}") from exc
            rel = row["path"].strip()
            records.append(
                ImageRecord(
                    path=base / rel,
                    label=label,
                    group_id=(row.get("group_id") or "").strip() or rel,
                    source=(row.get("source") or "").strip(),
                )
            )
    return records


def check_image(path: Path) -> str | None:
    """Decode the whole image; return why it is unusable, or None when it is fine."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.width < 2 or image.height < 2:
                return "image too small"
    except FileNotFoundError:
        return "file not found"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return f"unreadable image ({exc.__class__.__name__}: {exc})"
    return None


def load_dataset(
    data: Path | str,
    *,
    check: bool = True,
    progress: Callable[[Iterable[ImageRecord]], Iterable[ImageRecord]] | None = None,
    min_classes: int = 2,
) -> DatasetListing:
    """List the images of a data folder or CSV manifest, skipping (and listing) unreadable ones.

    Raises ``DataError`` when the data is missing, has an unknown class folder or fewer than
    ``min_classes`` classes (one root of several may hold a single class).
    """
    path = Path(data)
    if not path.exists():
        raise DataError(f"Data folder {path} does not exist.")
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise DataError(f"{path} is neither a folder of class folders nor a CSV manifest.")
        root, records, layout = path.parent, _read_manifest(path), "manifest"
    else:
        manifest = next((path / n for n in MANIFEST_NAMES if (path / n).is_file()), None)
        if manifest is not None:
            root, records, layout = path, _read_manifest(manifest), "manifest"
        else:
            root, records, layout = path, _scan_folders(path), "folders"
    listing = DatasetListing(root=root, records=[], layout=layout)
    iterable: Iterable[ImageRecord] = progress(records) if progress else records
    for record in iterable:
        problem = check_image(record.path) if check else None
        if problem is None:
            listing.records.append(record)
        else:
            listing.skipped.append((listing.relpath(record), problem))
    present = {r.label for r in listing.records}
    if len(present) < min_classes:
        raise DataError(
            f"{path} has {len(present)} usable class(es); training needs at least two "
            f"({len(listing.skipped)} image(s) skipped)."
        )
    return listing


class ImageDataset:
    """A map-style dataset over records; ``transform`` turns a PIL image into a tensor."""

    def __init__(self, records: Sequence[ImageRecord], transform: Callable) -> None:
        self.records = list(records)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int):
        record = self.records[index]
        with Image.open(record.path) as image:
            return self.transform(image.convert("RGB")), record.label

    @property
    def labels(self) -> list[int]:
        return [r.label for r in self.records]
