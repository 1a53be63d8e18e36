"""Fixtures for the catalogue's tests."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from PIL import Image

from diseases.loader import load_diseases
from diseases.models import Disease


@pytest.fixture
def catalogue(db: None) -> dict[str, Disease]:
    """The ten diseases as ``load_diseases`` creates them, keyed by class key."""
    load_diseases()
    return {disease.class_key: disease for disease in Disease.objects.all()}


@pytest.fixture
def curator(user_factory: Any) -> Any:
    """A staff member in the ``Curators`` group the data migration creates."""
    user = user_factory(is_staff=True)
    user.groups.add(Group.objects.get(name="Curators"))
    return user


@pytest.fixture
def staff_without_permission(user_factory: Any) -> Any:
    """Staff who may use the admin for something else (viewing users), not the catalogue."""
    user = user_factory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_group"))
    return user


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (320, 240), color: str = "#b04030", **save: Any
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (128, 128), color) for color in ("red", "blue", "green")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()
