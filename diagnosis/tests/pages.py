"""Helpers of the page tests: diagnoses as the worker leaves them, uploads, CSP checks."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from diagnosis import services
from diagnosis.models import Diagnosis
from diagnosis.red_flag import red_flag_class
from diagnosis.tests import images

TOP3 = [
    {"key": "melanocytic_nevi", "probability": 0.71},
    {"key": "melanoma", "probability": 0.18},
    {"key": "benign_keratosis", "probability": 0.06},
]


def make(owner: Any, status: str = Diagnosis.Status.SUCCEEDED, **fields: Any) -> Diagnosis:
    """A diagnosis as the worker leaves it (needs the active_model and enqueued fixtures)."""
    diagnosis = services.submit_diagnosis(user=owner, upload=images.jpeg())
    values: dict[str, Any] = {"status": status}
    if status == Diagnosis.Status.SUCCEEDED:
        values |= {
            "outcome": Diagnosis.Outcome.ANSWERED,
            "red_flag": red_flag_class(fields.get("predictions", TOP3)),
            "predictions": TOP3,
            "top_class": TOP3[0]["key"],
            "model_version": "tiny-test-1",
            "model_sha256": "ab" * 32,
            "finished_at": timezone.now(),
        }
    values |= fields
    Diagnosis.objects.filter(pk=diagnosis.pk).update(**values)
    diagnosis.refresh_from_db()
    return diagnosis


def upload_file(data: bytes | None = None, name: str = "lesion.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, images.jpeg() if data is None else data, "image/jpeg")


def inline_code(html: str) -> list[str]:
    """Inline scripts, event-handler attributes and style attributes: all forbidden by the CSP.
    Data for the scripts (``json_script``'s ``type="application/json"``) is not code and runs
    nowhere."""
    return (
        re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", html)
        + re.findall(r"\son[a-z]+\s*=", html)
        + re.findall(r"\sstyle\s*=", html)
    )
