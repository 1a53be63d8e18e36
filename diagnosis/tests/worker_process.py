"""A real Celery worker in its own process, for the integration tests (``python -m``).

Prefork pool with one child, consuming the ``inference`` queue under the broker key prefix the
test chose (so it never takes another run's messages). With DIAGNOSIS_TEST_HOLD_MARKER set, the
first classification writes the pool child's pid to that file and then hangs, so the test can
``kill -9`` it mid-task; any later classification (the file exists) runs normally.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skinsite.settings")
    import django

    django.setup()

    from diagnosis import inference
    from skinsite.celery import app

    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "global_keyprefix": os.environ["DIAGNOSIS_TEST_BROKER_PREFIX"],
    }
    marker = os.environ.get("DIAGNOSIS_TEST_HOLD_MARKER")
    if marker:
        real = inference.classify_image

        def hold_first(source: Any) -> Any:
            path = Path(marker)
            if not path.exists():
                path.write_text(str(os.getpid()))
                time.sleep(120)
            return real(source)

        inference.classify_image = hold_first  # type: ignore[assignment]

    app.worker_main(
        [
            "worker",
            "--queues",
            "inference",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
            "--hostname",
            f"diagnosis-test-{os.getpid()}@%h",
        ]
    )


if __name__ == "__main__":
    main()
