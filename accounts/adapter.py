from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.utils import translation

from accounts.models import User
from accounts.preferences import LANGUAGE_CODES


class AccountAdapter(DefaultAccountAdapter):
    """allauth adapter: e-mails go out in the recipient's language."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        with translation.override(self._language_for(email, context)):
            super().send_mail(template_prefix, email, context)

    @staticmethod
    def _language_for(email: str, context: dict[str, Any]) -> str:
        user = context.get("user")
        if not isinstance(user, User):
            user = User.objects.filter(email__iexact=email).only("preferred_language").first()
        if user is not None and user.preferred_language in LANGUAGE_CODES:
            return str(user.preferred_language)
        return translation.get_language() or "en"
