"""Admin forms for the catalogue."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from diseases.models import english_required_error, missing_english


class EnglishFirstForm(forms.ModelForm):
    """Says *why* an English field is required when only its translation was filled in.

    The English field is required anyway (it is the fallback); without this the curator would
    only read "This field is required." The same rule is enforced by the models' ``clean``.
    """

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        fields = getattr(self._meta.model, "TEXT_FIELDS", ())
        default = settings.MODELTRANSLATION_DEFAULT_LANGUAGE
        for field, language in missing_english(cleaned, fields).items():
            english = f"{field}_{default}"
            if english in self.fields:
                self.errors.pop(english, None)  # replaces the bare "This field is required."
                self.add_error(english, english_required_error(self._meta.model, field, language))
        return cleaned
