"""Every write to a spot: create, rename, delete (keeping or deleting its photos), answers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction

from spots.models import Answers, Spot

if TYPE_CHECKING:
    from accounts.models import User
    from diagnosis.models import Diagnosis

logger = logging.getLogger(__name__)

#: The answer fields a form may set (everything else on ``Answers`` is the row's own).
ANSWER_FIELDS = (
    "duration",
    "pigmented",
    "is_new",
    "grew",
    "changed_shape",
    "changed_colour",
    "itches",
    "bleeds",
    "hurts",
)


def create_spot(*, user: User, name: str, region: str) -> Spot:
    """A new spot of ``user``; ``name`` and ``region`` are validated (``ValidationError``)."""
    spot = Spot(owner=user, name=name.strip(), region=region)
    spot.full_clean(exclude=["owner"])
    spot.save()
    logger.info("spot %s created", spot.pk)
    return spot


def save_answers(*, diagnosis: Diagnosis, answers: Mapping[str, Any]) -> Answers | None:
    """Store what the person noticed with ``diagnosis``; nothing when every answer is empty."""
    values = {field: answers[field] for field in ANSWER_FIELDS if answers.get(field)}
    if not values:
        return None
    return Answers.objects.create(diagnosis=diagnosis, **values)


def delete_spot(*, spot: Spot, delete_photos: bool) -> int:
    """Delete ``spot``; its photos are deleted too when asked, else they stay in the history
    without a spot. Returns how many photos were deleted (their files go after commit)."""
    spot_id = spot.pk
    with transaction.atomic():
        deleted = 0
        if delete_photos:
            _, per_model = spot.diagnoses.all().delete()
            deleted = per_model.get("diagnosis.Diagnosis", 0)
        spot.delete()
    logger.info("spot %s deleted with %s photos", spot_id, deleted)
    return deleted


def export_records(*, user: User) -> list[dict[str, Any]]:
    """The person's spots as the account export writes them (``spots.json``)."""
    return [
        {
            "id": str(spot.public_id),
            "name": spot.name,
            "region": spot.region,
            "created_at": spot.created_at,
            "reminder_weeks": spot.reminder_weeks,
            "next_reminder_at": spot.next_reminder_at,
        }
        for spot in Spot.objects.for_user(user).order_by("created_at", "id")
    ]


def diagnosis_export_fields(diagnosis: Diagnosis) -> dict[str, Any]:
    """What the export adds to a diagnosis: its spot and what the person noticed."""
    answers = getattr(diagnosis, "answers", None)
    return {
        "spot": str(diagnosis.spot.public_id) if diagnosis.spot else None,
        "noticed": answers.as_dict() if answers else None,
    }
