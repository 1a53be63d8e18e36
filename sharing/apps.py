from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    """Taking a result to a doctor: read-only links and the PDF report."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "sharing"
    verbose_name = _("Sharing with a doctor")
