"""A person can download everything the site holds about them, and delete all of it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from diagnosis.models import Diagnosis


def jpeg_bytes(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def make_diagnosis(owner: Any, colour: str = "red") -> Diagnosis:
    diagnosis = Diagnosis(
        owner=owner,
        status=Diagnosis.Status.SUCCEEDED,
        predictions=[{"key": "eczema", "probability": 0.7}],
        top_class="eczema",
        model_version="test-model",
    )
    diagnosis.image.save("photo.jpg", ContentFile(jpeg_bytes(colour)), save=False)
    diagnosis.thumbnail.save("thumb.jpg", ContentFile(jpeg_bytes(colour)), save=False)
    diagnosis.save()
    return diagnosis


@pytest.mark.django_db
def test_export_holds_account_diagnoses_and_photos(client: Any, user_factory: Any) -> None:
    me, other = user_factory(email="me@example.com"), user_factory(email="other@example.com")
    mine = make_diagnosis(me, "red")
    make_diagnosis(other, "blue")
    client.force_login(me)

    response = client.post(reverse("accounts:export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    account = json.loads(bundle.read("account.json"))
    assert account["email"] == "me@example.com"
    diagnoses = json.loads(bundle.read("diagnoses.json"))
    assert [d["id"] for d in diagnoses] == [str(mine.public_id)]
    assert diagnoses[0]["predictions"] == [{"key": "eczema", "probability": 0.7}]
    photo = Image.open(io.BytesIO(bundle.read(diagnoses[0]["image"])))
    assert photo.getpixel((48, 48))[0] > 200  # my red photo, not the other person's blue one
    assert not any("other" in name for name in bundle.namelist())


@pytest.mark.django_db
def test_deleting_the_account_removes_rows_and_files(
    client: Any, user_factory: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    me, other = user_factory(), user_factory()
    mine = [make_diagnosis(me), make_diagnosis(me)]
    theirs = make_diagnosis(other)
    my_files = [Path(settings.MEDIA_ROOT) / d.image.name for d in mine]
    my_files += [Path(settings.MEDIA_ROOT) / d.thumbnail.name for d in mine]
    assert all(path.exists() for path in my_files)
    client.force_login(me)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:delete"), {"password": me.raw_password})

    assert response.status_code == 302
    assert not type(me).objects.filter(pk=me.pk).exists()
    assert not Diagnosis.objects.filter(owner_id=me.pk).exists()
    assert not any(path.exists() for path in my_files)
    assert (Path(settings.MEDIA_ROOT) / theirs.image.name).exists()
    assert not client.get(reverse("home")).context["user"].is_authenticated


@pytest.mark.django_db
def test_wrong_password_deletes_nothing(client: Any, user_factory: Any) -> None:
    me = user_factory()
    make_diagnosis(me)
    client.force_login(me)
    response = client.post(reverse("accounts:delete"), {"password": "not it"})
    assert response.status_code == 400
    assert "That is not your password." in response.content.decode()
    assert Diagnosis.objects.filter(owner=me).count() == 1


@pytest.mark.django_db
def test_privacy_pages_need_login(client: Any) -> None:
    responses = [client.get(reverse("accounts:privacy"))]
    responses += [client.post(reverse(name)) for name in ("accounts:export", "accounts:delete")]
    for response in responses:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
