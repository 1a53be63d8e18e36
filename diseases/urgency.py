"""How soon to see a doctor, by a disease's urgency: the one wording that the disease pages and
the result page's red-flag advice share, so the two can never disagree."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

#: Keyed by ``Disease.Urgency`` values; routine conditions give no timeframe.
TIMEFRAMES = {
    "urgent": _("within days, not weeks"),
    "soon": _("within a few weeks"),
}


def timeframe(urgency: str) -> str:
    """ "within days, not weeks" and the like, in the active language ("" for routine)."""
    words = TIMEFRAMES.get(urgency)
    return str(words) if words else ""
