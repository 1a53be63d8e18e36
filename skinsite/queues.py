"""The names of the Celery queues, apart from the Celery app so settings can name them without
building it."""

from __future__ import annotations

import enum


class Queue(enum.StrEnum):
    """Every queue the site uses. Inference has its own so GPU workers can serve it apart."""

    DEFAULT = "default"
    INFERENCE = "inference"
    MAINTENANCE = "maintenance"
