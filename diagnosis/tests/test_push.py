"""The result page's push: the worker publishes a diagnosis's end, the long poll answers at once,
for the owner only, and a Redis that is down fails nothing (the page polls instead).

Real Redis (the broker's, ``CELERY_BROKER_URL``) and a real database; the long poll runs through
Django's test client."""

from __future__ import annotations

import logging
import threading
import time
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


def finish_when_subscribed(client: Any, diagnosis: Diagnosis) -> threading.Thread:
    """In another thread: once the page's long poll subscribed, finish the row as the worker
    does (the update, then the publish)."""

    def finish() -> None:
        channel = push.channel(diagnosis.pk)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if dict(client.pubsub_numsub(channel)).get(channel.encode()):
                break
            time.sleep(0.02)
        Diagnosis.objects.filter(pk=diagnosis.pk).update(status=Status.SUCCEEDED)
        push.publish_finished(diagnosis.pk)

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_waiting_page_is_answered_as_soon_as_the_worker_publishes(
    queued: Diagnosis, broker_redis: Any
) -> None:
    finisher = finish_when_subscribed(broker_redis, queued)
    # Far longer than the test takes: only the publish can end this wait early.
    response = owner_client(queued).get(wait_url(queued, push.MAX_WAIT_SECONDS))
    finisher.join()

    assert response.status_code == 200
    assert response.json() == {"finished": True}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_a_finished_diagnosis_is_answered_without_waiting(
    queued: Diagnosis, broker_redis: Any
) -> None:
    Diagnosis.objects.filter(pk=queued.pk).update(status=Status.FAILED)

    response = owner_client(queued).get(wait_url(queued, push.MAX_WAIT_SECONDS))

    assert response.json() == {"finished": True}


@pytest.mark.django_db
def test_a_wait_without_an_end_answers_not_finished(queued: Diagnosis, broker_redis: Any) -> None:
    response = owner_client(queued).get(wait_url(queued, 0.2))

    assert response.status_code == 200
    assert response.json() == {"finished": False}


@pytest.mark.django_db
def test_another_persons_diagnosis_cannot_be_waited_for(
    queued: Diagnosis, user_factory: Any, broker_redis: Any
) -> None:
    stranger = Client()
    stranger.force_login(user_factory())

    response = stranger.get(wait_url(queued, 0.2))

    assert response.status_code == 404
    assert b"finished" not in response.content


@pytest.mark.django_db
def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(queued: Diagnosis) -> None:
    response = Client().get(wait_url(queued, 0.2))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_with_redis_down_the_long_poll_says_503_and_the_page_polls_instead(
    queued: Diagnosis, settings: Any
) -> None:
    settings.CELERY_BROKER_URL = DEAD_REDIS

    response = owner_client(queued).get(wait_url(queued, 0.2))

    assert response.status_code == 503
    assert response.json() == {"finished": False, "push": False}


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
    pubsub.subscribe(push.channel(queued.pk))
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
    first, second = push.channel(1), push.channel(2)
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/4"

    assert len({first, second, push.channel(1)}) == 3
