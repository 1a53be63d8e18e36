"""The admin login gets its own rate limit, in the same shared cache as allauth's limits."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.core.ratelimit import consume_or_429
from django.http import HttpRequest, HttpResponse


def rate_limited(login_view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(login_view)
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            refused = consume_or_429(request, action="admin_login")
            if refused is not None:
                return refused
        return login_view(request, *args, **kwargs)

    return view
