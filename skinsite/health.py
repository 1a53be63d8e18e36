"""Checks behind ``/healthz``: the database, the broker and the model the site serves."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection

logger = logging.getLogger(__name__)


def check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("health: database unreachable", exc_info=True)
        return False
    return True


def check_broker() -> bool:
    from django.conf import settings
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:
        logger.warning("health: broker unreachable", exc_info=True)
        return False
    return True


def active_model_status() -> dict[str, Any]:
    try:
        from mltrain.services import active_model_version

        version = active_model_version()
    except Exception:
        logger.warning("health: could not read the active model", exc_info=True)
        return {"active": None, "ok": False}
    if version is None:
        return {"active": None, "ok": False}
    return {"active": version.version, "sha256": version.sha256, "ok": True}
