"""Re-check reminders: opt-in per spot, e-mailed in the person's language by Celery beat.

Each e-mail carries two signed links (``django.core.signing``, no login needed to verify):
one opens the upload page for the spot, one stops the reminders (also offered as RFC 8058
one-click unsubscribe headers). A link that expired or was tampered with gets a clear page.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from spots.models import Spot

if TYPE_CHECKING:
    from uuid import UUID

logger = logging.getLogger(__name__)

SALT = "spots.reminder"
#: How long a reminder's links stay valid (longer than the longest interval).
LINK_MAX_AGE = timedelta(days=120)
SNOOZE = timedelta(weeks=1)


class BadLink(Exception):
    """The reminder link expired, or was altered."""


def set_reminder(*, spot: Spot, weeks: int, now: datetime | None = None) -> None:
    """Turn reminders on (every ``weeks`` weeks from now) or off (0)."""
    if weeks not in Spot.Every.values:
        raise ValueError(f"not a reminder interval: {weeks}")
    spot.reminder_weeks = weeks
    spot.next_reminder_at = (now or timezone.now()) + timedelta(weeks=weeks) if weeks else None
    spot.save(update_fields=["reminder_weeks", "next_reminder_at"])


def snooze_reminder(*, spot: Spot) -> None:
    """Put the next reminder off by a week."""
    if spot.reminder_weeks and spot.next_reminder_at:
        spot.next_reminder_at += SNOOZE
        spot.save(update_fields=["next_reminder_at"])


def make_token(spot: Spot) -> str:
    return signing.dumps(str(spot.public_id), salt=SALT)


def spot_for_token(token: str) -> Spot:
    """The spot a reminder link names; ``BadLink`` when expired, altered or gone."""
    try:
        public_id: UUID | str = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature as exc:  # SignatureExpired is one
        raise BadLink from exc
    spot = Spot.objects.filter(public_id=public_id).first()
    if spot is None:
        raise BadLink
    return spot


def send_due_reminders(*, now: datetime | None = None) -> int:
    """E-mail every due reminder once; returns how many were sent.

    Each spot is claimed by a conditional UPDATE that moves its due date on: a second beat, a
    restarted worker or a parallel run finds nothing left to claim. A send that fails puts
    the date back (if nobody changed it since) and is logged, so the next run tries again.
    """
    now = now or timezone.now()
    due = Spot.objects.filter(
        reminder_weeks__gt=0, next_reminder_at__lte=now, owner__is_active=True
    ).select_related("owner")
    sent = 0
    for spot in due:
        was = spot.next_reminder_at
        following = now + timedelta(weeks=spot.reminder_weeks)
        claimed = Spot.objects.filter(
            pk=spot.pk, next_reminder_at=was, reminder_weeks=spot.reminder_weeks
        ).update(next_reminder_at=following)
        if not claimed:
            logger.info("reminder for spot %s already sent or changed", spot.pk)
            continue
        try:
            _send(spot)
        except Exception:  # any mail failure: put the date back, log, let the next run retry
            Spot.objects.filter(pk=spot.pk, next_reminder_at=following).update(next_reminder_at=was)
            logger.exception("reminder for spot %s could not be sent; retried later", spot.pk)
            continue
        sent += 1
        logger.info("reminder for spot %s sent", spot.pk)
    return sent


def _send(spot: Spot) -> None:
    token = make_token(spot)
    base = settings.SITE_URL.rstrip("/")
    stop_url = base + reverse("spots:reminder_stop", args=[token])
    language = spot.owner.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "spot": spot,
            "region": spot.get_region_display(),
            "upload_url": base + reverse("spots:reminder_open", args=[token]),
            "stop_url": stop_url,
        }
        subject = render_to_string("spots/email/reminder_subject.txt", context).strip()
        body = render_to_string("spots/email/reminder.txt", context)
    message = EmailMessage(
        subject,
        body,
        to=[spot.owner.email],
        headers={
            "List-Unsubscribe": f"<{stop_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.send(fail_silently=False)
