"""A rate limit per person on sending photos (the upload and camera pages' POST).

The limit is allauth's (``consume_or_429``), in the same shared cache as the sign-in limits, so
every web process counts together. Its rate is ``ACCOUNT_RATE_LIMITS["diagnosis_upload"]``
(``DIAGNOSIS_UPLOAD_RATE_LIMIT``). A refused photo is refused before it is read: nothing is
stored and nothing is queued, and what the person sent before stays in their history.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.core.ratelimit import consume_or_429
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

ACTION = "diagnosis_upload"


def limit_uploads(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer a POST over the person's rate with a 429 page that says what to do; GETs pass."""

    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            refused = consume_or_429(request, action=ACTION)
            if refused is not None:
                message = _(
                    "You have sent many photos in a short while. This photo was not sent: "
                    "please wait a few minutes and send it again. The photos you sent before "
                    "are safe in your history."
                )
                return render(request, "429.html", {"message": message}, status=refused.status_code)
        return view(request, *args, **kwargs)

    return limited
