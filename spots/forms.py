"""Forms of spots: a new spot, and the spot and answers fields of the upload and camera pages."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.forms import BoundField
from django.utils.translation import gettext_lazy as _

from spots.models import NAME_MAX_LENGTH, Answers, Spot
from spots.services import ANSWER_FIELDS

CHECKBOXES = ("is_new", "grew", "changed_shape", "changed_colour", "itches", "bleeds", "hurts")
REGION_ERRORS = {
    "invalid_choice": _("Choose a place on the body from the list."),
    "required": _("Choose where the spot is on the body."),
}
NAME_ERRORS = {
    "required": _("Give the spot a name."),
    "max_length": _(
        "Keep the name to %(limit_value)d characters or fewer (it has %(show_value)d)."
    ),
}


class SpotForm(forms.ModelForm):
    """A new spot: a name and a place on the body map (the map's links preselect the place)."""

    class Meta:
        model = Spot
        fields = ["name", "region"]
        labels = {"name": _("Name of the spot"), "region": _("Place on the body")}
        help_texts = {"name": _("For example: mole on the left shoulder.")}
        error_messages = {"name": NAME_ERRORS, "region": REGION_ERRORS}
        widgets = {
            "name": forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
            "region": forms.Select(attrs={"class": "form-select"}),
        }

    def clean_name(self) -> str:
        return str(self.cleaned_data["name"]).strip()


def _yes(label: Any) -> forms.BooleanField:
    return forms.BooleanField(
        label=label,
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class SpotAndAnswersForm(forms.Form):
    """Which spot a photo shows (an existing one, a new one, or none) and what the person
    noticed. Every field is optional; ``spot_choice()`` and ``answers()`` read the result."""

    spot = forms.ModelChoiceField(
        queryset=Spot.objects.none(),
        required=False,
        to_field_name="public_id",
        label=_("One of my spots"),
        empty_label=_("No spot (skip)"),
        error_messages={"invalid_choice": _("Choose one of your spots from the list.")},
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    spot_name = forms.CharField(
        label=_("Or a new spot: its name"),
        required=False,
        max_length=NAME_MAX_LENGTH,
        error_messages=NAME_ERRORS,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    spot_region = forms.ChoiceField(
        label=_("Place on the body"),
        required=False,
        choices=[("", "—"), *Spot.Region.choices],
        error_messages=REGION_ERRORS,
        widget=forms.Select(attrs={"class": "form-select", "data-region-select": ""}),
    )
    duration = forms.ChoiceField(
        label=_("How long has the spot been there?"),
        required=False,
        choices=[("", _("I don't know / skip")), *Answers.Duration.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    pigmented = forms.ChoiceField(
        label=_("Is it a mole or a dark spot?"),
        required=False,
        choices=[("", _("Skip")), *Answers.Pigmented.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    is_new = _yes(_("It is new (appeared recently)"))
    grew = _yes(_("It has grown"))
    changed_shape = _yes(_("It has changed shape"))
    changed_colour = _yes(_("It has changed colour"))
    itches = _yes(_("It itches"))
    bleeds = _yes(_("It bleeds without being injured"))
    hurts = _yes(_("It hurts"))

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["spot"])
        field.queryset = Spot.objects.for_user(user) if user is not None else Spot.objects.none()
        #: The person's spots, for the page to say whether there is anything to pick.
        self.has_spots = user is not None and field.queryset.exists()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name = (cleaned.get("spot_name") or "").strip()
        cleaned["spot_name"] = name
        region = cleaned.get("spot_region")
        if name and cleaned.get("spot"):
            self.add_error("spot_name", _("Pick one of your spots or name a new one, not both."))
        elif name and not region and "spot_region" not in self.errors:
            self.add_error("spot_region", REGION_ERRORS["required"])
        elif region and not name and not cleaned.get("spot"):
            self.add_error("spot_name", NAME_ERRORS["required"])
        return cleaned

    def checkbox_fields(self) -> list[BoundField]:
        return [self[name] for name in CHECKBOXES]

    def new_spot(self) -> tuple[str, str] | None:
        """(name, region) of the new spot to create, or None."""
        name = self.cleaned_data.get("spot_name")
        return (name, self.cleaned_data["spot_region"]) if name else None

    def answers(self) -> dict[str, Any]:
        return {field: self.cleaned_data.get(field) for field in ANSWER_FIELDS}
