"""The result page's long poll: the status endpoint's answer, held by the server until the
diagnosis finished (see ``diagnosis.push`` for how it is held without a thread)."""

from __future__ import annotations

import json
from uuid import UUID

from django.http import HttpRequest, HttpResponse

from diagnosis import push, views


def _seconds(value: str | None) -> float:
    """The wait the page asked for (``?wait=``), within (0, MAX_WAIT_SECONDS]."""
    try:
        seconds = float(value) if value else push.MAX_WAIT_SECONDS
    except ValueError:
        seconds = push.MAX_WAIT_SECONDS
    if not 0 < seconds <= push.MAX_WAIT_SECONDS:  # also NaN
        return push.MAX_WAIT_SECONDS
    return seconds


@push.holds(push.channel)
def wait(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """What ``diagnosis:status`` answers (the owner check, the state, the result panel), held
    by the server while the diagnosis has not finished: until the worker publishes its end or
    ``?wait=`` seconds passed (at most ``push.MAX_WAIT_SECONDS``), then asked again. The page
    so gets its result in the answer itself. 503 when the push is unavailable: the page then
    polls ``diagnosis:status``."""
    response: HttpResponse = views.status(request, public_id)
    if response.status_code == 200 and not json.loads(response.content)["finished"]:
        push.hold(response, _seconds(request.GET.get("wait")))
    return response
