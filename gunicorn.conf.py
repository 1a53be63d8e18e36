"""gunicorn settings, read by every launch from the repository root (``make run``, the Docker
image, the test and benchmark stacks); command-line flags override them.

The ``asgi`` worker serves ``skinsite.asgi:application``: each process runs an event loop for
the async views (the result page's long poll: hundreds of pages can wait for their results
without holding a thread each) and a pool of ``WEB_THREADS`` threads for every other view (an
upload's validation decodes a phone photo for tens of milliseconds; other pages are not held up
behind it). See ``skinsite/asgi.py``. Processes come from ``WEB_CONCURRENCY`` (gunicorn's own
name).
"""

import os

worker_class = "asgi"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# The site has no lifespan hooks; without this, every worker start logs that it looked for them.
asgi_lifespan = "off"

# How long an idle keep-alive connection stays open (gunicorn's default is 2 s). Whoever closes
# an idle connection must be the side that would send the next request, or a request written
# just as the server closes is lost ("Remote end closed connection without response").
# - Behind a proxy: the proxy must give up first, so this exceeds the usual upstream idle
#   timeouts (nginx's upstream keepalive_timeout 60 s, a cloud load balancer's 60 s).
# - Direct: the status page polls every 1, 5 or 15 s when its push is unavailable
#   (diagnosis/static/diagnosis/status.js); 2 s made every slower poll race a closing socket,
#   75 s keeps its connection open between polls. An idle connection costs the event loop a
#   file descriptor (up to worker_connections), not a thread.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "75"))
