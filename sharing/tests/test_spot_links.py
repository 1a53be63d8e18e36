"""A doctor's link to one spot: made and withdrawn on the spot's page, opened without an account,
showing the spot's finished photos oldest first and nothing else; the same lifetimes, withdrawal,
counting and 404 page as a diagnosis's link."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from diagnosis.models import Diagnosis
from sharing import services
from sharing.models import ShareLink
from sharing.tests.conftest import TOP_NAME
from spots.models import Answers, Spot

pytestmark = pytest.mark.django_db

INVALID = "This link does not work"
FIRST = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
SECOND = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def spot(person: Any, diagnosis_factory: Any, catalogue: Any) -> Spot:
    """A spot with two finished photos (June, then November) and one still queued."""
    spot = Spot.objects.create(owner=person, name="Mole on the <i>back</i>", region="back")
    for when in (SECOND, FIRST):
        row = diagnosis_factory(person, spot=spot)
        Diagnosis.objects.filter(pk=row.pk).update(created_at=when)
    Answers.objects.create(diagnosis=row, grew=True)  # the June photo
    diagnosis_factory(person, spot=spot, status=Diagnosis.Status.QUEUED, outcome="")
    return spot


def spot_url(spot: Spot) -> str:
    return reverse("spots:detail", args=[spot.public_id])


def photos_of(html: str, token: str) -> list[str]:
    prefix = re.escape(reverse("sharing:open", args=[token]) + "photos/")
    return re.findall(prefix + r"([0-9a-f-]{36})/", html)


def test_the_owner_makes_a_spot_link_on_its_page_and_sees_it_once(
    client: Client, person: Any, spot: Spot
) -> None:
    client.force_login(person)
    response = client.post(reverse("sharing:create_spot", args=[spot.public_id]), {"days": "3"})
    assert response.status_code == 302
    assert response.url == spot_url(spot) + "#share"
    link = ShareLink.objects.get()
    assert (link.owner, link.spot, link.diagnosis) == (person, spot, None)
    assert link.expires_at - link.created_at == timedelta(days=3)
    html = client.get(spot_url(spot)).content.decode()
    url = re.search(r'id="share-new-link" type="url" value="([^"]+)"', html)
    assert url is not None
    token = url.group(1).rstrip("/").rsplit("/", 1)[-1]
    assert services.find_share_link(token) == link
    again = client.get(spot_url(spot)).content.decode()
    assert token not in again and f'data-share-link="{link.pk}"' in again


def test_a_doctor_sees_the_spot_s_finished_photos_oldest_first(
    client: Client, person: Any, spot: Spot
) -> None:
    new = services.create_spot_share_link(user=person, spot=spot)
    response = client.get(reverse("sharing:open", args=[new.token]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"].startswith("noindex")
    html = response.content.decode()
    assert "A skin spot shared with you" in html
    assert "Mole on the &lt;i&gt;back&lt;/i&gt;" in html
    finished = list(services.shared_spot_photos(spot))
    assert [row.created_at for row in finished] == [FIRST, SECOND]
    assert photos_of(html, new.token) == [str(row.public_id) for row in finished]
    assert html.count(TOP_NAME) >= 2
    assert "The person noticed:" in html
    # Only the spot: no way to the owner's pages, their other checks or their account.
    assert person.email not in html
    for page in ("diagnosis:history", "diagnosis:upload", "spots:index"):
        assert f'href="{reverse(page)}"' not in html
    assert f'href="{spot_url(spot)}"' not in html
    new.link.refresh_from_db()
    assert new.link.open_count == 1


def test_the_doctor_s_page_speaks_arabic(client: Client, person: Any, spot: Spot) -> None:
    new = services.create_spot_share_link(user=person, spot=spot)
    client.cookies["django_language"] = "ar"
    html = client.get(reverse("sharing:open", args=[new.token])).content.decode()
    assert 'dir="rtl"' in html
    assert "بقعة جلدية شاركها أحدهم معك" in html
    assert "لاحظ صاحب البقعة:" in html


def test_a_spot_link_opens_only_the_spot_s_finished_photos(
    client: Client, person: Any, user_factory: Any, diagnosis_factory: Any, spot: Spot
) -> None:
    new = services.create_spot_share_link(user=person, spot=spot)
    shown = services.shared_spot_photos(spot).first()
    assert shown is not None
    response = client.get(reverse("sharing:spot_photo", args=[new.token, shown.public_id]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    queued = Diagnosis.objects.get(spot=spot, status=Diagnosis.Status.QUEUED)
    elsewhere = diagnosis_factory(person)  # the owner's, in no spot
    stranger = diagnosis_factory(user_factory())
    for row in (queued, elsewhere, stranger):
        url = reverse("sharing:spot_photo", args=[new.token, row.public_id])
        assert client.get(url).status_code == 404
    # A spot's token is no key to the single-photo address.
    assert client.get(reverse("sharing:photo", args=[new.token])).status_code == 404


def test_an_expired_or_withdrawn_spot_link_gets_the_same_404(
    client: Client, person: Any, spot: Spot
) -> None:
    expired = services.create_spot_share_link(
        user=person, spot=spot, days=1, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    withdrawn = services.create_spot_share_link(user=person, spot=spot)
    owner = Client()
    owner.force_login(person)
    response = owner.post(reverse("sharing:revoke", args=[withdrawn.link.pk]))
    assert response.url == spot_url(spot) + "#share"
    for token in (expired.token, withdrawn.token):
        response = client.get(reverse("sharing:open", args=[token]))
        assert response.status_code == 404
        assert INVALID in response.content.decode()


def test_another_person_s_spot_cannot_be_shared(
    client: Client, user_factory: Any, person: Any, spot: Spot
) -> None:
    client.force_login(user_factory())
    url = reverse("sharing:create_spot", args=[spot.public_id])
    assert client.post(url, {"days": "7"}).status_code == 404
    with pytest.raises(PermissionError):
        services.create_spot_share_link(user=user_factory(), spot=spot)
    assert not ShareLink.objects.exists()


def test_a_spot_without_a_finished_photo_is_not_shared(
    client: Client, person: Any, diagnosis_factory: Any
) -> None:
    empty = Spot.objects.create(owner=person, name="New spot", region="chest")
    diagnosis_factory(person, spot=empty, status=Diagnosis.Status.RUNNING, outcome="")
    client.force_login(person)
    client.cookies["django_language"] = "ar"
    response = client.post(
        reverse("sharing:create_spot", args=[empty.public_id]), {"days": "7"}, follow=True
    )
    assert "يمكن مشاركة البقعة بعد أن تظهر نتيجة إحدى صورها." in response.content.decode()
    assert not ShareLink.objects.exists()


def test_a_link_is_to_one_diagnosis_or_one_spot(person: Any, spot: Spot) -> None:
    photo = services.shared_spot_photos(spot).first()
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    times = {"created_at": now, "expires_at": now + timedelta(days=1)}
    for subject in ({"diagnosis": photo, "spot": spot}, {}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ShareLink.objects.create(
                owner=person, token_hash=f"x{len(subject)}", **times, **subject
            )


def test_the_account_export_lists_spot_links(client: Client, person: Any, spot: Spot) -> None:
    new = services.create_spot_share_link(user=person, spot=spot)
    client.force_login(person)
    response = client.post(reverse("accounts:export"))
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    (record,) = json.loads(bundle.read("share_links.json"))
    assert (record["spot"], record["diagnosis"]) == (str(spot.public_id), None)
    everything = b"".join(bundle.read(name) for name in bundle.namelist())
    assert new.token.encode() not in everything
