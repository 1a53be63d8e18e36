from __future__ import annotations

from django.apps import AppConfig


class SkinsiteConfig(AppConfig):
    """The project package as an app, for its management commands (``run_site``)."""

    name = "skinsite"
    verbose_name = "skinsite"

    def ready(self) -> None:
        from django.contrib import admin

        from skinsite.admin_site import rate_limited

        admin.site.login = rate_limited(admin.site.login)  # type: ignore[method-assign]
