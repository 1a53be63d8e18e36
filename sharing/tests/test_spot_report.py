"""The PDF of a spot's timeline: its photos oldest first, with their results and what the person
noticed, in English and in Arabic; only the spot's owner gets it.

Text is read back with pypdf (see ``test_report`` for what it returns for Arabic).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from diagnosis.models import Diagnosis
from diagnosis.tests import images
from sharing.tests.conftest import TOP_NAME
from sharing.tests.test_report import lines_of, text_of
from spots.models import Answers, Spot

pytestmark = pytest.mark.django_db

FIRST = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
SECOND = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def spot(person: Any, diagnosis_factory: Any, catalogue: Any) -> Spot:
    """A spot with two photos: an older answered one, and a newer one that bleeds."""
    spot = Spot.objects.create(owner=person, name="Mole by the <b>shoulder</b>", region="back")
    # Made newest first, so the order on paper comes from the dates, not from the ids.
    newer = diagnosis_factory(person, spot=spot)
    older = diagnosis_factory(person, spot=spot)
    # A photo of its own (the same bytes would be embedded in the PDF once).
    newer.thumbnail.save("newer.jpg", ContentFile(images.jpeg((80, 80))), save=False)
    Diagnosis.objects.filter(pk=newer.pk).update(created_at=SECOND, thumbnail=newer.thumbnail.name)
    Diagnosis.objects.filter(pk=older.pk).update(created_at=FIRST)
    Answers.objects.create(diagnosis=newer, bleeds=True, grew=True)
    return spot


def noticed(spot: Spot, language: str) -> list[str]:
    """What the person reported about the spot's newer photo, as its page words it."""
    with translation.override(language):
        phrases = Answers.objects.get(diagnosis__spot=spot).noticed()
    assert phrases
    return phrases


def fetch(client: Client, spot: Spot, language: str) -> tuple[Any, PdfReader]:
    url = reverse("sharing:spot_report", args=[spot.public_id]) + f"?language={language}"
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return response, PdfReader(io.BytesIO(response.content))


def test_the_owner_downloads_the_spot_s_timeline_in_english(
    client: Client, person: Any, spot: Spot
) -> None:
    client.force_login(person)
    response, reader = fetch(client, spot, "en")
    assert re.fullmatch(
        r'attachment; filename="skinsite-spot-report-\d{4}-\d{2}-\d{2}\.pdf"',
        response["Content-Disposition"],
    )
    assert response["Cache-Control"] == "private, no-store"
    text = text_of(reader)
    assert "A spot over time: report" in text
    assert "Mole by the <b>shoulder</b>" in text  # the name as text, never markup
    assert "Back" in text
    assert "2 photos, oldest first" in text
    assert text.count(TOP_NAME) == 2
    # Oldest first: June's photo before November's.
    assert text.index("June 1, 2026") < text.index("Nov. 20, 2026")
    assert "You noticed:" in text
    for phrase in noticed(spot, "en"):
        assert phrase in text
    assert "This is not a diagnosis." in text
    assert person.email not in text
    assert sum(len(page.images) for page in reader.pages) == 2  # each photo


def test_the_arabic_timeline_is_in_arabic(client: Client, person: Any, spot: Spot) -> None:
    client.force_login(person)
    _response, reader = fetch(client, spot, "ar")
    lines = lines_of(reader)
    assert "بقعة عبر الزمن: تقرير" in lines
    assert "صورتان، الأقدم أولًا" in lines
    text = text_of(reader)
    assert "الظهر" in lines  # the region
    # (pypdf drops the lam-alef ligature of the label "لاحظتَ", so only the answers are read.)
    for phrase in noticed(spot, "ar"):
        assert all(word in text for word in phrase.split())
    assert "A spot over time" not in text
    assert "This is not a diagnosis." not in text


def test_another_person_s_spot_is_refused(client: Client, user_factory: Any, spot: Spot) -> None:
    url = reverse("sharing:spot_report", args=[spot.public_id])
    client.force_login(user_factory())
    assert client.get(url).status_code == 404
    client.logout()
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_spot_page_offers_the_pdf_in_both_languages(
    client: Client, person: Any, spot: Spot
) -> None:
    client.force_login(person)
    client.cookies["django_language"] = "ar"
    html = client.get(reverse("spots:detail", args=[spot.public_id])).content.decode()
    link = reverse("sharing:spot_report", args=[spot.public_id])
    assert "اعرض هذه البقعة على طبيب" in html
    for language in ("en", "ar"):
        assert f'href="{link}?language={language}" download' in html
