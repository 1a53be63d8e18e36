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

# How long an idle keep-alive connection stays open (gunicorn's default is 2 s). Whoever closes
# an idle connection must be the side that would send the next request, or a request written
# just as the server closes is lost ("Remote end closed connection without response").
# - Behind a proxy: the proxy must give up first, so this exceeds the usual upstream idle
#   timeouts (nginx's upstream keepalive_timeout 60 s, a cloud load balancer's 60 s).
# - Direct: the status page polls every 1, 5 or 15 s (diagnosis/static/diagnosis/status.js);
#   2 s made every slower poll race a closing socket, 75 s keeps its connection open between
#   polls. gthread workers park idle connections in their poller, not in a thread, so this costs
#   a file descriptor (up to worker_connections), not a worker thread.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "75"))
