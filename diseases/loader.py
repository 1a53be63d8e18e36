"""Seed the catalogue from ``content/catalogue.json``; ``make run`` calls it on every start.

The rule that keeps curators' work safe: **the loader only creates diseases that do not exist
yet** (matched by class key), with their reference links, published. A disease that exists is
never changed, whatever a curator did to it, so running the loader again is a no-op. With
``fill_empty=True`` (``load_diseases --fill-empty``) it also fills text fields that are empty in
the database, for example after a new language or field is added; a field with any text in it
is still never touched. Deleting a disease does not hide it for good (the next start recreates
it): unpublish it instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from diseases.models import Disease, DiseaseReference

CONTENT_PATH = Path(__file__).resolve().parent / "content" / "catalogue.json"
CONTENT_FORMAT = "skinsite-diseases/1"


class CatalogueError(Exception):
    """The content file is missing, malformed, or fails the models' validation."""


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    filled: dict[str, list[str]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)


def read_catalogue(path: Path = CONTENT_PATH) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"Cannot read the disease catalogue {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != CONTENT_FORMAT:
        raise CatalogueError(f"{path} is not a {CONTENT_FORMAT} file.")
    return data


def load_diseases(*, path: Path = CONTENT_PATH, fill_empty: bool = False) -> LoadReport:
    """Create the diseases missing from the database (see the module docstring for the rule)."""
    data = read_catalogue(path)
    last_reviewed = date.fromisoformat(data["last_reviewed"])
    report = LoadReport()
    with transaction.atomic():
        existing = {disease.class_key: disease for disease in Disease.objects.all()}
        for entry in data["diseases"]:
            key = entry["class_key"]
            disease = existing.get(key)
            try:
                if disease is None:
                    _create(entry, last_reviewed)
                    report.created.append(key)
                elif fill_empty and (filled := _fill_empty(disease, entry)):
                    report.filled[key] = filled
                else:
                    report.unchanged.append(key)
            except ValidationError as exc:
                raise CatalogueError(f"{key}: {exc.message_dict}") from exc
    return report


def _texts(entry: dict[str, Any], language: str, field_name: str) -> str:
    value = entry.get(language, {}).get(field_name, "")
    return "\n".join(value) if isinstance(value, list) else str(value)


def _create(entry: dict[str, Any], last_reviewed: date) -> Disease:
    disease = Disease(
        class_key=entry["class_key"],
        slug=entry["slug"],
        category=entry["category"],
        urgency=entry["urgency"],
        published=True,
        last_reviewed=last_reviewed,
    )
    for language in settings.MODELTRANSLATION_LANGUAGES:
        for name in Disease.TEXT_FIELDS:
            setattr(disease, f"{name}_{language}", _texts(entry, language, name))
    disease.full_clean()
    disease.save()
    _create_references(disease, entry)
    return disease


def _create_references(disease: Disease, entry: dict[str, Any]) -> None:
    for position, ref in enumerate(entry.get("references", [])):
        reference = DiseaseReference(disease=disease, url=ref["url"], position=position)
        for language in settings.MODELTRANSLATION_LANGUAGES:
            setattr(reference, f"title_{language}", ref.get(f"title_{language}", ""))
        reference.full_clean()
        reference.save()


def _fill_empty(disease: Disease, entry: dict[str, Any]) -> list[str]:
    filled = []
    for language in settings.MODELTRANSLATION_LANGUAGES:
        for name in Disease.TEXT_FIELDS:
            attname = f"{name}_{language}"
            value = _texts(entry, language, name)
            if value and not getattr(disease, attname):
                setattr(disease, attname, value)
                filled.append(attname)
    if filled:
        disease.full_clean()
        disease.save(update_fields=[*filled, "updated_at"])
    if not disease.references.exists() and entry.get("references"):
        _create_references(disease, entry)
        filled.append("references")
    return filled
