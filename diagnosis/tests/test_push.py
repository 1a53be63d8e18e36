"""The result page's push: the worker publishes a diagnosis's end, the long poll answers at once,
for the owner only, and a Redis that is down fails nothing (the page polls instead).

Real Redis (the broker's, ``CELERY_BROKER_URL``) and a real database; the long poll runs through
Django's test client."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse

from diagnosis import jobs, push, services
from diagnosis.models import Diagnosis
from diagnosis.tests import images

Status = Diagnosis.Status
DEAD_REDIS = "redis://127.0.0.1:1/0"
MAX = push.MAX_WAIT_SECONDS


@pytest.fixture
def broker_redis() -> Any:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"the broker's Redis is not reachable: {exc}")
    yield client
    client.close()


@pytest.fixture
def queued(user_factory: Any, active_model: Any, enqueued: list[int]) -> Diagnosis:
    return services.submit_diagnosis(user=user_factory(), upload=images.jpeg((400, 300)))


def owner_client(diagnosis: Diagnosis) -> Client:
    client = Client()
    client.force_login(diagnosis.owner)
    return client


def wait_url(diagnosis: Diagnosis, seconds: float | None = None) -> str:
    url = reverse("diagnosis:wait", args=[diagnosis.public_id])
    return url if seconds is None else f"{url}?wait={seconds}"


def finish_once_held(monkeypatch: pytest.MonkeyPatch, diagnosis: Diagnosis) -> threading.Event:
    """Once the server holds the page's answer (it starts waiting on the channel), finish the
    row as the worker does, in another thread: the update, then the publish. The event tells
    that the hold happened."""
    from skinsite import asgi

    held = threading.Event()
    real_wait = asgi._wait

    def finish() -> None:
        Diagnosis.objects.filter(pk=diagnosis.pk).update(status=Status.SUCCEEDED)
        push.publish_finished(diagnosis.pk)

    async def spied_wait(*args: Any) -> bool | None:
        held.set()
        threading.Thread(target=finish).start()
        return await real_wait(*args)

    monkeypatch.setattr(asgi, "_wait", spied_wait)
    return held


@pytest.fixture
def fresh_threads(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ASGI application with a thread pool of this test only, stopped afterwards: its
    threads' database connections close with them, before the test database is dropped."""
    import gc

    from a2wsgi import WSGIMiddleware
    from django.core.wsgi import get_wsgi_application

    from skinsite import asgi

    pool = WSGIMiddleware(get_wsgi_application(), workers=2)  # type: ignore[arg-type]
    monkeypatch.setattr(asgi, "sync_views", pool)
    yield asgi.application
    pool.executor.shutdown(wait=True)
    gc.collect()


class Page:
    """A result page's long poll, sent straight to the site's ASGI application (the server's
    side of the hold: ``skinsite.asgi``), with the person's session cookie."""

    def __init__(self, diagnosis: Diagnosis, seconds: float, *, leaves: bool = False) -> None:
        self.diagnosis = diagnosis
        self.seconds = seconds
        self.leaves = leaves
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if not getattr(self, "_asked", False):
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        if not self.leaves:
            await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def run(self, application: Any) -> Page:
        cookie = owner_client(self.diagnosis).cookies[settings.SESSION_COOKIE_NAME].value
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": wait_url(self.diagnosis),
            "raw_path": wait_url(self.diagnosis).encode(),
            "query_string": f"wait={self.seconds}".encode(),
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        asyncio.run(application(scope, self.receive, self.send))
        return self

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    def json(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))


