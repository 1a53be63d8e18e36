from __future__ import annotations

from django.apps import AppConfig


class SkinsiteConfig(AppConfig):
    """The project package as an app, for its management commands (``run_site``)."""

    name = "skinsite"
    verbose_name = "skinsite"
