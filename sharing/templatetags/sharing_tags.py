"""``{% share_panel diagnosis %}``: the owner's links to one diagnosis, on its result page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from sharing.forms import ShareLinkForm
from sharing.models import ShareLink

register = template.Library()


@register.inclusion_tag("sharing/_panel.html", takes_context=True)
def share_panel(context: template.Context, diagnosis: Any) -> dict[str, Any]:
    """The form that makes a link, the link just made (shown once), and every link of this
    diagnosis with its state and how often it was opened."""
    request = context.get("request")
    now = timezone.now()
    links = [
        (link, link.state(now=now))
        for link in ShareLink.objects.filter(owner=diagnosis.owner_id, diagnosis=diagnosis)
    ]
    new_link = None
    if request is not None:
        shown = request.session.get("sharing_new_link")
        if shown and any(link.pk == shown.get("pk") for link, _state in links):
            new_link = request.session.pop("sharing_new_link")
    return {
        "diagnosis": diagnosis,
        "links": links,
        "new_link": new_link,
        "form": ShareLinkForm(),
        "request": request,
    }
