"""The result page's long poll: an async view that answers as soon as the diagnosis finished.

Async, so that under the site's ASGI server (``skinsite.asgi``) a waiting page holds a coroutine
and a Redis subscription (``diagnosis.push``), not one of the few threads of the sync views.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, JsonResponse
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


async def _finished(pk: int) -> bool:
    status = await Diagnosis.objects.filter(pk=pk).values_list("status", flat=True).afirst()
    # A row deleted meanwhile has nothing left to wait for.
    return status is None or status in {Diagnosis.Status.SUCCEEDED, Diagnosis.Status.FAILED}


@login_required
@never_cache
@require_GET
async def wait(request: HttpRequest, public_id: UUID) -> JsonResponse:
    """``{"finished": true}`` once the person's diagnosis finished, ``false`` after ``?wait=``
    seconds (at most ``push.MAX_WAIT_SECONDS``) without; 503 when the push is unavailable, and
    the page then polls ``diagnosis:status`` instead. Another person's diagnosis is a 404."""
    user = await request.auser()
    own = Diagnosis.objects.for_user(user).filter(public_id=public_id)
    pk = await own.values_list("pk", flat=True).afirst()
    if pk is None:
        raise Http404
    try:
        async with push.subscribe(pk) as subscription:
            # Read after subscribing: a finish between the two is then a message, never lost.
            if not await _finished(pk):
                await subscription.wait(_seconds(request.GET.get("wait")))
    except push.PushUnavailable:
        return JsonResponse({"finished": False, "push": False}, status=503)
    return JsonResponse({"finished": await _finished(pk)})
