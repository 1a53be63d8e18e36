from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from diagnosis.imaging import browser_refusals, format_hint
from diagnosis.services import image_limits
from skinsite.imaging import InvalidImage, ValidatedImage, validate_image
from spots.forms import SpotAndAnswersForm

#: What the file picker offers. Browsers that do not map HEIC to image/* see the extensions.
ACCEPT = "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif,image/*"


class UploadForm(SpotAndAnswersForm):
    """One photo plus the token that turns a double submission into one diagnosis, and
    optionally its spot and what the person noticed (``SpotAndAnswersForm``, ``user=``).

    Upload page and camera page post this same form; the photo goes through the one validator
    (``skinsite.imaging.validate_image``) and ``cleaned_data["image"]`` is its result.
    """

    image = forms.FileField(
        label=_("Photo of the skin spot"),
        error_messages={"required": _("Choose a photo first."), "empty": _("The file is empty.")},
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT, "class": "form-control"}),
    )
    token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = image_limits()
        #: The pages render these into data- attributes for the browser's own early checks.
        self.limits = limits
        self.browser_refusals = browser_refusals(limits)
        self.fields["image"].help_text = format_hint(limits)
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4())

    def clean_image(self) -> ValidatedImage:
        upload = self.cleaned_data["image"]
        try:
            return validate_image(upload, limits=image_limits())
        except InvalidImage as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
