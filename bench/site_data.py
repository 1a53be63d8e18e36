"""What the benchmark puts into its stack's database, run inside the stack's shell process
(``testing.live_stack.LiveStack.shell``): ``prepare`` registers and activates the measured
artifact, gives one person a long history, and answers the URLs the load clients need."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any


def prepare(*, artifact: str, history_email: str, history_rows: int) -> dict[str, Any]:
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import User
    from diagnosis.models import Diagnosis
    from mltrain.ml.classes import CLASS_KEYS
    from mltrain.services import register_model_version

    version = register_model_version(artifact_dir=Path(artifact), activate=True)
    if history_rows:
        owner = User.objects.get(email=history_email)
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
