"""Everything the site holds about a person: exported as a ZIP, or deleted with the account."""

from __future__ import annotations

import json
import logging
import tempfile
import zipfile
from typing import IO, Any

from django.contrib.auth import logout
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User

logger = logging.getLogger(__name__)


def _account_record(user: User) -> dict[str, Any]:
    from allauth.account.models import EmailAddress

    return {
        "email": user.email,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "preferred_language": user.preferred_language,
        "theme": user.theme,
        "time_zone": user.time_zone,
        "email_addresses": list(
            EmailAddress.objects.filter(user=user).values("email", "verified", "primary")
        ),
    }


def _diagnosis_record(diagnosis: Any, image_name: str) -> dict[str, Any]:
    return {
        "id": str(diagnosis.public_id),
        "created_at": diagnosis.created_at,
        "finished_at": diagnosis.finished_at,
        "status": diagnosis.status,
        "outcome": diagnosis.outcome,
        "red_flag": diagnosis.red_flag,
        "photo_type": diagnosis.photo_type,
        "quality_issue": diagnosis.quality_issue,
        "gate_score": diagnosis.gate_score,
        "predictions": diagnosis.predictions,
        "model_version": diagnosis.model_version,
        "failure": diagnosis.failure_code,
        "image": image_name,
    }


def export_account_data(*, user: User) -> IO[bytes]:
    """A ZIP with ``account.json``, ``diagnoses.json`` (with each photo's spot and what the
    person noticed), ``spots.json``, ``share_links.json`` (the links made for a doctor, never
    their tokens) and every photo the person uploaded.

    Returns an open temporary file positioned at the start; large exports spill to disk
    instead of memory.
    """
    from diagnosis.models import Diagnosis
    from sharing.services import export_records as share_link_records
    from spots.services import diagnosis_export_fields
    from spots.services import export_records as spot_records

    archive = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    records = []
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        rows = Diagnosis.objects.for_user(user).select_related("spot", "answers")
        for diagnosis in rows.order_by("created_at"):
            image_name = f"images/{diagnosis.public_id}.jpg"
            try:
                with default_storage.open(diagnosis.image.name, "rb") as image:
                    bundle.writestr(image_name, image.read())
            except OSError:
                logger.warning("export: photo of diagnosis %s is missing", diagnosis.pk)
                image_name = ""
            records.append(
                _diagnosis_record(diagnosis, image_name) | diagnosis_export_fields(diagnosis)
            )
        bundle.writestr(
            "account.json", json.dumps(_account_record(user), cls=DjangoJSONEncoder, indent=2)
        )
        bundle.writestr("diagnoses.json", json.dumps(records, cls=DjangoJSONEncoder, indent=2))
        spots = spot_records(user=user)
        bundle.writestr("spots.json", json.dumps(spots, cls=DjangoJSONEncoder, indent=2))
        links = share_link_records(user=user)
        bundle.writestr("share_links.json", json.dumps(links, cls=DjangoJSONEncoder, indent=2))
    archive.seek(0)
    return archive


def delete_account(*, request: HttpRequest, user: User) -> None:
    """Delete the person, every diagnosis row and every photo file, then sign them out."""
    from diagnosis.services import delete_all_diagnoses

    with transaction.atomic():
        deleted = delete_all_diagnoses(user=user)
        user.delete()
    logout(request)
    logger.info("account deleted with %s diagnoses", deleted)
