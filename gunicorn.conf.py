"""gunicorn settings, read by every launch from the repository root (``make run``, the Docker
image, the test and benchmark stacks); command-line flags override them.

Threaded workers: an upload's validation decodes a phone photo for tens of milliseconds, and with
sync workers every status poll queued behind it waited that long too. Each process now serves
``WEB_THREADS`` requests at once; processes come from ``WEB_CONCURRENCY`` (gunicorn's own name).
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
