"""The Celery application and its queues.

Its settings are the ``CELERY_*`` names in ``skinsite/settings.py`` (task routes, the settings that
keep jobs from being lost, time limits, the beat schedule), read lazily so importing this module
never loads Django settings.
"""

from __future__ import annotations

import enum
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skinsite.settings")


class Queue(enum.StrEnum):
    """Every queue the site uses. Inference has its own so GPU workers can serve it apart."""

    DEFAULT = "default"
    INFERENCE = "inference"
    MAINTENANCE = "maintenance"


app = Celery("skinsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
