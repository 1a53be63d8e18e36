from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sharing.models import DEFAULT_DAYS, MAX_DAYS

#: The lifetimes offered; the service accepts any whole number of days from 1 to MAX_DAYS.
DAY_CHOICES = (1, 3, DEFAULT_DAYS, 14, MAX_DAYS)


class ShareLinkForm(forms.Form):
    """How long the new link works."""

    days = forms.TypedChoiceField(
        label=_("The link works for"),
        choices=[(days, str(days)) for days in DAY_CHOICES],
        coerce=int,
        initial=DEFAULT_DAYS,
        widget=forms.Select(attrs={"class": "form-select form-select-sm w-auto"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Labelled per request: the plural form depends on the language in use.
        field = self.fields["days"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrows the type
        field.choices = [
            (days, ngettext("%(days)d day", "%(days)d days", days) % {"days": days})
            for days in DAY_CHOICES
        ]
