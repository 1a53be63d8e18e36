from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpotsConfig(AppConfig):
    name = "spots"
    verbose_name = _("Spots")
    default_auto_field = "django.db.models.BigAutoField"
