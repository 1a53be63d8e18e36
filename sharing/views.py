"""The owner's actions on links (make, withdraw), the doctor's read-only pages, the PDF reports.

The doctor's page needs no account: the token in its address is the only key. An expired,
withdrawn, mistyped or tampered token, and a link whose diagnosis was deleted, all get the same
404 page, which says what may have happened without telling the cases apart.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from allauth.core.ratelimit import consume_or_429
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from diagnosis.models import Diagnosis
from diagnosis.services import PHOTO_TIPS, disease_catalogue, result_view
from sharing import report as reports
from sharing import services
from sharing.forms import ShareLinkForm
from sharing.models import ShareLink
from skinsite.private_media import private_file_response
from spots.models import Spot

#: Session key holding the one link just made, shown once on the result page.
NEW_LINK_SESSION_KEY = "sharing_new_link"


def _not_for_shared_caches(response: HttpResponseBase) -> HttpResponseBase:
    """A shared page is nobody's to keep: no search engine, no cache, no Referer."""
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _shared_view(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Rate-limit the doctor's pages (allauth's limits, shared cache) and mark every answer,
    the 404 included, as not for shared caches or search engines."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # allauth leaves GET requests alone unless told: these pages are all GETs.
        refused = consume_or_429(request, action="share_open", limit_get=True)
        response = refused if refused is not None else view(request, *args, **kwargs)
        return _not_for_shared_caches(response)

    return wrapped


def _link_not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "sharing/link_invalid.html", status=404)


@require_GET
@_shared_view
def shared_diagnosis(request: HttpRequest, token: str) -> HttpResponse:
    """The doctor's read-only page: the photo and the same result panel as the owner's page;
    for a spot's link, each finished photo of the spot, oldest first, with its panel."""
    link = services.open_share_link(token)
    if link is None:
        return _link_not_found(request)
    if link.spot is not None:
        catalogue = disease_catalogue()
        entries = [
            (row, result_view(row, catalogue=catalogue))
            for row in services.shared_spot_photos(link.spot)
        ]
        context = {
            "link": link,
            "token": token,
            "spot": link.spot,
            "entries": entries,
            "photo_tips": PHOTO_TIPS,
        }
        return render(request, "sharing/shared_spot.html", context)
    diagnosis = link.diagnosis
    result = result_view(diagnosis)
    context = {
        "link": link,
        "token": token,
        "diagnosis": diagnosis,
        "result": result,
        "predictions": result.predictions,
        "top": result.top,
        "photo_tips": PHOTO_TIPS,
        "shared": True,
    }
    return render(request, "sharing/shared.html", context)


@require_GET
@_shared_view
def shared_photo(request: HttpRequest, token: str) -> HttpResponseBase:
    """The photo of a shared diagnosis, for whoever holds a usable token (not counted)."""
    link = services.find_share_link(token)
    if link is None or link.diagnosis is None:
        return _link_not_found(request)
    return private_file_response(link.diagnosis.image.name)


@require_GET
@_shared_view
def shared_spot_photo(request: HttpRequest, token: str, public_id: UUID) -> HttpResponseBase:
    """One photo of a shared spot: only one its link shows (the spot's, finished)."""
    link = services.find_share_link(token)
    if link is None or link.spot is None:
        return _link_not_found(request)
    diagnosis = services.shared_spot_photos(link.spot).filter(public_id=public_id).first()
    if diagnosis is None:
        return _link_not_found(request)
    return private_file_response(diagnosis.image.name)


def _make_link(
    request: HttpRequest, back: str, make: Callable[[int], services.NewLink], not_ready: str
) -> HttpResponse:
    """Validate the form, count the attempt, ``make`` the link and show it once at ``back``."""
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how long the link should work."))
        return redirect(back)
    refused = consume_or_429(request, action="share_create")
    if refused is not None:
        return refused
    try:
        new = make(form.cleaned_data["days"])
    except services.NotShareable:
        messages.error(request, not_ready)
        return redirect(back)
    request.session[NEW_LINK_SESSION_KEY] = {
        "pk": new.link.pk,
        "url": request.build_absolute_uri(reverse("sharing:open", args=[new.token])),
    }
    return redirect(back)


@login_required
@require_POST
def create_link(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Make a link to one of the person's own finished diagnoses; show it once."""
    diagnosis = get_object_or_404(Diagnosis.objects.for_user(request.user), public_id=public_id)
    return _make_link(
        request,
        reverse("diagnosis:detail", args=[diagnosis.public_id]) + "#share",
        lambda days: services.create_share_link(
            user=request.user,  # type: ignore[arg-type]
            diagnosis=diagnosis,
            days=days,
        ),
        _("Only a finished check can be shared. Please wait for it."),
    )


@login_required
@require_POST
def create_spot_link(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Make a link to one of the person's own spots (with a finished photo); show it once."""
    spot = get_object_or_404(Spot.objects.for_user(request.user), public_id=public_id)
    return _make_link(
        request,
        reverse("spots:detail", args=[spot.public_id]) + "#share",
        lambda days: services.create_spot_share_link(
            user=request.user,  # type: ignore[arg-type]
            spot=spot,
            days=days,
        ),
        _("A spot can be shared once one of its photos has a result."),
    )


@login_required
@require_POST
def revoke_link(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw one of the person's links at once."""
    link = get_object_or_404(
        ShareLink.objects.filter(owner=request.user.pk).select_related("diagnosis", "spot"), pk=pk
    )
    if services.revoke_share_link(link=link):
        messages.success(request, _("The link was withdrawn: it no longer opens."))
    if link.spot is not None:
        return redirect(reverse("spots:detail", args=[link.spot.public_id]) + "#share")
    assert link.diagnosis is not None  # noqa: S101 - one of the two, by the table's constraint
    return redirect(reverse("diagnosis:detail", args=[link.diagnosis.public_id]) + "#share")


def _report_language(request: HttpRequest) -> str:
    """``?language=en|ar``, else the page's language."""
    language = request.GET.get("language", "")
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = (get_language() or settings.LANGUAGE_CODE)[:2]
    return language


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def report(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The PDF report of one of the person's own finished checks, in the page's language or
    the one asked for (``?language=en|ar``); a check without a result gets a 409 page."""
    diagnosis = get_object_or_404(Diagnosis.objects.for_user(request.user), public_id=public_id)
    refused = consume_or_429(request, action="share_report", limit_get=True)
    if refused is not None:
        return refused
    try:
        pdf = reports.render_report(diagnosis, language=_report_language(request))
    except reports.ReportUnavailable:
        context = {"diagnosis": diagnosis}
        return render(request, "sharing/report_unavailable.html", context, status=409)
    return _pdf_response(pdf, reports.report_filename(diagnosis))


@login_required
@require_GET
def spot_report(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The PDF of one of the person's own spots: its photos over time with their results and
    what the person noticed, in the page's language or ``?language=en|ar``."""
    spot = get_object_or_404(Spot.objects.for_user(request.user), public_id=public_id)
    refused = consume_or_429(request, action="share_report", limit_get=True)
    if refused is not None:
        return refused
    rows = (
        Diagnosis.objects.for_user(request.user)
        .filter(spot=spot)
        .select_related("answers")
        .order_by("created_at", "id")
    )
    pdf = reports.render_spot_report(spot, rows, language=_report_language(request))
    return _pdf_response(pdf, reports.spot_report_filename(spot))
