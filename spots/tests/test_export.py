"""The account export holds spots and what the person noticed; deleting the account ends them."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from diagnosis.tests.pages import make
from spots import services
from spots.models import Answers, Spot

pytestmark = pytest.mark.django_db


def test_the_export_holds_my_spots_and_answers_only(
    browser: Client, person: Any, user_factory: Any, active_model: Any, enqueued: list[int]
) -> None:
    spot = services.create_spot(user=person, name="<b>mole</b>", region="back")
    services.create_spot(user=user_factory(), name="theirs", region="feet")
    filed = make(person, spot=spot)
    Answers.objects.create(diagnosis=filed, pigmented="yes", bleeds=True, duration="years")
    loose = make(person)

    response = browser.post(reverse("accounts:export"))
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    spots = json.loads(bundle.read("spots.json"))
    assert spots == [
        {
            "id": str(spot.public_id),
            "name": "<b>mole</b>",
            "region": "back",
            "created_at": spots[0]["created_at"],
            "reminder_weeks": 0,
            "next_reminder_at": None,
        }
    ]
    diagnoses = {d["id"]: d for d in json.loads(bundle.read("diagnoses.json"))}
    assert diagnoses[str(filed.public_id)]["spot"] == str(spot.public_id)
    noticed = diagnoses[str(filed.public_id)]["noticed"]
    assert noticed["pigmented"] == "yes" and noticed["bleeds_without_injury"] is True
    assert noticed["duration"] == "years" and noticed["grew"] is False
    assert diagnoses[str(loose.public_id)]["spot"] is None
    assert diagnoses[str(loose.public_id)]["noticed"] is None


def test_deleting_the_account_deletes_its_spots(
    client: Client, user_factory: Any, active_model: Any, enqueued: list[int]
) -> None:
    me = user_factory()
    spot = services.create_spot(user=me, name="mole", region="back")
    Answers.objects.create(diagnosis=make(me, spot=spot), bleeds=True)
    client.force_login(me)
    client.post(reverse("accounts:delete"), {"password": me.raw_password})
    assert not Spot.objects.exists() and not Answers.objects.exists()
