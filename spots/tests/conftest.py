"""The diagnosis tests' fixtures (an active tiny model, a fake broker, a signed-in person)."""

from __future__ import annotations

from diagnosis.tests.conftest import (  # noqa: F401 - fixtures, found by name
    _no_stray_publishing,
    active_model,
    broker,
    browser,
    catalogue,
    enqueued,
    needs_postgres,
    person,
    tiny_artifact,
)
