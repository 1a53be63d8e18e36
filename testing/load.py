"""A small load client: simulated people who log in, upload photos and poll for their results.

``Client`` is one signed-in person's HTTP session (the load test's people and the benchmark's
clients both use it). In ``run_load`` each person is a thread with a ``Client`` doing what the
pages do: open the upload page (the form's token), send a photo, then wait for the result as
the result page does (its long poll, answered when the worker finishes; the status endpoint
once a second when that fails), think a little, and start again, until the run's time is up.
Every response is recorded; a result that does not arrive within ``result_timeout`` is
recorded as unfinished. ``MemorySampler`` watches the
worker's resident memory meanwhile.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

FORM_TOKEN = re.compile(r'name="token" value="([^"]+)"')
RESULT = re.compile(r"/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/?$")
#: The site's addresses (``"{id}"`` stands for a diagnosis's public id).
URLS = {
    "login": "/accounts/login/",
    "upload": "/diagnosis/",
    "status": "/diagnosis/{id}/status/",
    "wait": "/diagnosis/{id}/wait/",
}


@dataclass
class PersonLog:
    """What one simulated person did and saw."""

    email: str
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    refused_uploads: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)  # public ids, in order
    unfinished: list[str] = field(default_factory=list)
    upload_seconds: list[float] = field(default_factory=list)
    upload_started: list[float] = field(default_factory=list)  # seconds into the run
    poll_seconds: list[float] = field(default_factory=list)
    result_seconds: list[float] = field(default_factory=list)  # upload start -> result seen
    errors: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    people: list[PersonLog]
    seconds: float

    def _all(self, name: str) -> list[Any]:
        return [item for person in self.people for item in getattr(person, name)]

    @property
    def uploads(self) -> list[str]:
        return self._all("uploads")

    @property
    def server_errors(self) -> list[str]:
        return self._all("server_errors")

    @property
    def refused_uploads(self) -> list[str]:
        return self._all("refused_uploads")

    @property
    def unfinished(self) -> list[str]:
        return self._all("unfinished")

    @property
    def errors(self) -> list[str]:
        return self._all("errors")

    @property
    def statuses(self) -> Counter[int]:
        total: Counter[int] = Counter()
        for person in self.people:
            total.update(person.statuses)
        return total

    def slowest_uploads(self, count: int = 5) -> list[tuple[float, float]]:
        """``(seconds into the run, seconds taken)`` of the slowest uploads."""
        pairs = zip(self._all("upload_started"), self._all("upload_seconds"), strict=True)
        return sorted(pairs, key=lambda pair: -pair[1])[:count]

    def latencies(self) -> dict[str, list[float]]:
        return {
            "upload (POST to redirect)": self._all("upload_seconds"),
            "status poll": self._all("poll_seconds"),
            "upload start to result seen": self._all("result_seconds"),
        }


def percentiles(values: Sequence[float], points: Sequence[float] = (50, 90, 95, 99)) -> dict:
    """Nearest-rank percentiles (and max) of ``values``; empty for no values."""
    if not values:
        return {}
    ordered = sorted(values)
    result = {
        f"p{p:g}": ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]
        for p in points
    }
    result["max"] = ordered[-1]
    return result


class Client:
    """One person's ``requests`` session on the site, signed in by ``log_in()``. Every
    response's status is counted in ``log``, 5xx answers listed there too."""

    def __init__(
        self,
        base_url: str,
        urls: dict[str, str],
        email: str,
        password: str,
        *,
        log: PersonLog | None = None,
        log_in: bool = True,
    ) -> None:
        self.base = base_url
        self.urls = urls
        self.password = password
        self.log = log or PersonLog(email)
        self.session = requests.Session()
        if log_in:
            self.log_in()

    @property
    def csrf(self) -> str:
        return str(self.session.cookies.get("csrftoken", ""))

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        kwargs.setdefault("allow_redirects", False)
        response = self.session.request(method, self.base + path, **kwargs)
        self.log.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.log.server_errors.append(f"{method} {path} -> {response.status_code}")
        return response

    def log_in(self) -> None:
        self.request("GET", self.urls["login"]).raise_for_status()  # sets the CSRF cookie
        response = self.request(
            "POST",
            self.urls["login"],
            data={
                "login": self.log.email,
                "password": self.password,
                "csrfmiddlewaretoken": self.csrf,
            },
        )
        if response.status_code != 302:
            raise RuntimeError(f"login of {self.log.email} refused ({response.status_code})")

    def send(
        self, data: bytes, name: str = "photo.jpg", *, token: str | None = None
    ) -> tuple[requests.Response, str | None]:
        """Post one photo through the upload form (``token``: the form's, else a new one);
        the answer and the diagnosis's public id, None when the upload was refused."""
        response = self.request(
            "POST",
            self.urls["upload"],
            files={"image": (name, data, "image/jpeg")},
            data={"csrfmiddlewaretoken": self.csrf, "token": token or str(uuid.uuid4())},
            timeout=120,
        )
        match = RESULT.search(response.headers.get("Location", ""))
        if response.status_code != 302 or match is None:
            return response, None
        return response, match.group(1)

    def upload(self, data: bytes, name: str) -> dict[str, Any]:
        """``send`` with its clock: ``{"public_id", "sent", "answered"}`` (``time.time()``);
        a refused upload raises."""
        sent = time.time()
        response, public_id = self.send(data, name)
        answered = time.time()
        if public_id is None:
            raise RuntimeError(f"upload answered {response.status_code}, not a result's address")
        return {"public_id": public_id, "sent": sent, "answered": answered}

    def finished(self, public_id: str) -> bool:
        status = self.request("GET", self.urls["status"].replace("{id}", public_id))
        return status.status_code == 200 and bool(status.json().get("finished"))

    def waited(self, public_id: str) -> bool | None:
        """The result page's long poll (held until the result is there, at most 20 s): whether
        it finished; None when the push is unavailable and the page would poll instead."""
        response = self.request(
            "GET", self.urls.get("wait", URLS["wait"]).replace("{id}", public_id)
        )
        return bool(response.json().get("finished")) if response.status_code == 200 else None

    def wait_done(self, public_id: str, interval: float, timeout: float = 60.0) -> float:
        """Poll the status endpoint until the result is there; the ``time.time()`` it was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.finished(public_id):
                return time.time()
            time.sleep(interval)
        raise RuntimeError(f"diagnosis {public_id} did not finish within {timeout} s")


class _Person(threading.Thread):
    def __init__(
        self,
        base_url: str,
        email: str,
        password: str,
        photos: Sequence[bytes],
        deadline: float,
        *,
        poll_interval: float,
        result_timeout: float,
        think: tuple[float, float],
        seed: int,
    ) -> None:
        super().__init__(name=f"load-{email}", daemon=True)
        self.photos = photos
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.result_timeout = result_timeout
        self.think = think
        self.random = random.Random(seed)  # noqa: S311 - think times, not secrets
        self.client = Client(base_url, URLS, email, password, log_in=False)
        self.log = self.client.log
        self.run_started = time.monotonic()

    def check_one_photo(self) -> None:
        page = self.client.request("GET", URLS["upload"])
        token = FORM_TOKEN.search(page.text)
        photo = self.random.choice(self.photos)
        started = time.monotonic()
        response, public_id = self.client.send(photo, token=token.group(1) if token else None)
        self.log.upload_seconds.append(time.monotonic() - started)
        self.log.upload_started.append(started - self.run_started)
        if public_id is None:
            self.log.refused_uploads.append(f"{response.status_code}: {response.text[:200]}")
            return
        self.log.uploads.append(public_id)
        give_up = time.monotonic() + self.result_timeout
        while time.monotonic() < give_up:
            waiting = time.monotonic()
            finished = self.client.waited(public_id)
            if finished is None:  # no push: poll, as the page does
                time.sleep(self.poll_interval)
                asked = time.monotonic()
                finished = self.client.finished(public_id)
                self.log.poll_seconds.append(time.monotonic() - asked)
            elif not finished and time.monotonic() - waiting < self.poll_interval:
                time.sleep(self.poll_interval)  # answered without holding: not again at once
            if finished:
                self.log.result_seconds.append(time.monotonic() - started)
                return
        self.log.unfinished.append(public_id)

    def run(self) -> None:
        try:
            self.client.log_in()
            while time.monotonic() < self.deadline:
                self.check_one_photo()
                time.sleep(self.random.uniform(*self.think))
        except Exception as exc:  # noqa: BLE001 - recorded and reported, never swallowed
            self.log.errors.append(f"{type(exc).__name__}: {exc}")


def run_load(
    base_url: str,
    people: Sequence[str],
    password: str,
    photos: Sequence[bytes],
    seconds: float,
    *,
    poll_interval: float = 1.0,
    result_timeout: float = 180,
    think: tuple[float, float] = (0.5, 2.0),
) -> LoadReport:
    """Run ``people`` (e-mails of verified accounts) for ``seconds``; waits for every thread."""
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        _Person(
            base_url,
            email,
            password,
            photos,
            deadline,
            poll_interval=poll_interval,
            result_timeout=result_timeout,
            think=think,
            seed=index,
        )
        for index, email in enumerate(people)
    ]
    for thread in threads:
        thread.run_started = started
        thread.start()
        time.sleep(0.05)  # people arrive over a second, not in one instant
    for thread in threads:
        thread.join(timeout=seconds + result_timeout + 120)
    return LoadReport([t.log for t in threads], time.monotonic() - started)


class MemorySampler(threading.Thread):
    """Samples the summed resident memory (KiB) of ``pids()`` every ``interval`` seconds."""

    def __init__(self, pids: Callable[[], list[int]], interval: float = 2.0) -> None:
        super().__init__(name="memory-sampler", daemon=True)
        self.pids = pids
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []  # (seconds since start, KiB, processes)
        self._stop_event = threading.Event()

    def run(self) -> None:
        from testing.live_stack import rss_kib

        start = time.monotonic()
        while not self._stop_event.is_set():
            sizes = [size for pid in self.pids() if (size := rss_kib(pid)) is not None]
            if sizes:
                self.samples.append((time.monotonic() - start, sum(sizes), len(sizes)))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def window_median(self, start: float, end: float) -> float | None:
        """Median KiB of the samples between fractions ``start`` and ``end`` of the run."""
        if not self.samples:
            return None
        total = self.samples[-1][0] or 1.0
        chosen = sorted(kib for t, kib, _ in self.samples if start * total <= t <= end * total)
        return float(chosen[len(chosen) // 2]) if chosen else None
