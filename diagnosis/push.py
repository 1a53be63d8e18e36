"""Telling a waiting result page at once that its diagnosis finished: Redis publish/subscribe.

The worker publishes on the diagnosis's own channel when the row reaches a final state
(``publish_finished``, from ``diagnosis.jobs``). The result page's long poll is held open by the
web server's event loop, not by a Django view, in the manner of GRIP (Pushpin's "hold" reply):

1. ``skinsite.asgi`` subscribes to the diagnosis's channel (``subscribe``; the view names it
   from the URL, ``holds``), then asks the view (``diagnosis.push_views.wait``, a plain sync view
   in the threads that serve every page), which checks that the diagnosis is the person's own
   and answers what the status endpoint does; while it has not finished, it asks the server to
   hold that answer (``hold``);
2. the server then waits for a message (an end after the view read the row: subscribed before,
   it is never missed), the time limit or the person leaving, and asks the view again for the
   answer it sends.

So a waiting page costs a coroutine and a Redis connection, never a thread nor a database
connection; every database read goes through the same bounded threads as any other page.

A message is only a wake-up call: it carries no data, and what the page is told is read from
the row by the view, for its owner only. So a message from another site on the same Redis
server (channels ignore the database number), or one that is lost, can never show anything
wrong: a lost one costs at most one wait (``MAX_WAIT_SECONDS``), after which the page reads the
row again. Publishing never makes a job fail: with Redis down it logs, and the page's polling
still works.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

import redis
import redis.asyncio
from django.conf import settings
from django.http import HttpResponse
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: The longest a long poll waits before it answers "not yet" and the page asks again.
#: Below the usual proxy read timeouts (nginx: 60 s), so nothing in between cuts it off.
MAX_WAIT_SECONDS = 20.0
#: A Redis that does not answer within this is treated as down (the page falls back to polling).
REDIS_TIMEOUT_SECONDS = 2.0
#: The one payload: a wake-up call; the state is read from the row.
MESSAGE = b"finished"
#: A view's answer to the server (never sent on): hold me for this many seconds.
HOLD_HEADER = "X-Push-Hold"


R = TypeVar("R", bound=HttpResponse)
V = TypeVar("V", bound=Callable[..., Any])


class PushUnavailable(Exception):
    """Redis cannot be reached for a subscription: the page should poll instead."""


def _redis_url() -> str:
    # The broker's Redis: always Redis here, also where the cache is in-process (tests).
    return str(settings.CELERY_BROKER_URL)


def channel(public_id: UUID | str) -> str:
    """The channel of one diagnosis, named with the Redis database number of the site."""
    database = redis.connection.parse_url(_redis_url()).get("db", 0)
    return f"skinsite:{database}:diagnosis:{public_id}:finished"


@functools.cache
def _publisher(url: str) -> redis.Redis:
    # One connection pool per process and URL; redis-py opens new connections after a fork.
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )


def publish_finished(diagnosis_id: int) -> None:
    """Wake whoever waits for this diagnosis; a Redis that is down is logged, never raised."""
    from diagnosis.models import Diagnosis

    rows = Diagnosis.objects.filter(pk=diagnosis_id)
    public_id = rows.values_list("public_id", flat=True).first()
    if public_id is None:
        return  # deleted meanwhile: nobody to tell
    try:
        _publisher(_redis_url()).publish(channel(public_id), MESSAGE)
    except (RedisError, OSError) as exc:
        logger.warning("diagnosis %s: could not publish its end (%s)", diagnosis_id, exc)


def holds(channel_of: Callable[..., str]) -> Callable[[V], V]:
    """Mark a view whose answers the server may hold (``hold``). ``channel_of`` names the
    channel from the URL's arguments: the server subscribes before the view runs, so an end
    that comes after the view read the row is never missed."""

    def mark(view: V) -> V:
        view.push_channel = channel_of  # type: ignore[attr-defined]
        return view

    return mark


def hold(response: R, seconds: float) -> R:
    """Ask the server to hold ``response`` until the view's channel has a message or ``seconds``
    passed, and then to ask the view again. A server without push (a WSGI server) sends
    ``response`` as it is, and the page asks again a little later."""
    response[HOLD_HEADER] = f"{min(seconds, MAX_WAIT_SECONDS):g}"
    return response


class Subscription:
    """An open subscription to one diagnosis's channel (see ``subscribe``)."""

    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    async def wait(self, seconds: float) -> bool:
        """True when a message came within ``seconds``, False when the time ran out."""
        return await self._next("message", seconds)

    async def _next(self, kind: str, seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        try:
            while (left := deadline - loop.time()) > 0:
                message = await self._pubsub.get_message(timeout=left)
                if message is not None and message["type"] == kind:
                    return True
        except (RedisError, OSError) as exc:
            raise PushUnavailable(str(exc)) from exc
        return False


@asynccontextmanager
async def subscribe(name: str) -> AsyncIterator[Subscription]:
    """Subscribe to the channel ``name``; ``PushUnavailable`` when Redis is out of reach.

    A connection of its own for each waiting page, closed when it stops waiting: nothing is
    shared between requests, so nothing outlives one.
    """
    client = redis.asyncio.Redis.from_url(
        _redis_url(),
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        # Reads wait for messages up to a whole long poll; the waits set their own limits.
        socket_timeout=MAX_WAIT_SECONDS + REDIS_TIMEOUT_SECONDS,
    )
    pubsub = client.pubsub()
    try:
        try:
            await pubsub.subscribe(name)
        except (RedisError, OSError) as exc:
            raise PushUnavailable(str(exc)) from exc
        subscription = Subscription(pubsub)
        # Redis confirms once the subscription is in place: from then on no publish is missed,
        # so the caller may read the row and then wait.
        if not await subscription._next("subscribe", REDIS_TIMEOUT_SECONDS):
            raise PushUnavailable("Redis did not confirm the subscription")
        yield subscription
    finally:
        await pubsub.aclose()
        await client.aclose()
