"""``{{ field|form_control }}``: a bound field rendered with Bootstrap's classes.

allauth's ``fields`` element hands us Django forms whose widgets carry no classes; rendering
them plainly gave small, unstyled boxes unlike the rest of the site. Django still renders the
widget (its type, autocomplete, required, and never a password's value); only the class is
added, to whatever class the widget already has.
"""

from __future__ import annotations

from django import forms, template
from django.utils.safestring import SafeString

register = template.Library()


def _bootstrap_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


@register.filter
def form_control(field: forms.BoundField) -> SafeString:
    widget = field.field.widget
    classes = [widget.attrs.get("class", ""), _bootstrap_class(widget)]
    if field.errors:
        classes.append("is-invalid")
    return field.as_widget(attrs={"class": " ".join(c for c in classes if c)})
