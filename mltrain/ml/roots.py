"""Several data roots read as one listing: ``--data A --data B --train-only C``.

Each root is a folder (or CSV manifest) that ``load_dataset`` reads on its own. Classes merge by
class key, so two roots may name their folders differently as long as each name maps to one of
the ten classes. A root has a role:

* ``split``: its images are divided into train, validation and test;
* ``train_only``: its images only ever train (e.g. ``dermnet-com``, whose watermark would make any
  score measured on it meaningless).

With several roots every image is named ``<root name>/<path>`` in the split (the roots' paths
collide otherwise), and the split file records each root, its role and its fingerprint. One
split root alone reads exactly as ``load_dataset`` does, so old splits keep working.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .data import DataError, DatasetListing, ImageRecord, RootInfo, load_dataset

ROLES = ("split", "train_only")
# Sources whose every photo carries a watermark that no uploaded photo will: never validated
# or tested on (the score would reward the watermark), see ``watermark.py``.
WATERMARKED_SOURCES = frozenset({"dermnetcom"})


@dataclass(frozen=True)
class DataRoot:
    path: Path
    role: str = "split"

    @property
    def name(self) -> str:
        """The folder's name (a manifest is named after its folder): the prefix in the split."""
        return self.path.parent.name if self.path.suffix.lower() == ".csv" else self.path.name


def data_roots(
    data: Sequence[str | Path] | str | Path, train_only: Sequence[str | Path] = ()
) -> list[DataRoot]:
    """Check the roots exist and are distinct, before anything is read or trained.

    Raises ``DataError`` naming the first missing root, or two roots with the same folder name.
    """
    paths = [data] if isinstance(data, str | Path) else list(data)
    if not paths:
        raise DataError("At least one --data root is needed (train-only roots cannot be tested).")
    roots = [DataRoot(Path(p), "split") for p in paths]
    roots += [DataRoot(Path(p), "train_only") for p in train_only]
    names: dict[str, Path] = {}
    for root in roots:
        if not root.path.exists():
            role = "--train-only" if root.role == "train_only" else "--data"
            raise DataError(f"Data root {root.path} ({role}) does not exist.")
        if root.name in names:
            raise DataError(
                f"Data roots {names[root.name]} and {root.path} have the same name "
                f"{root.name!r}; the split names images by it, so rename one folder."
            )
        names[root.name] = root.path
    return roots


def as_roots(data: Sequence[DataRoot] | Sequence[str | Path] | str | Path) -> list[DataRoot]:
    """``data`` as roots: a path (or several) is one split root (each)."""
    if isinstance(data, str | Path):
        return data_roots([data])
    items = list(data)
    if items and all(isinstance(item, DataRoot) for item in items):
        return [item for item in items if isinstance(item, DataRoot)]
    return data_roots([Path(str(item)) for item in items])


def describe(roots: Sequence[DataRoot]) -> str:
    """One line for logs and the training run record."""
    return " + ".join(f"{r.path}{' (train only)' if r.role == 'train_only' else ''}" for r in roots)


def load_roots(
    roots: Sequence[DataRoot],
    *,
    check: bool = True,
    progress: Callable[[Iterable[ImageRecord]], Iterable[ImageRecord]] | None = None,
) -> DatasetListing:
    """Read every root and merge them into one listing (see the module docstring).

    Raises ``DataError`` (naming the root) for a missing root, an unknown class name, a watermarked
    source given as a split root, or fewer than two classes over the split roots.
    """
    for root in roots:
        if root.role not in ROLES:
            raise ValueError(f"Unknown data root role {root.role!r}; use {' or '.join(ROLES)}.")
    if len(roots) == 1 and roots[0].role == "split":
        listing = _load_one(roots[0], check, progress, min_classes=2)
        info = _info(roots[0], listing)
        listing.roots = [dataclasses.replace(info, path=listing.root)]
        _refuse_watermarked(roots[0], listing.records)
        return listing
    merged = DatasetListing(root=Path(roots[0].path), records=[], layout="roots")
    for root in roots:
        listing = _load_one(root, check, progress, min_classes=1)
        if root.role == "split":
            _refuse_watermarked(root, listing.records)
        merged.roots.append(dataclasses.replace(_info(root, listing), path=listing.root))
        merged.records += [dataclasses.replace(r, root=root.name) for r in listing.records]
        merged.skipped += [(f"{root.name}/{p}", why) for p, why in listing.skipped]
    split_roles = {i.name for i in merged.roots if i.role == "split"}
    present = {r.label for r in merged.records if r.root in split_roles}
    if len(present) < 2:
        raise DataError(
            f"The --data roots have {len(present)} usable class(es) together; a split needs two."
        )
    return merged


def _load_one(root: DataRoot, check: bool, progress, *, min_classes: int) -> DatasetListing:
    if not root.path.exists():
        raise DataError(f"Data root {root.path} does not exist.")
    try:
        return load_dataset(root.path, check=check, progress=progress, min_classes=min_classes)
    except DataError as exc:
        raise DataError(f"Data root {root.path}: {exc}") from exc


def _info(root: DataRoot, listing: DatasetListing) -> RootInfo:
    return RootInfo(
        name=root.name,
        path=root.path,
        role=root.role,
        layout=listing.layout,
        fingerprint=listing.fingerprint(),
        images=len(listing.records),
    )


def _refuse_watermarked(root: DataRoot, records: Sequence[ImageRecord]) -> None:
    marked = sorted({r.source for r in records if r.source.lower() in WATERMARKED_SOURCES})
    if marked:
        raise DataError(
            f"{root.path} holds watermarked photos (source {', '.join(marked)}): they must never "
            f"be validated or tested on. Pass it with --train-only."
        )
