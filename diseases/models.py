"""The disease catalogue: one curated, bilingual page per class the classifier knows.

Every text field is translated with django-modeltranslation (``translation.py``): the database
holds ``<field>_en`` and ``<field>_ar``, and reading ``<field>`` gives the active language with
English as the fallback. English is therefore the one language every field must have.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, ClassVar, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from diseases.validators import (
    CONTENT_TYPES,
    EXTENSIONS,
    sniff_format,
    validate_image_upload,
    without_metadata,
)
from mltrain.ml.classes import CLASS_KEYS

#: How curators write the long sections; shown under each of them in the admin.
PROSE_HELP = _(
    "Plain text. Each line is a paragraph; a line that starts with “- ” is a bullet point."
)


def validate_class_key(value: str) -> None:
    if value not in CLASS_KEYS:
        raise ValidationError(
            _("“%(value)s” is not one of the classifier's class keys."),
            code="unknown_class_key",
            params={"value": value},
        )


class DiseaseQuerySet(models.QuerySet["Disease"]):
    def published(self) -> DiseaseQuerySet:
        return self.filter(published=True)

    def visible_to(self, user: Any) -> DiseaseQuerySet:
        """Published diseases, plus drafts for people allowed to edit the catalogue."""
        if can_see_drafts(user):
            return self.all()
        return self.published()


def can_see_drafts(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("diseases.change_disease"))


class Disease(models.Model):
    """One class of the classifier, described for the public in every site language."""

    class Category(models.TextChoices):
        MALIGNANT = "malignant", _("Malignant")
        BENIGN = "benign", _("Benign")
        INFLAMMATORY = "inflammatory", _("Inflammatory")
        INFECTIOUS = "infectious", _("Infectious")

    class Urgency(models.TextChoices):
        ROUTINE = "routine", _("Routine")
        SOON = "soon", _("See a doctor soon")
        URGENT = "urgent", _("Urgent")

    #: The translated text fields, in page order (also registered in ``translation.py``).
    TEXT_FIELDS: ClassVar[tuple[str, ...]] = (
        "name",
        "summary",
        "overview",
        "appearance",
        "symptoms",
        "causes",
        "treatment",
        "prevention",
        "when_to_see_doctor",
        "disclaimer",
    )
    #: The long sections of the page, in order.
    SECTIONS: ClassVar[tuple[str, ...]] = TEXT_FIELDS[2:9]

    class_key = models.CharField(
        _("class key"),
        max_length=64,
        unique=True,
        validators=[validate_class_key],
        help_text=_("The classifier's stable key for this class. It never changes."),
    )
    position = models.PositiveSmallIntegerField(
        _("class index"), editable=False, default=0, db_index=True
    )
    slug = models.SlugField(
        _("slug"),
        max_length=80,
        unique=True,
        help_text=_("The last part of the page's address. Changing it breaks links people saved."),
    )
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.ROUTINE
    )

    name = models.CharField(_("name"), max_length=120)
    summary = models.CharField(
        _("one-line summary"),
        max_length=300,
        help_text=_("One sentence; also the page's description for search engines."),
    )
    overview = models.TextField(_("overview"), help_text=PROSE_HELP)
    appearance = models.TextField(_("what it looks like"), help_text=PROSE_HELP)
    symptoms = models.TextField(_("symptoms"), help_text=PROSE_HELP)
    causes = models.TextField(_("causes and risk factors"), help_text=PROSE_HELP)
    treatment = models.TextField(_("treatment overview"), help_text=PROSE_HELP)
    prevention = models.TextField(_("prevention"), help_text=PROSE_HELP)
    when_to_see_doctor = models.TextField(_("when to see a doctor"), help_text=PROSE_HELP)
    disclaimer = models.TextField(
        _("“this site does not diagnose” note"),
        help_text=_("A short reminder that the page is information, not a diagnosis."),
    )

    published = models.BooleanField(
        _("published"),
        default=False,
        help_text=_("Unpublished pages are visible to curators only."),
    )
    last_reviewed = models.DateField(_("last reviewed"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = DiseaseQuerySet.as_manager()

    class Meta:
        ordering: ClassVar[list[str]] = ["position", "class_key"]
        verbose_name = _("disease")
        verbose_name_plural = _("diseases")

    def __str__(self) -> str:
        return self.name or self.class_key

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.position = class_index(self.class_key)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "class_key" in update_fields:
            kwargs["update_fields"] = {*update_fields, "position"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("diseases:detail", kwargs={"slug": self.slug})

    def clean(self) -> None:
        super().clean()
        check_english_present(self, self.TEXT_FIELDS)


class DiseaseReference(models.Model):
    """A link to a reputable public source (a national health service, a dermatology body)."""

    disease = models.ForeignKey(
        Disease, on_delete=models.CASCADE, related_name="references", verbose_name=_("disease")
    )
    title = models.CharField(_("title"), max_length=200)
    url = models.URLField(
        _("address"), max_length=500, validators=[URLValidator(schemes=["https", "http"])]
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    TEXT_FIELDS: ClassVar[tuple[str, ...]] = ("title",)

    class Meta:
        ordering: ClassVar[list[str]] = ["position", "pk"]
        verbose_name = _("reference link")
        verbose_name_plural = _("reference links")

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        check_english_present(self, self.TEXT_FIELDS)


def _image_path(instance: DiseaseImage, filename: str) -> str:
    # Named after the decoded format when the upload is at hand (the admin), never after the
    # name the browser sent; the image view reads the type from the bytes in any case.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in CONTENT_TYPES:
        extension = "jpg"
    if instance.image:
        # A refused file never gets here (the validator runs first); keep the default.
        with contextlib.suppress(ValueError, KeyError):
            extension = EXTENSIONS[sniff_format(instance.image.file) or ""]
    return f"diseases/{instance.disease.class_key}/{uuid.uuid4().hex}.{extension}"


class DiseaseImage(models.Model):
    """An illustration on a disease page, with the credit and licence it is published under."""

    disease = models.ForeignKey(
        Disease, on_delete=models.CASCADE, related_name="images", verbose_name=_("disease")
    )
    image = models.ImageField(
        _("image"),
        upload_to=_image_path,
        width_field="width",
        height_field="height",
        validators=[validate_image_upload],
        help_text=_("JPEG, PNG or WebP. The size and pixel limits of photo uploads apply."),
    )
    width = models.PositiveIntegerField(editable=False, null=True)
    height = models.PositiveIntegerField(editable=False, null=True)
    alt_text = models.CharField(
        _("alt text"),
        max_length=250,
        help_text=_("What the picture shows, for people who cannot see it."),
    )
    caption = models.CharField(_("caption"), max_length=300, blank=True)
    credit = models.CharField(_("credit"), max_length=200, help_text=_("Author or source."))
    licence = models.CharField(_("licence"), max_length=100, help_text=_("For example CC BY 4.0."))
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    TEXT_FIELDS: ClassVar[tuple[str, ...]] = ("alt_text", "caption")

    class Meta:
        ordering: ClassVar[list[str]] = ["position", "pk"]
        verbose_name = _("image")
        verbose_name_plural = _("images")

    def __str__(self) -> str:
        return self.alt_text

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.image and not self.image._committed:
            # A new file: store it without the camera's metadata (see ``without_metadata``).
            self.image = without_metadata(self.image.file, self.image.name)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("diseases:image", kwargs={"pk": self.pk})

    def clean(self) -> None:
        super().clean()
        check_english_present(self, self.TEXT_FIELDS)


def class_index(class_key: str) -> int:
    """Model output index of ``class_key``; unknown keys sort last."""
    try:
        return CLASS_KEYS.index(class_key)
    except ValueError:
        return len(CLASS_KEYS)


def english_required_error(model: type[models.Model], field: str, language: str) -> ValidationError:
    """ "Name [en] is required because name [ar] is filled in.", attached to the English field."""
    default = settings.MODELTRANSLATION_DEFAULT_LANGUAGE
    return ValidationError(
        _("%(field)s is required because %(other)s is filled in."),
        code="english_required",
        params={
            "field": capfirst(verbose_name(model, f"{field}_{default}")),
            "other": verbose_name(model, f"{field}_{language}"),
        },
    )


def verbose_name(model: type[models.Model], field: str) -> str:
    return str(cast(models.Field, model._meta.get_field(field)).verbose_name)


def missing_english(values: dict[str, Any], fields: tuple[str, ...]) -> dict[str, str]:
    """English field name -> the other language that has text, for each field lacking English.

    English is the fallback language, so a translation without its English text is an error.
    """
    default = settings.MODELTRANSLATION_DEFAULT_LANGUAGE
    others = [code for code in settings.MODELTRANSLATION_LANGUAGES if code != default]
    missing = {}
    for field in fields:
        if values.get(f"{field}_{default}"):
            continue
        for code in others:
            if values.get(f"{field}_{code}"):
                missing[field] = code
                break
    return missing


def check_english_present(instance: models.Model, fields: tuple[str, ...]) -> None:
    values = {
        f"{field}_{code}": getattr(instance, f"{field}_{code}", None)
        for field in fields
        for code in settings.MODELTRANSLATION_LANGUAGES
    }
    default = settings.MODELTRANSLATION_DEFAULT_LANGUAGE
    errors = {
        f"{field}_{default}": english_required_error(type(instance), field, code)
        for field, code in missing_english(values, fields).items()
    }
    if errors:
        raise ValidationError(errors)
