"""A read-only link to one diagnosis or one spot, for a doctor: only the hash of its token is
stored."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: How long a new link lives unless the owner chooses otherwise, and the longest allowed.
DEFAULT_DAYS = 7
MAX_DAYS = 30


def hash_token(token: str) -> str:
    """sha256 of the token: a database leak gives no working link."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ShareLinkQuerySet(models.QuerySet["ShareLink"]):
    def usable(self, *, now: datetime | None = None) -> ShareLinkQuerySet:
        """Links that open: not revoked and not past their expiry."""
        now = timezone.now() if now is None else now
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class ShareLink(models.Model):
    """One read-only link to one diagnosis, or to one spot (its finished photos over time).

    States (by time and by the owner, never back)::

        (created) ──▶ ACTIVE ──expires_at passes──▶ EXPIRED
                        │
                        └──owner revokes──▶ REVOKED (revoked_at set)

    The token itself is shown to the owner once, when the link is made; the row keeps only its
    sha256. Deleting the diagnosis, the spot (or the account) deletes its links. A spot's link
    shows the spot as it is when opened: photos added while it works show too.
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Withdrawn")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_links"
    )
    # Exactly one of the two (a constraint below).
    diagnosis = models.ForeignKey(
        "diagnosis.Diagnosis",
        on_delete=models.CASCADE,
        related_name="share_links",
        null=True,
        blank=True,
    )
    spot = models.ForeignKey(
        "spots.Spot", on_delete=models.CASCADE, related_name="share_links", null=True, blank=True
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("share link")
        verbose_name_plural = _("share links")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="sharelink_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=models.Q(diagnosis__isnull=False, spot__isnull=True)
                | models.Q(diagnosis__isnull=True, spot__isnull=False),
                name="sharelink_one_diagnosis_or_one_spot",
            ),
        ]

    def __str__(self) -> str:
        if self.spot_id is not None:
            return f"share link {self.pk} of spot {self.spot_id}"
        return f"share link {self.pk} of diagnosis {self.diagnosis_id}"

    def state(self, *, now: datetime | None = None) -> ShareLink.State:
        now = timezone.now() if now is None else now
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= now:
            return self.State.EXPIRED
        return self.State.ACTIVE

    @property
    def lifetime(self) -> timedelta:
        return self.expires_at - self.created_at
