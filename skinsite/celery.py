"""The Celery application; its queues are named in ``skinsite/queues.py``.

Its settings are the ``CELERY_*`` names in ``skinsite/settings.py`` (task routes, the settings that
keep jobs from being lost, time limits, the beat schedule), read lazily so importing this module
never loads Django settings.
"""

from __future__ import annotations

import os

from celery import Celery

from skinsite.queues import Queue

__all__ = ["Queue", "app"]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skinsite.settings")


app = Celery("skinsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
