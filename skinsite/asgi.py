"""The site as one ASGI application, served by gunicorn's ``asgi`` worker (gunicorn.conf.py).

* Every view runs through Django's WSGI handler in a pool of ``WEB_THREADS`` threads per
  process (a2wsgi), as under gunicorn's ``gthread`` workers before: a long upload does not hold
  up other pages, and the database sees at most that many connections per process. (Django's
  own ASGI handler would run every sync view in one thread per process, and give each async
  request a thread and a database connection of its own.)
* A view marked ``diagnosis.push.holds`` may ask for its answer to be held (``push.hold``): the
  event loop, subscribed to the view's Redis channel before it ran, then waits with no thread
  and no database connection, and asks the view again when a message comes or the time is up
  (or sends nothing when the person left). That is the result page's long poll: hundreds of
  pages can wait at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import Any

from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, resolve

from diagnosis import push
from skinsite.env import env_int

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skinsite.settings")

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Requests served at once by the views of one web process (what gunicorn's ``threads`` was).
WEB_THREADS = env_int("WEB_THREADS", 4, minimum=1)

sync_views = WSGIMiddleware(get_wsgi_application(), workers=WEB_THREADS)  # type: ignore[arg-type]


def held_channel(path: str) -> str | None:
    """The channel a request for ``path`` may be held on (``push.holds``), None for the rest."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    channel_of = getattr(match.func, "push_channel", None)
    return channel_of(**match.kwargs) if channel_of else None


async def application(scope: Message, receive: Receive, send: Send) -> None:
    channel = held_channel(scope["path"]) if scope["type"] == "http" else None
    if channel is not None:
        await _holding(channel, scope, receive, send)
    else:
        # Lifespan and WebSocket too: a2wsgi answers them (startup done; no WebSockets here).
        await sync_views(scope, receive, send)  # type: ignore[arg-type]


class _Answer:
    """One answer of the view, kept instead of sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in self.messages[0].get("headers", []) if self.messages else []:
            if key.lower() == wanted:
                return bytes(value).decode("latin-1")
        return None

    async def send_to(self, send: Send) -> None:
        internal = push.HOLD_HEADER.lower().encode()
        for message in self.messages:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != internal]
                message = {**message, "headers": headers}
            await send(message)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _ask(scope: Message, receive: Receive = _no_body) -> _Answer:
    answer = _Answer()
    await sync_views(scope, receive, answer)  # type: ignore[arg-type]
    return answer


async def _holding(channel: str, scope: Message, receive: Receive, send: Send) -> None:
    try:
        # Subscribed before the view reads the row: a later end is a message, never missed.
        async with push.subscribe(channel) as subscription:
            answer = await _ask(scope, receive)
            seconds = answer.header(push.HOLD_HEADER)
            if seconds is not None:
                woken = await _wait(subscription, float(seconds), receive)
                if woken is None:
                    return  # the person left: nobody to answer
                if woken:
                    answer = await _ask(scope)
    except push.PushUnavailable:
        answer = _Answer()
        await answer(_json_start(503))
        await answer({"type": "http.response.body", "body": b'{"finished": false, "push": false}'})
    await answer.send_to(send)


async def _wait(subscription: push.Subscription, seconds: float, receive: Receive) -> bool | None:
    """Wait for a message (True), the time limit (False) or the person leaving (None)."""
    message = asyncio.ensure_future(subscription.wait(seconds))
    gone = asyncio.ensure_future(_disconnect(receive))
    try:
        await asyncio.wait({message, gone}, return_when=asyncio.FIRST_COMPLETED)
        if message.done():
            return message.result()  # PushUnavailable when Redis went away meanwhile
        return None
    finally:
        for task in (message, gone):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, push.PushUnavailable):
                await task


async def _disconnect(receive: Receive) -> None:
    """Returns when the person left (what is left of the request body is skipped)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _json_start(status: int) -> Message:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store")],
    }
