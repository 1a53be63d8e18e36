from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.services import theme_for_request


def site(request: HttpRequest) -> dict[str, Any]:
    """What every page needs: the person's theme (light, dark or auto)."""
    return {"theme": theme_for_request(request)}
