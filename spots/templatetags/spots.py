from __future__ import annotations

from typing import Any

from django import template

from spots.bodymap import body_map_views
from spots.models import Spot

register = template.Library()


@register.inclusion_tag("spots/_body_map.html")
def body_map(map_url: str, selected_region: str = "") -> dict[str, Any]:
    """The body map, each region linking to ``map_url?region=KEY``."""
    return {
        "body_map_views": body_map_views(),
        "regions": Spot.Region.choices,
        "map_url": map_url,
        "selected_region": selected_region,
    }
