"""The body map's geometry: front and back figures, each region a few simple shapes.

Shapes are ``("circle", cx, cy, r)`` or ``("rect", x, y, width, height)`` in a 120 x 250 box.
Left and right are the person's own: seen from the front, their right arm is on the viewer's
left; seen from the back, on the viewer's right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import pgettext_lazy

from spots.models import Spot

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

Shape = tuple[str, int, int, int] | tuple[str, int, int, int, int]
R = Spot.Region

_HEAD: list[Shape] = [("circle", 60, 22, 16), ("rect", 53, 34, 14, 14)]
_HANDS: list[Shape] = [("circle", 26, 138, 9), ("circle", 94, 138, 9)]
_FEET: list[Shape] = [("rect", 34, 230, 24, 12), ("rect", 62, 230, 24, 12)]
_VIEWER_LEFT_ARM: list[Shape] = [("rect", 18, 48, 17, 80)]
_VIEWER_RIGHT_ARM: list[Shape] = [("rect", 85, 48, 17, 80)]

FRONT: list[tuple[str, list[Shape]]] = [
    (R.HEAD_NECK, _HEAD),
    (R.CHEST, [("rect", 38, 46, 44, 40)]),
    (R.ABDOMEN, [("rect", 38, 88, 44, 34)]),
    (R.GENITAL, [("rect", 50, 124, 20, 14)]),
    (R.RIGHT_ARM, _VIEWER_LEFT_ARM),
    (R.LEFT_ARM, _VIEWER_RIGHT_ARM),
    (R.HANDS, _HANDS),
    (R.RIGHT_LEG, [("rect", 38, 140, 20, 88)]),
    (R.LEFT_LEG, [("rect", 62, 140, 20, 88)]),
    (R.FEET, _FEET),
]
BACK: list[tuple[str, list[Shape]]] = [
    (R.HEAD_NECK, _HEAD),
    (R.BACK, [("rect", 38, 46, 44, 76)]),
    (R.LEFT_ARM, _VIEWER_LEFT_ARM),
    (R.RIGHT_ARM, _VIEWER_RIGHT_ARM),
    (R.HANDS, _HANDS),
    (R.LEFT_LEG, [("rect", 38, 124, 20, 104)]),
    (R.RIGHT_LEG, [("rect", 62, 124, 20, 104)]),
    (R.FEET, _FEET),
]


@dataclass(frozen=True)
class MapRegion:
    key: str
    label: str
    shapes: list[Shape]


@dataclass(frozen=True)
class MapView:
    label: str
    regions: list[MapRegion]


def _view(label: StrOrPromise, regions: list[tuple[str, list[Shape]]]) -> MapView:
    labels = dict(Spot.Region.choices)
    return MapView(
        str(label), [MapRegion(key, str(labels[key]), shapes) for key, shapes in regions]
    )


def body_map_views() -> list[MapView]:
    """The front and back figures, labelled in the active language."""
    return [
        _view(pgettext_lazy("body map", "Front"), FRONT),
        _view(pgettext_lazy("body map", "Back"), BACK),
    ]
