"""Then vs now: what changed between two photos of one spot, in plain words."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from diagnosis.services import ResultView

#: Answers of the later photo worth saying again, with how to say them.
_REPORTED = (
    ("is_new", gettext_noop("You reported it is new.")),
    ("grew", gettext_noop("You reported it has grown.")),
    ("changed_shape", gettext_noop("You reported it has changed shape.")),
    ("changed_colour", gettext_noop("You reported it has changed colour.")),
    ("itches", gettext_noop("You reported it itches.")),
    ("bleeds", gettext_noop("You reported it bleeds without being injured.")),
    ("hurts", gettext_noop("You reported it hurts.")),
)


def changes(
    before: Any, after: Any, *, before_view: ResultView, after_view: ResultView
) -> list[str]:
    """Plain-language differences from ``before`` to ``after`` (two diagnoses of one spot).

    Says how far apart they were taken, how the checker's first answer moved, whether a red
    flag appeared or went, and what the person reported with the later photo.
    """
    said = []
    days = abs((after.created_at - before.created_at).days)
    said.append(
        ngettext(
            "The photos were taken %(days)d day apart.",
            "The photos were taken %(days)d days apart.",
            days,
        )
        % {"days": days}
    )
    first, second = before_view.top, after_view.top
    if first is None or second is None:
        said.append(
            _(
                "The checker gave no answer for one of the photos, so their results cannot "
                "be compared."
            )
        )
    elif first.key != second.key:
        said.append(
            _("The top result changed from %(before)s to %(after)s.")
            % {"before": first.name, "after": second.name}
        )
    else:
        said.append(
            _("The top result is still %(name)s (%(before)s, now %(after)s).")
            % {"name": second.name, "before": first.percent_text, "after": second.percent_text}
        )
    if after_view.red_flag and not before_view.red_flag:
        said.append(
            _("The later photo raises a warning about %(name)s.")
            % {"name": after_view.red_flag.prediction.name}
        )
    elif before_view.red_flag and not after_view.red_flag:
        said.append(
            _(
                "The later photo does not raise the warning the earlier one did; a doctor "
                "should still see a spot that worried you."
            )
        )
    answers = getattr(after, "answers", None)
    if answers is not None:
        for field, sentence in _REPORTED:
            if getattr(answers, field):
                said.append(_(sentence))
    return said
