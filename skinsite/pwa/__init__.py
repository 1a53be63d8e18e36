"""The installable phone app (PWA): icons, web app manifest, service worker, offline page, QR code.

- ``icons``: the app's PNG icons, rendered from the site's one logo (``static/img/favicon.svg``)
  by a static-files finder, so ``collectstatic`` (``make run``, the Docker build) and the
  development server produce them; none is committed.
- ``shell``: the service worker's policy, the one list of what it may cache (the static shell:
  CSS, JS, icons and the offline page), written into ``/sw.js`` as JSON.
- ``views``: ``/sw.js`` (at the root, so its scope is the whole site), the manifest in each
  language, and the offline page.
- ``qr``: the QR code of the site's address shown on the desktop home page (segno, SVG).
"""
