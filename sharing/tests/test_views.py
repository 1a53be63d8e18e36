"""The owner makes and withdraws links on the result page; a doctor opens one without an
account and sees that one result only, never cached or indexed; bad links get a clear 404."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sharing import services
from sharing.models import ShareLink
from sharing.tests.conftest import TOP_NAME

pytestmark = pytest.mark.django_db

INVALID = "This link does not work"


def detail_url(diagnosis: Any) -> str:
    return reverse("diagnosis:detail", args=[diagnosis.public_id])


def open_url(token: str) -> str:
    return reverse("sharing:open", args=[token])


def assert_private(response: Any) -> None:
    """Not for search engines, not for shared caches, no Referer carrying the token."""
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"


@pytest.fixture
def owner(client: Client, person: Any) -> Client:
    client.force_login(person)
    return client


# --- the owner: making, seeing and withdrawing links ------------------------------------------


def test_the_owner_makes_a_link_and_sees_it_once(
    owner: Client, person: Any, diagnosis_factory: Any
) -> None:
    diagnosis = diagnosis_factory(person)
    response = owner.post(reverse("sharing:create", args=[diagnosis.public_id]), {"days": "14"})
    assert response.status_code == 302
    assert response.url == detail_url(diagnosis) + "#share"
    link = ShareLink.objects.get()
    assert link.owner == person and link.diagnosis == diagnosis
    assert link.expires_at - link.created_at == timedelta(days=14)

    html = owner.get(detail_url(diagnosis)).content.decode()
    url = re.search(r'id="share-new-link" type="url" value="([^"]+)"', html)
    assert url is not None and "/shared/" in url.group(1)
    token = url.group(1).rstrip("/").rsplit("/", 1)[-1]
    assert services.find_share_link(token) == link
    # Shown once: the next visit lists the link without its address.
    again = owner.get(detail_url(diagnosis)).content.decode()
    assert token not in again and f'data-share-link="{link.pk}"' in again


def test_the_result_page_shows_each_links_state_and_open_count(
    owner: Client, person: Any, diagnosis_factory: Any
) -> None:
    diagnosis = diagnosis_factory(person)
    active = services.create_share_link(user=person, diagnosis=diagnosis)
    withdrawn = services.create_share_link(user=person, diagnosis=diagnosis)
    services.revoke_share_link(link=withdrawn.link)
    for _ in range(2):
        Client().get(open_url(active.token))
    html = owner.get(detail_url(diagnosis)).content.decode()
    assert re.search(rf'data-share-link="{active.link.pk}" data-state="active"', html)
    assert re.search(rf'data-share-link="{withdrawn.link.pk}" data-state="revoked"', html)
    assert "Opened 2 times" in html and "Not opened yet" in html
    assert html.count(">Withdraw</button>") == 1


def test_a_link_to_another_persons_diagnosis_is_a_404(
    owner: Client, user_factory: Any, diagnosis_factory: Any
) -> None:
    theirs = diagnosis_factory(user_factory())
    response = owner.post(reverse("sharing:create", args=[theirs.public_id]), {"days": "7"})
    assert response.status_code == 404
    assert not ShareLink.objects.exists()


def test_an_anonymous_visitor_cannot_make_a_link(
    client: Client, diagnosis_factory: Any, person: Any
) -> None:
    diagnosis = diagnosis_factory(person)
    response = client.post(reverse("sharing:create", args=[diagnosis.public_id]), {"days": "7"})
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize("days", ["31", "0", "abc", ""])
def test_a_lifetime_that_is_not_offered_makes_no_link(
    owner: Client, person: Any, diagnosis_factory: Any, days: str
) -> None:
    diagnosis = diagnosis_factory(person)
    response = owner.post(
        reverse("sharing:create", args=[diagnosis.public_id]), {"days": days}, follow=True
    )
    assert "Choose how long the link should work." in response.content.decode()
    assert not ShareLink.objects.exists()


def test_an_unfinished_check_cannot_be_shared_yet(
    owner: Client, person: Any, diagnosis_factory: Any
) -> None:
    queued = diagnosis_factory(person, status="queued", outcome="", predictions=[])
    response = owner.post(
        reverse("sharing:create", args=[queued.public_id]), {"days": "7"}, follow=True
    )
    assert "Only a finished check can be shared" in response.content.decode()
    assert not ShareLink.objects.exists()


def test_a_failed_check_offers_no_link(owner: Client, person: Any, diagnosis_factory: Any) -> None:
    failed = diagnosis_factory(person, status="failed", outcome="", failure_code="internal")
    assert "data-share-panel" not in owner.get(detail_url(failed)).content.decode()


def test_the_owner_withdraws_a_link(owner: Client, person: Any, diagnosis_factory: Any) -> None:
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person))
    response = owner.post(reverse("sharing:revoke", args=[new.link.pk]), follow=True)
    assert "The link was withdrawn" in response.content.decode()
    assert ShareLink.objects.get().revoked_at is not None
    assert Client().get(open_url(new.token)).status_code == 404


def test_nobody_else_can_withdraw_a_link(
    owner: Client, user_factory: Any, diagnosis_factory: Any
) -> None:
    someone = user_factory()
    theirs = services.create_share_link(user=someone, diagnosis=diagnosis_factory(someone))
    assert owner.post(reverse("sharing:revoke", args=[theirs.link.pk])).status_code == 404
    assert ShareLink.objects.get().revoked_at is None


# --- the doctor: opening a link ---------------------------------------------------------------


def test_a_doctor_opens_the_link_without_an_account(
    client: Client, person: Any, diagnosis_factory: Any, catalogue: Any
) -> None:
    diagnosis = diagnosis_factory(person)
    other = diagnosis_factory(person)
    new = services.create_share_link(user=person, diagnosis=diagnosis)

    response = client.get(open_url(new.token))
    html = response.content.decode()
    assert response.status_code == 200
    assert_private(response)
    assert '<meta name="robots" content="noindex' in html
    assert TOP_NAME in html and "right about 7 times in 10" in html
    assert reverse("sharing:photo", args=[new.token]) in html
    # Only what was shared: not the owner, not their other checks, no owner's actions.
    assert person.email not in html
    assert str(other.public_id) not in html and str(diagnosis.public_id) not in html
    assert "data-share-panel" not in html and "data-delete" not in html
    assert ShareLink.objects.get().open_count == 1


def test_the_shared_photo_is_served_with_the_token_only(
    client: Client, person: Any, diagnosis_factory: Any
) -> None:
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person))
    response = client.get(reverse("sharing:photo", args=[new.token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8")
    assert_private(response)
    assert ShareLink.objects.get().open_count == 0
    tampered = new.token[:-2] + ("xx" if not new.token.endswith("xx") else "yy")
    assert client.get(reverse("sharing:photo", args=[tampered])).status_code == 404


def test_a_refused_photo_shows_its_refusal_and_no_disease_name(
    client: Client, person: Any, diagnosis_factory: Any, catalogue: Any
) -> None:
    refused = diagnosis_factory(person, outcome="not_skin", predictions=[], top_class="")
    new = services.create_share_link(user=person, diagnosis=refused)
    html = client.get(open_url(new.token)).content.decode()
    assert "This does not look like a close-up photo of skin" in html
    for info in catalogue.values():
        assert info.name("en") not in html
    assert "%" not in re.sub(r"<[^>]+>", "", html.split("data-shared-result", 1)[1])
    assert "data-try-again" not in html


def test_the_red_flag_leads_the_shared_page(
    client: Client, person: Any, diagnosis_factory: Any, catalogue: Any
) -> None:
    top3 = [
        {"key": "melanoma", "probability": 0.55},
        {"key": "melanocytic_nevi", "probability": 0.30},
        {"key": "benign_keratosis", "probability": 0.05},
    ]
    flagged = diagnosis_factory(person, predictions=top3, top_class="melanoma", red_flag="melanoma")
    new = services.create_share_link(user=person, diagnosis=flagged)
    html = client.get(open_url(new.token)).content.decode()
    assert 'data-urgent-class="melanoma"' in html and "See a doctor" in html


def test_the_shared_page_speaks_arabic(
    client: Client, person: Any, diagnosis_factory: Any, catalogue: Any, settings: Any
) -> None:
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    html = client.get(open_url(new.token)).content.decode()
    assert 'dir="rtl"' in html
    assert "فحص جلدي شاركه معك أحدهم" in html
    assert catalogue["melanocytic_nevi"].name("ar") in html


def bad_link_response(client: Client, token: str) -> Any:
    response = client.get(open_url(token))
    assert response.status_code == 404
    assert INVALID in response.content.decode()
    assert_private(response)
    return response


def test_an_expired_link_is_a_clear_404(
    client: Client, person: Any, diagnosis_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = timezone.now()
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person), days=1)
    assert client.get(open_url(new.token)).status_code == 200
    # The clock moves on to the link's expiry.
    monkeypatch.setattr(timezone, "now", lambda: made + timedelta(days=1, seconds=1))
    bad_link_response(client, new.token)
    assert ShareLink.objects.get().open_count == 1


def test_a_link_made_long_ago_has_expired(
    client: Client, person: Any, diagnosis_factory: Any
) -> None:
    long_ago = timezone.now() - timedelta(days=31)
    new = services.create_share_link(
        user=person, diagnosis=diagnosis_factory(person), days=30, now=long_ago
    )
    bad_link_response(client, new.token)


def test_a_withdrawn_link_is_a_clear_404(
    client: Client, person: Any, diagnosis_factory: Any
) -> None:
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person))
    services.revoke_share_link(link=new.link)
    bad_link_response(client, new.token)
    assert client.get(reverse("sharing:photo", args=[new.token])).status_code == 404


def test_a_tampered_link_is_a_clear_404(
    client: Client, person: Any, diagnosis_factory: Any
) -> None:
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person))
    last = "A" if new.token[-1] != "A" else "B"
    bad_link_response(client, new.token[:-1] + last)
    bad_link_response(client, new.token[:20])
    bad_link_response(client, "not-a-token")
    assert ShareLink.objects.get().open_count == 0


def test_a_link_to_a_deleted_diagnosis_is_a_clear_404(
    client: Client, owner: Client, person: Any, diagnosis_factory: Any
) -> None:
    diagnosis = diagnosis_factory(person)
    new = services.create_share_link(user=person, diagnosis=diagnosis)
    owner.post(reverse("diagnosis:delete", args=[diagnosis.public_id]))
    bad_link_response(Client(), new.token)


def test_the_bad_link_page_speaks_arabic(client: Client, settings: Any) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    response = client.get(open_url("x" * 43))
    assert response.status_code == 404
    assert "هذا الرابط لا يعمل" in response.content.decode()


# --- rate limits ------------------------------------------------------------------------------


def test_opening_links_is_rate_limited(
    client: Client, person: Any, diagnosis_factory: Any, settings: Any
) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "share_open": "3/m/ip"}
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person))
    statuses = [client.get(open_url(new.token)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    # Guessing tokens counts too, and the refusal is still private.
    refused = client.get(open_url("y" * 43))
    assert refused.status_code == 429
    assert_private(refused)
    assert ShareLink.objects.get().open_count == 3


def test_making_links_is_rate_limited(
    owner: Client, person: Any, diagnosis_factory: Any, settings: Any
) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "share_create": "2/h/user"}
    diagnosis = diagnosis_factory(person)
    url = reverse("sharing:create", args=[diagnosis.public_id])
    statuses = [owner.post(url, {"days": "7"}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert ShareLink.objects.count() == 2


# --- the account export -----------------------------------------------------------------------


def test_the_account_export_lists_links_without_their_tokens(
    owner: Client, person: Any, diagnosis_factory: Any
) -> None:
    diagnosis = diagnosis_factory(person)
    new = services.create_share_link(user=person, diagnosis=diagnosis)
    services.open_share_link(new.token)
    response = owner.post(reverse("accounts:export"))
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    (record,) = json.loads(bundle.read("share_links.json"))
    assert record["diagnosis"] == str(diagnosis.public_id)
    assert record["open_count"] == 1 and record["state"] == "active"
    everything = b"".join(bundle.read(name) for name in bundle.namelist())
    assert new.token.encode() not in everything
    assert new.link.token_hash.encode() not in everything


def test_the_owners_panel_speaks_arabic(
    owner: Client, person: Any, diagnosis_factory: Any, settings: Any
) -> None:
    diagnosis = diagnosis_factory(person)
    new = services.create_share_link(user=person, diagnosis=diagnosis)
    for _ in range(2):
        Client().get(open_url(new.token))
    owner.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    html = owner.get(detail_url(diagnosis)).content.decode()
    assert "اعرض هذه النتيجة على طبيب" in html
    assert "فُتح مرتين" in html  # Arabic's dual: "opened twice"
    assert "يوم واحد" in html and "30 يومًا" in html
    assert "تقرير PDF بالعربية" in html
