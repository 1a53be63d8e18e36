"""Writes of the sharing app: make, withdraw and open links to one diagnosis or one spot."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from sharing.models import DEFAULT_DAYS, MAX_DAYS, ShareLink, hash_token

if TYPE_CHECKING:
    from accounts.models import User
    from diagnosis.models import Diagnosis
    from spots.models import Spot

#: 32 random bytes, URL-safe: 43 characters that match Django's ``slug`` path converter.
TOKEN_BYTES = 32


class NotShareable(Exception):
    """Nothing finished to show yet: a diagnosis queued, running or failed, or a spot without a
    finished photo."""


@dataclass(frozen=True)
class NewLink:
    """A link just made, with the only copy of its token."""

    link: ShareLink
    token: str


def _make_link(*, user: User, days: int, now: datetime | None, **subject: Any) -> NewLink:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, not {days}")
    now = timezone.now() if now is None else now
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        link = ShareLink.objects.create(
            owner=user,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + timedelta(days=days),
            **subject,
        )
    return NewLink(link=link, token=token)


def create_share_link(
    *,
    user: User,
    diagnosis: Diagnosis,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> NewLink:
    """A new read-only link to ``diagnosis`` (which must be ``user``'s own and finished),
    valid for ``days`` (1 to MAX_DAYS). The token is returned once and never stored."""
    if diagnosis.owner_id != user.pk:
        raise PermissionError("a link can only be made to one's own diagnosis")
    if diagnosis.status != diagnosis.Status.SUCCEEDED:
        raise NotShareable(diagnosis.status)
    return _make_link(user=user, days=days, now=now, diagnosis=diagnosis)


def create_spot_share_link(
    *,
    user: User,
    spot: Spot,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> NewLink:
    """A new read-only link to ``spot`` (``user``'s own, with at least one finished photo):
    the same lifetimes, withdrawal and counting as a diagnosis's link."""
    if spot.owner_id != user.pk:
        raise PermissionError("a link can only be made to one's own spot")
    if not shared_spot_photos(spot).exists():
        raise NotShareable("no finished photo")
    return _make_link(user=user, days=days, now=now, spot=spot)


def shared_spot_photos(spot: Spot) -> QuerySet[Diagnosis]:
    """What a spot's link shows: the spot's finished photos, oldest first."""
    from diagnosis.models import Diagnosis

    return (
        Diagnosis.objects.filter(owner=spot.owner_id, spot=spot, status=Diagnosis.Status.SUCCEEDED)
        .select_related("answers")
        .order_by("created_at", "id")
    )


def revoke_share_link(*, link: ShareLink, now: datetime | None = None) -> bool:
    """Withdraw ``link`` at once; False when it was already withdrawn."""
    now = timezone.now() if now is None else now
    updated = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=now)
    if updated:
        link.revoked_at = now
    return bool(updated)


def find_share_link(token: str, *, now: datetime | None = None) -> ShareLink | None:
    """The usable link with this token, its diagnosis or spot loaded; None for an expired,
    withdrawn, mistyped or tampered token (they are not told apart to the visitor)."""
    if not token:
        return None
    return (
        ShareLink.objects.usable(now=now)
        .select_related("diagnosis", "spot")
        .filter(token_hash=hash_token(token))
        .first()
    )


def open_share_link(token: str, *, now: datetime | None = None) -> ShareLink | None:
    """``find_share_link``, counting the opening (an atomic increment: concurrent openings
    are all counted)."""
    now = timezone.now() if now is None else now
    link = find_share_link(token, now=now)
    if link is None:
        return None
    ShareLink.objects.filter(pk=link.pk).update(open_count=F("open_count") + 1, last_opened_at=now)
    link.refresh_from_db(fields=["open_count", "last_opened_at"])
    return link


def export_records(*, user: User) -> list[dict[str, Any]]:
    """The person's links for the account export: what, when, how often; never a token or
    its hash."""
    now = timezone.now()
    return [
        {
            "diagnosis": str(link.diagnosis.public_id) if link.diagnosis else None,
            "spot": str(link.spot.public_id) if link.spot else None,
            "created_at": link.created_at,
            "expires_at": link.expires_at,
            "revoked_at": link.revoked_at,
            "state": link.state(now=now).value,
            "open_count": link.open_count,
            "last_opened_at": link.last_opened_at,
        }
        for link in ShareLink.objects.filter(owner=user)
        .select_related("diagnosis", "spot")
        .order_by("created_at", "id")
    ]
