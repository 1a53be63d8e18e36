"""Jobs run inside the benchmark's own site: ``python -m bench.django_tasks`` is a small server
that the stack starts once, with the stack's environment (its throwaway database), so Django
starts once instead of once per job. It reads one JSON request per line on stdin,
``{"command": ..., "args": {...}}``, and answers one JSON line on stdout,
``{"answer": ...}`` or ``{"error": "traceback"}``.

* ``manage``: a management command (``args["argv"]``), its output kept off the protocol;
* ``prepare``: register and activate the artifact, create verified users and one user with a
  long history; answer the URLs the load generator needs;
* ``rows``: wait until the given diagnoses are finished (or a timeout), then answer their rows
  and how many diagnoses the upload users own in all (to find duplicates).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

PASSWORD = "bench-password-not-secret-1"  # noqa: S105 (throwaway users of a throwaway database)


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skinsite.settings")
    import django

    django.setup()


def _ts(value: Any) -> float | None:
    return value.timestamp() if value is not None else None


def prepare(args: dict[str, Any]) -> dict[str, Any]:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.urls import reverse
    from django.utils import timezone

    from diagnosis.models import Diagnosis
    from mltrain.ml.classes import CLASS_KEYS
    from mltrain.services import register_model_version

    version = register_model_version(artifact_dir=Path(args["artifact"]), activate=True)
    user_model = get_user_model()
    emails = []
    for i in range(int(args.get("users", 4))):
        email = f"bench-user-{i}@example.com"
        if not user_model.objects.filter(email=email).exists():
            user = user_model.objects.create_user(email=email, password=PASSWORD)
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        emails.append(email)
    history_email = "bench-history@example.com"
    history_rows = int(args.get("history_rows", 0))
    if history_rows and not user_model.objects.filter(email=history_email).exists():
        owner = user_model.objects.create_user(email=history_email, password=PASSWORD)
        EmailAddress.objects.create(user=owner, email=history_email, verified=True, primary=True)
        now = timezone.now()
        rows = []
        for i in range(history_rows):
            keys = [CLASS_KEYS[(i + k) % len(CLASS_KEYS)] for k in range(3)]
            rows.append(
                Diagnosis(
                    owner=owner,
                    image=f"diagnoses/images/00/bench-{i}.jpg",
                    thumbnail=f"diagnoses/thumbnails/00/bench-{i}.jpg",
                    width=1024,
                    height=768,
                    status=Diagnosis.Status.SUCCEEDED,
                    attempts=1,
                    predictions=[
                        {"key": keys[0], "probability": 0.71},
                        {"key": keys[1], "probability": 0.18},
                        {"key": keys[2], "probability": 0.06},
                    ],
                    top_class=keys[0],
                    model_version=version.version,
                    model_sha256=version.sha256,
                    started_at=now,
                    finished_at=now,
                    queue_wait_ms=5,
                    inference_ms=4,
                )
            )
        Diagnosis.objects.bulk_create(rows, batch_size=250)
    placeholder = uuid.UUID(int=0)
    return {
        "model_version": version.version,
        "users": emails,
        "history_user": history_email,
        "password": PASSWORD,
        "urls": {
            "login": reverse("account_login"),
            "upload": reverse("diagnosis:upload"),
            "history": reverse("diagnosis:history"),
            "diseases": reverse("diseases:list"),
            "healthz": reverse("healthz"),
            "status": reverse("diagnosis:status", args=[placeholder]).replace(
                str(placeholder), "{id}"
            ),
        },
    }


def rows(args: dict[str, Any]) -> dict[str, Any]:
    from diagnosis.models import Diagnosis

    ids = [uuid.UUID(x) for x in args["public_ids"]]
    finished = [Diagnosis.Status.SUCCEEDED, Diagnosis.Status.FAILED]
    deadline = time.monotonic() + float(args.get("wait_s", 0))
    while time.monotonic() < deadline:
        done = Diagnosis.objects.filter(public_id__in=ids, status__in=finished).count()
        if done >= len(ids):
            break
        time.sleep(0.5)
    found = Diagnosis.objects.filter(public_id__in=ids).values(
        "public_id",
        "status",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
        "queue_wait_ms",
        "inference_ms",
        "failure_code",
    )
    owned = Diagnosis.objects.filter(
        owner__email__in=args.get("users", []), created_at__gte=_from_ts(args.get("since"))
    ).count()
    return {
        "owned_since": owned,
        "rows": [
            {
                "public_id": str(r["public_id"]),
                "status": r["status"],
                "attempts": r["attempts"],
                "created_at": _ts(r["created_at"]),
                "started_at": _ts(r["started_at"]),
                "finished_at": _ts(r["finished_at"]),
                "queue_wait_ms": r["queue_wait_ms"],
                "inference_ms": r["inference_ms"],
                "failure_code": r["failure_code"],
            }
            for r in found
        ],
    }


def _from_ts(value: float | None):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(value or 0, tz=UTC)


def manage(args: dict[str, Any]) -> dict[str, Any]:
    import io

    from django.core.management import call_command

    output = io.StringIO()
    call_command(*args["argv"], stdout=output, stderr=output)
    return {"output": output.getvalue()[-2000:]}


COMMANDS = {"manage": manage, "prepare": prepare, "rows": rows}


def main() -> None:
    protocol = sys.stdout
    sys.stdout = sys.stderr  # whatever Django or a command prints stays off the protocol
    _setup()
    protocol.write(json.dumps({"answer": "ready"}) + "\n")
    protocol.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            reply = {"answer": COMMANDS[request["command"]](request.get("args", {}))}
        except Exception:  # noqa: BLE001 (the caller reports it with the traceback)
            import traceback

            reply = {"error": traceback.format_exc()}
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
