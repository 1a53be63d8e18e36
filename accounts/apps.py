from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    # Not "Accounts": allauth's own app (the e-mail addresses) already goes by that name, and
    # the admin's sidebar showed two sections called "Accounts".
    verbose_name = _("Users")
