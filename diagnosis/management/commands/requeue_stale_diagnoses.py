"""``manage.py requeue_stale_diagnoses``: the sweeper by hand (celery beat runs it each minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from diagnosis import tasks


class Command(BaseCommand):
    help = (
        "Re-enqueue diagnoses stuck in queued or running past DIAGNOSIS_STALE_AFTER_SECONDS "
        "(or never handed to the broker); fail those that used up DIAGNOSIS_MAX_ATTEMPTS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = tasks.requeue_stale_diagnoses()  # the task's body, run here
        self.stdout.write(f"{result['requeued']} re-enqueued, {result['failed']} failed.")
