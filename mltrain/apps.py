from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MltrainConfig(AppConfig):
    name = "mltrain"
    verbose_name = _("Model training")
    default_auto_field = "django.db.models.BigAutoField"
