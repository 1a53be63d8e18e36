"""The result page's long poll: answered as soon as the diagnosis finished (see ``diagnosis.push``
for how the server holds it without a thread)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from diagnosis import push
from diagnosis.models import Diagnosis


def _seconds(value: str | None) -> float:
    """The wait the page asked for (``?wait=``), within (0, MAX_WAIT_SECONDS]."""
    try:
        seconds = float(value) if value else push.MAX_WAIT_SECONDS
    except ValueError:
        seconds = push.MAX_WAIT_SECONDS
    if not 0 < seconds <= push.MAX_WAIT_SECONDS:  # also NaN
        return push.MAX_WAIT_SECONDS
    return seconds


@push.holds
@login_required
@never_cache
@require_GET
def wait(request: HttpRequest, public_id: UUID) -> JsonResponse:
    """``{"finished": true}`` once the person's diagnosis finished; until then ``false``, held by
    the server until the worker publishes its end or ``?wait=`` seconds passed (at most
    ``push.MAX_WAIT_SECONDS``). 503 when the push is unavailable: the page then polls
    ``diagnosis:status``. Another person's diagnosis is a 404."""
    diagnosis = get_object_or_404(
        Diagnosis.objects.for_user(request.user).only("pk", "status"), public_id=public_id
    )
    if diagnosis.is_finished:
        return JsonResponse({"finished": True})
    return push.hold(
        JsonResponse({"finished": False}), diagnosis.pk, _seconds(request.GET.get("wait"))
    )