@pytest.mark.django_db(transaction=True)
def test_a_held_page_is_answered_as_soon_as_the_worker_publishes(
    queued: Diagnosis, broker_redis: Any, fresh_threads: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = finish_once_held(monkeypatch, queued)
    # Far longer than the test takes: only the publish can end this wait early.
    page = Page(queued, push.MAX_WAIT_SECONDS).run(fresh_threads)

    assert held.is_set()
    assert page.status == 200
    assert page.json()["finished"] is True and page.json()["status"] == "succeeded"
    assert push.HOLD_HEADER.lower() not in page.headers


@pytest.mark.django_db(transaction=True)
def test_a_held_page_without_an_end_is_answered_not_finished_after_its_wait(
    queued: Diagnosis, broker_redis: Any, fresh_threads: Any
) -> None:
    page = Page(queued, 0.3).run(fresh_threads)

    assert (page.status, page.json()["finished"]) == (200, False)
    assert push.HOLD_HEADER.lower() not in page.headers


@pytest.mark.django_db(transaction=True)
def test_a_page_that_leaves_while_held_gets_no_answer(
    queued: Diagnosis, broker_redis: Any, fresh_threads: Any
) -> None:
    page = Page(queued, push.MAX_WAIT_SECONDS, leaves=True).run(fresh_threads)

    assert page.sent == []


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_a_held_page_gets_503_and_polls_instead(
    queued: Diagnosis, settings: Any, fresh_threads: Any
) -> None:
    settings.CELERY_BROKER_URL = DEAD_REDIS

    page = Page(queued, push.MAX_WAIT_SECONDS).run(fresh_threads)

    assert (page.status, page.json()) == (503, {"finished": False, "push": False})


@pytest.mark.django_db
def test_the_view_asks_the_server_to_hold_an_unfinished_diagnosis(queued: Diagnosis) -> None:
    response = owner_client(queued).get(wait_url(queued, 3))

    assert response.status_code == 200
    assert response.json()["finished"] is False and response.json()["status"] == "queued"
    assert 'data-state="queued"' in response.json()["html"]  # the status endpoint's answer
    assert response[push.HOLD_HEADER] == "3"  # seconds
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_a_finished_diagnosis_is_answered_without_a_hold(queued: Diagnosis) -> None:
    Diagnosis.objects.filter(pk=queued.pk).update(status=Status.FAILED)

    response = owner_client(queued).get(wait_url(queued, push.MAX_WAIT_SECONDS))

    assert response.json()["finished"] is True
    assert 'data-state="failed"' in response.json()["html"]
    assert push.HOLD_HEADER not in response


@pytest.mark.django_db
def test_another_persons_diagnosis_cannot_be_waited_for(
    queued: Diagnosis, user_factory: Any
) -> None:
    stranger = Client()
    stranger.force_login(user_factory())

    response = stranger.get(wait_url(queued, 0.2))

    assert response.status_code == 404
    assert push.HOLD_HEADER not in response and b"finished" not in response.content


@pytest.mark.django_db
def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(queued: Diagnosis) -> None:
    response = Client().get(wait_url(queued, 0.2))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert push.HOLD_HEADER not in response


@pytest.mark.parametrize(
    ("asked", "waited"),
    [("3", 3.0), ("0.5", 0.5), ("999", MAX), ("-1", MAX), ("nan", MAX), ("soon", MAX), (None, MAX)],
)
def test_the_wait_stays_within_its_bound(asked: str | None, waited: float) -> None:
    from diagnosis.push_views import _seconds

    assert _seconds(asked) == waited


@pytest.mark.django_db
def test_the_worker_publishes_the_end_of_a_job_it_ran(queued: Diagnosis, broker_redis: Any) -> None:
    pubsub = broker_redis.pubsub()
    pubsub.subscribe(push.channel(queued.public_id))
    try:
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        assert jobs.process_diagnosis(queued.pk, redelivered=False, may_retry=False) == "succeeded"
        message = pubsub.get_message(timeout=5)
    finally:
        pubsub.close()

    assert message is not None and message["data"] == push.MESSAGE


@pytest.mark.django_db
def test_with_redis_down_the_job_still_succeeds_and_the_publish_is_logged(
    queued: Diagnosis, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CELERY_BROKER_URL = DEAD_REDIS

    with caplog.at_level(logging.WARNING, logger="diagnosis.push"):
        outcome = jobs.process_diagnosis(queued.pk, redelivered=False, may_retry=False)

    queued.refresh_from_db()
    assert outcome == "succeeded" and queued.status == Status.SUCCEEDED
    assert f"diagnosis {queued.pk}: could not publish" in caplog.text


def test_channels_are_per_diagnosis_and_per_redis_database(settings: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/3"
    one = "0b7f6a8e-2f0c-4a57-9a51-0c1b5e4f2d11"
    first, second = push.channel(one), push.channel("5d2c3f1a-8b9e-4c6d-a7f0-1e2d3c4b5a69")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/4"

    assert len({first, second, push.channel(one)}) == 3
