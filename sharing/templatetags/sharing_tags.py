"""``{% share_panel diagnosis %}`` and ``{% spot_share_panel spot %}``: the owner's links to one
diagnosis (on its result page) or one spot (on its page)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import QuerySet
from django.utils import timezone

from sharing.forms import ShareLinkForm
from sharing.models import ShareLink

register = template.Library()


def _panel(context: template.Context, links: QuerySet[ShareLink]) -> dict[str, Any]:
    """The form that makes a link, the link just made (shown once), and every link with its
    state and how often it was opened."""
    request = context.get("request")
    now = timezone.now()
    rows = [(link, link.state(now=now)) for link in links]
    new_link = None
    if request is not None:
        shown = request.session.get("sharing_new_link")
        if shown and any(link.pk == shown.get("pk") for link, _state in rows):
            new_link = request.session.pop("sharing_new_link")
    return {"links": rows, "new_link": new_link, "form": ShareLinkForm(), "request": request}


@register.inclusion_tag("sharing/_panel.html", takes_context=True)
def share_panel(context: template.Context, diagnosis: Any) -> dict[str, Any]:
    links = ShareLink.objects.filter(owner=diagnosis.owner_id, diagnosis=diagnosis)
    return {"diagnosis": diagnosis, **_panel(context, links)}


@register.inclusion_tag("sharing/_spot_panel.html", takes_context=True)
def spot_share_panel(context: template.Context, spot: Any) -> dict[str, Any]:
    links = ShareLink.objects.filter(owner=spot.owner_id, spot=spot)
    return {"spot": spot, **_panel(context, links)}
