"""Spots a person follows over time, and what they noticed about a spot at each photo."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

NAME_MAX_LENGTH = 80


class SpotQuerySet(models.QuerySet["Spot"]):
    def for_user(self, user: User | AnonymousUser) -> SpotQuerySet:
        """The person's own spots; nothing at all for an anonymous visitor."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)


class Spot(models.Model):
    """A named spot on the body that the person photographs again and again.

    Re-check reminders (opt-in): ``reminder_weeks`` is 0 (off), 4, 8 or 12, and
    ``next_reminder_at`` the due date. ``spots.reminders.send_due_reminders`` claims a due spot
    by moving the date on with a conditional ``UPDATE ... WHERE next_reminder_at = <due>``, so
    one due date sends one e-mail however many beats or workers see it; a failed send puts the
    date back for the next run.
    """

    class Every(models.IntegerChoices):
        OFF = 0, _("No reminders")
        FOUR = 4, _("Every 4 weeks")
        EIGHT = 8, _("Every 8 weeks")
        TWELVE = 12, _("Every 12 weeks")

    class Region(models.TextChoices):
        """The body map's regions (left and right are the person's own)."""

        HEAD_NECK = "head_neck", _("Head and neck")
        CHEST = "chest", _("Chest")
        ABDOMEN = "abdomen", _("Abdomen")
        BACK = "back", _("Back")
        LEFT_ARM = "left_arm", _("Left arm")
        RIGHT_ARM = "right_arm", _("Right arm")
        LEFT_LEG = "left_leg", _("Left leg")
        RIGHT_LEG = "right_leg", _("Right leg")
        HANDS = "hands", _("Hands")
        FEET = "feet", _("Feet")
        GENITAL = "genital", _("Genital area")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="spots"
    )
    name = models.CharField(_("name"), max_length=NAME_MAX_LENGTH)
    region = models.CharField(_("place on the body"), max_length=16, choices=Region.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    reminder_weeks = models.PositiveSmallIntegerField(choices=Every.choices, default=Every.OFF)
    next_reminder_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = SpotQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("spot")
        verbose_name_plural = _("spots")

    def __str__(self) -> str:
        return self.name


class Answers(models.Model):
    """What the person noticed about the spot when they sent one photo (every answer optional).

    Read by ``diagnosis.red_flag.warning_signs``: the fields are the attributes it expects.
    """

    class Duration(models.TextChoices):
        WEEKS = "weeks", _("Less than a month")
        MONTHS = "months", _("1 to 12 months")
        YEARS = "years", _("More than a year")
        LIFE = "life", _("Since birth or childhood")

    class Pigmented(models.TextChoices):
        YES = "yes", _("Yes, it is brown, black or several colours (like a mole)")
        NO = "no", _("No, it is skin-coloured, pink or red")
        UNSURE = "unsure", _("I am not sure")

    diagnosis = models.OneToOneField(
        "diagnosis.Diagnosis", on_delete=models.CASCADE, related_name="answers"
    )
    duration = models.CharField(max_length=8, choices=Duration.choices, blank=True)
    pigmented = models.CharField(max_length=8, choices=Pigmented.choices, blank=True)
    is_new = models.BooleanField(default=False)
    grew = models.BooleanField(default=False)
    changed_shape = models.BooleanField(default=False)
    changed_colour = models.BooleanField(default=False)
    itches = models.BooleanField(default=False)
    #: Bleeds without having been injured (scratched or cut): a warning sign on its own.
    bleeds = models.BooleanField(default=False)
    hurts = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("what the person noticed")
        verbose_name_plural = _("what the person noticed")

    def __str__(self) -> str:
        return f"answers for diagnosis {self.diagnosis_id}"

    @property
    def changed(self) -> bool:
        return self.grew or self.changed_shape or self.changed_colour

    def noticed(self) -> list[str]:
        """What the person reported, as short phrases in the active language."""
        phrases = []
        if self.duration:
            phrases.append(_("There for: %(duration)s") % {"duration": self.get_duration_display()})
        if self.pigmented == self.Pigmented.YES:
            phrases.append(str(_("A mole or dark spot")))
        for field, label in (
            ("is_new", _("New")),
            ("grew", _("Has grown")),
            ("changed_shape", _("Has changed shape")),
            ("changed_colour", _("Has changed colour")),
            ("itches", _("Itches")),
            ("bleeds", _("Bleeds without injury")),
            ("hurts", _("Hurts")),
        ):
            if getattr(self, field):
                phrases.append(str(label))
        return phrases

    def as_dict(self) -> dict[str, object]:
        """The answers as the export writes them."""
        return {
            "duration": self.duration,
            "pigmented": self.pigmented,
            "is_new": self.is_new,
            "grew": self.grew,
            "changed_shape": self.changed_shape,
            "changed_colour": self.changed_colour,
            "itches": self.itches,
            "bleeds_without_injury": self.bleeds,
            "hurts": self.hurts,
        }
