"""skinsite project package. Importing it loads the Celery app so tasks are registered."""

from __future__ import annotations

from skinsite.celery import app as celery_app

__all__ = ("celery_app",)
