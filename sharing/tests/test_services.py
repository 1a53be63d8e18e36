"""Links for a doctor: made, found, counted, expired and withdrawn, on a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from diagnosis.models import Diagnosis
from sharing import services
from sharing.models import MAX_DAYS, ShareLink, hash_token

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_new_link_lasts_seven_days_and_only_its_hash_is_stored(
    person: Any, diagnosis_factory: Any
) -> None:
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person), now=T0)
    row = ShareLink.objects.get()
    assert row.expires_at == T0 + timedelta(days=7)
    assert row.token_hash == hash_token(new.token) != new.token
    assert new.token not in str(ShareLink.objects.values().get())
    assert len(new.token) >= 43


def test_a_link_opens_until_its_expiry_and_never_after(person: Any, diagnosis_factory: Any) -> None:
    new = services.create_share_link(
        user=person, diagnosis=diagnosis_factory(person), days=3, now=T0
    )
    just_before = T0 + timedelta(days=3) - timedelta(seconds=1)
    assert services.find_share_link(new.token, now=just_before) is not None
    assert services.find_share_link(new.token, now=T0 + timedelta(days=3)) is None
    assert services.open_share_link(new.token, now=T0 + timedelta(days=30)) is None
    assert ShareLink.objects.get().state(now=T0 + timedelta(days=3)) == ShareLink.State.EXPIRED


@pytest.mark.parametrize("days", [0, -1, MAX_DAYS + 1])
def test_a_lifetime_outside_one_to_thirty_days_is_refused(
    person: Any, diagnosis_factory: Any, days: int
) -> None:
    with pytest.raises(ValueError, match="between 1 and 30"):
        services.create_share_link(user=person, diagnosis=diagnosis_factory(person), days=days)
    assert not ShareLink.objects.exists()


def test_thirty_days_is_allowed(person: Any, diagnosis_factory: Any) -> None:
    new = services.create_share_link(
        user=person, diagnosis=diagnosis_factory(person), days=MAX_DAYS, now=T0
    )
    assert new.link.expires_at == T0 + timedelta(days=30)


def test_a_withdrawn_link_no_longer_opens(person: Any, diagnosis_factory: Any) -> None:
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person), now=T0)
    assert services.revoke_share_link(link=new.link, now=T0 + timedelta(hours=1))
    assert not services.revoke_share_link(link=new.link)  # a second time changes nothing
    row = ShareLink.objects.get()
    assert row.revoked_at == T0 + timedelta(hours=1)
    assert row.state(now=T0 + timedelta(hours=2)) == ShareLink.State.REVOKED
    assert services.open_share_link(new.token, now=T0 + timedelta(hours=2)) is None


def test_a_tampered_or_truncated_token_finds_nothing(person: Any, diagnosis_factory: Any) -> None:
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person))
    flipped = new.token[:-1] + ("A" if new.token[-1] != "A" else "B")
    for token in (flipped, new.token[:-1], new.token + "x", new.token.upper(), ""):
        assert services.find_share_link(token) is None
    assert services.find_share_link(new.token) is not None


def test_each_opening_is_counted(person: Any, diagnosis_factory: Any) -> None:
    new = services.create_share_link(user=person, diagnosis=diagnosis_factory(person), now=T0)
    for minutes in (1, 2, 3):
        opened = services.open_share_link(new.token, now=T0 + timedelta(minutes=minutes))
        assert opened is not None and opened.open_count == minutes
    row = ShareLink.objects.get()
    assert row.open_count == 3 and row.last_opened_at == T0 + timedelta(minutes=3)
    # Looking up the photo is not an opening.
    services.find_share_link(new.token)
    assert ShareLink.objects.get().open_count == 3


def test_only_the_owner_of_a_finished_diagnosis_can_make_a_link(
    person: Any, user_factory: Any, diagnosis_factory: Any
) -> None:
    with pytest.raises(PermissionError):
        services.create_share_link(user=person, diagnosis=diagnosis_factory(user_factory()))
    for status in (Diagnosis.Status.QUEUED, Diagnosis.Status.RUNNING, Diagnosis.Status.FAILED):
        unfinished = diagnosis_factory(person, status=status, outcome="", predictions=[])
        with pytest.raises(services.NotShareable):
            services.create_share_link(user=person, diagnosis=unfinished)
    assert not ShareLink.objects.exists()


def test_deleting_the_diagnosis_deletes_its_links(person: Any, diagnosis_factory: Any) -> None:
    diagnosis = diagnosis_factory(person)
    new = services.create_share_link(user=person, diagnosis=diagnosis)
    diagnosis.delete()
    assert not ShareLink.objects.exists()
    assert services.find_share_link(new.token) is None


def test_the_export_lists_links_without_tokens(person: Any, diagnosis_factory: Any) -> None:
    diagnosis = diagnosis_factory(person)
    made = timezone.now() - timedelta(days=10)
    new = services.create_share_link(user=person, diagnosis=diagnosis, now=made)
    services.open_share_link(new.token, now=made + timedelta(minutes=5))
    (record,) = services.export_records(user=person)
    assert record["diagnosis"] == str(diagnosis.public_id)
    assert record["open_count"] == 1 and record["state"] == "expired"
    assert record["expires_at"] == made + timedelta(days=7)
    assert new.token not in str(record) and new.link.token_hash not in str(record)
