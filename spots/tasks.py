"""Celery entry points of spots (Celery beat runs ``send_due_reminders``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="spots.tasks.send_due_reminders", ignore_result=True, soft_time_limit=240, time_limit=300
)
def send_due_reminders() -> int:
    """Send the re-check reminders that are due (``spots.reminders.send_due_reminders``)."""
    from spots.reminders import send_due_reminders as send

    return send()
