from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiseasesConfig(AppConfig):
    name = "diseases"
    verbose_name = _("Disease catalogue")

    def ready(self) -> None:
        # Cache invalidation for the lookup.
        from diseases import signals  # noqa: F401
