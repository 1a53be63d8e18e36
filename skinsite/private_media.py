"""Sending a private photo (a diagnosis's, or one shown through a share link) to the browser.

The view that calls ``private_file_response`` has already decided who may see the file; this
only sends it, or lets nginx or Apache send it (PRIVATE_MEDIA_SERVER).
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase


def private_file_response(name: str) -> HttpResponseBase:
    """The stored JPEG ``name`` (a 404 when it is empty or gone), never kept by shared caches."""
    if not name:
        raise Http404
    server = settings.PRIVATE_MEDIA_SERVER
    response: HttpResponseBase
    if server == "nginx":
        # nginx serves an `internal` location mapped to MEDIA_ROOT under this prefix.
        response = HttpResponse(content_type="image/jpeg")
        response["X-Accel-Redirect"] = settings.PRIVATE_MEDIA_NGINX_PREFIX + quote(name)
    elif server == "apache":
        response = HttpResponse(content_type="image/jpeg")
        response["X-Sendfile"] = default_storage.path(name)
    else:
        try:
            handle = default_storage.open(name, "rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(handle, content_type="image/jpeg")
    # Photos of someone's body: the browser may keep them, shared caches never.
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = "inline"
    return response
