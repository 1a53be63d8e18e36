"""What the browser, fault and load tests do to a LiveStack's data: people, photos submitted
through the site's own service, diagnosis rows read back. Mixed into ``LiveStack``; every call
runs in the stack's shell process (``self.shell``)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any


class SiteData:
    """Needs ``shell(code, timeout)``, ``folder`` and ``redis_client()`` from ``LiveStack``."""

    folder: Path

    def shell(self, code: str, timeout: float = 120) -> str:
        raise NotImplementedError

    def redis_client(self, db: int = 0) -> Any:
        raise NotImplementedError

    def create_users(self, emails: list[str], password: str) -> None:
        """People who signed up and verified their address (allauth's EmailAddress)."""
        self.shell(
            "from allauth.account.models import EmailAddress\n"
            "from django.contrib.auth.hashers import make_password\n"
            "from accounts.models import User\n"
            # One real hash for all: hashing costs the best part of a second each.
            f"hashed = make_password({password!r})\n"
            f"for email in {emails!r}:\n"
            "    user = User.objects.create_user(email=email)\n"
            "    user.password = hashed\n"
            "    user.save(update_fields=['password'])\n"
            "    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)\n"
        )

    def submit(
        self, email: str, photos: list[bytes], *, replace_stored_with: bytes | None = None
    ) -> list[int]:
        """Submit photos as ``email`` through ``diagnosis.services.submit_diagnosis``, the
        function the upload view calls; returns the diagnosis ids in submission order.

        ``replace_stored_with`` overwrites each stored (already validated) copy before the job
        is enqueued: a poison image that only the worker meets.
        """
        inbox = self.folder / "submit" / uuid.uuid4().hex
        inbox.mkdir(parents=True)
        paths = []
        for index, photo in enumerate(photos):
            path = inbox / f"{index:04d}.jpg"
            path.write_bytes(photo)
            paths.append(str(path))
        poison = None
        if replace_stored_with is not None:
            poison = inbox / "poison.bin"
            poison.write_bytes(replace_stored_with)
        out = self.shell(
            "from pathlib import Path\n"
            "from django.core.files.storage import default_storage\n"
            "from django.db import transaction\n"
            "from accounts.models import User\n"
            "from diagnosis import services\n"
            f"user = User.objects.get(email={email!r})\n"
            f"poison = Path({str(poison)!r}).read_bytes() if {poison is not None!r} else None\n"
            "ids = []\n"
            f"for path in {paths!r}:\n"
            "    with transaction.atomic():  # enqueued on commit: after the damage below\n"
            "        row = services.submit_diagnosis(user=user, upload=Path(path).read_bytes())\n"
            "        if poison is not None:\n"
            "            with default_storage.open(row.image.name, 'wb') as handle:\n"
            "                handle.write(poison)\n"
            "    ids.append(row.pk)\n"
            "print(' '.join(map(str, ids)))\n",
            timeout=600,
        )
        return [int(pk) for pk in out.split()]

    def rows(self, ids: list[int] | None = None, *, owner_prefix: str = "") -> list[dict[str, Any]]:
        """Diagnosis rows as dicts (ids in the given order, or every row of matching owners)."""
        out = self.shell(
            "import json\n"
            "from diagnosis.models import Diagnosis\n"
            "rows = Diagnosis.objects.all()\n"
            f"if {ids!r} is not None:\n"
            f"    rows = rows.filter(pk__in={ids or []!r})\n"
            f"if {owner_prefix!r}:\n"
            f"    rows = rows.filter(owner__email__startswith={owner_prefix!r})\n"
            "fields = ['pk', 'public_id', 'owner__email', 'status', 'attempts', 'failure_code',\n"
            "          'failure_detail', 'predictions', 'top_class', 'model_version', 'image',\n"
            "          'width', 'height', 'queue_wait_ms', 'inference_ms', 'created_at',\n"
            "          'started_at', 'finished_at', 'enqueued_at', 'outcome', 'red_flag',\n"
            "          'photo_type', 'gate_score', 'quality_issue']\n"
            "print(json.dumps(list(rows.order_by('pk').values(*fields)), default=str))\n",
            timeout=120,
        )
        found = {row["pk"]: row for row in json.loads(out)}
        if ids is None:
            return list(found.values())
        return [found[pk] for pk in ids if pk in found]

    def wait_finished(
        self, ids: list[int], *, timeout: float = 120, interval: float = 0.5
    ) -> list[dict[str, Any]]:
        """Poll until every one of ``ids`` is succeeded or failed; TimeoutError says which
        are not."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows(ids)
            pending = [r for r in rows if r["status"] not in ("succeeded", "failed")]
            if not pending and len(rows) == len(ids):
                return rows
            if time.monotonic() > deadline:
                summary = ", ".join(f"{r['pk']}:{r['status']}/{r['attempts']}" for r in pending)
                raise TimeoutError(
                    f"{len(pending)} of {len(ids)} diagnoses unfinished after {timeout} s "
                    f"({summary[:2000]})"
                )
            time.sleep(interval)

    def pending_diagnoses(self, name: str = "inference") -> list[int]:
        """Diagnosis ids of every ``classify_diagnosis`` message still in Redis: waiting in the
        queue or delivered and not acknowledged (retries with a countdown included)."""
        client = self.redis_client()
        try:
            keys = [name, *(k.decode() for k in client.scan_iter(match=f"{name}\x06\x16*"))]
            payloads = [json.loads(raw) for key in keys for raw in client.lrange(key, 0, -1)]
            payloads += [json.loads(raw)[0] for raw in client.hvals("unacked")]
        finally:
            client.close()
        ids = []
        for payload in payloads:
            headers = payload.get("headers") or {}
            if headers.get("task") == "diagnosis.tasks.classify_diagnosis":
                ids.append(int(str(headers.get("argsrepr", "(0,)")).strip("(),[] ")))
        return ids
