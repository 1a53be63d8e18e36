from __future__ import annotations

import sys

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from skinsite import health
from skinsite.pwa.qr import qr_svg

SERVICE_DOWN_ERRORS = (DatabaseError, RedisConnectionError, RedisTimeoutError, BrokerError)


def home(request: HttpRequest) -> HttpResponse:
    """The dashboard for signed-in people, a short introduction for everyone else; on a
    desktop, the QR code of the site's address to open it on a phone."""
    # The address the person reached the site by (a host in ALLOWED_HOSTS): the one a phone on
    # the same network can open too.
    address = request.build_absolute_uri(reverse("home"))
    context = {
        "site_address": address,
        "site_qr": qr_svg(address, title=gettext("QR code of this site's address")),
    }
    return render(request, "home.html", context)


@require_GET
@cache_control(max_age=24 * 3600)
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico whatever the page links: send them to the static icon.

    Not permanent: the static name changes with the icon's content (the manifest's hash).
    """
    return HttpResponseRedirect(static("img/favicon.ico"))


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Machine-readable health: 503 when the database or the broker is down."""
    database_ok = health.check_database()
    broker_ok = health.check_broker()
    model = health.active_model_status() if database_ok else {"active": None, "ok": False}
    ok = database_ok and broker_ok
    body = {
        "status": "ok" if ok else "unavailable",
        "database": "ok" if database_ok else "down",
        "broker": "ok" if broker_ok else "down",
        "model": model,
    }
    return JsonResponse(body, status=200 if ok else 503)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a service that is down (database, Redis) gets a 503 page, never a traceback.

    Rendered without the request context, because the context processors would touch the
    database or the session that just failed.
    """
    error = sys.exc_info()[1]
    status = 503 if isinstance(error, SERVICE_DOWN_ERRORS) else 500
    template = "503.html" if status == 503 else "500.html"
    html = render_to_string(
        template,
        {
            "LANGUAGE_CODE": translation.get_language(),
            "LANGUAGE_BIDI": translation.get_language_bidi(),
        },
    )
    response = HttpResponse(html, status=status)
    if status == 503:
        response["Retry-After"] = "30"
    return response
