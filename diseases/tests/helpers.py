"""Build the POST body of a Django admin change form from the page the admin rendered."""

from __future__ import annotations

from typing import Any

from django import forms


def _add_form(form: forms.BaseForm, data: dict[str, Any]) -> None:
    for bound in form:
        field = bound.field
        if isinstance(field, forms.FileField):
            continue
        value = bound.value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
            continue
        if value is None:
            value = ""
        if isinstance(value, list | tuple):
            data[bound.html_name] = [str(item) for item in value]
        else:
            data[bound.html_name] = str(value)


def admin_form_data(response: Any) -> dict[str, Any]:
    """Everything the browser would send back unchanged, inlines and management forms included."""
    data: dict[str, Any] = {"_save": "Save"}
    _add_form(response.context["adminform"].form, data)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        _add_form(formset.management_form, data)
        for form in formset.forms:
            _add_form(form, data)
    return data
