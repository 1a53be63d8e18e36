"""Spot pages: the list with the body map, a new spot, a spot's timeline, deleting a spot.

Every view looks spots up through ``Spot.objects.for_user``: another person's spot is a 404.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from diagnosis.models import Diagnosis
from diagnosis.services import disease_catalogue, result_view
from spots import reminders, services
from spots.compare import changes
from spots.forms import SpotForm
from spots.models import Spot

# How many of a spot's latest photos the grouped list shows; the spot page has them all.
SPOT_PREVIEW_PHOTOS = 4


def _own_spot(request: HttpRequest, public_id: UUID) -> Spot:
    return get_object_or_404(Spot.objects.for_user(request.user), public_id=public_id)


@login_required
@never_cache
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The person's history grouped by spot: each spot with its latest photos and their results,
    the number of checks that belong to no spot, and the body map to add a spot."""
    latest = Diagnosis.objects.select_related("answers").order_by("-created_at", "-id")
    spots = (
        Spot.objects.for_user(request.user)
        .annotate(photos=Count("diagnoses"), last_photo=Max("diagnoses__created_at"))
        .prefetch_related(
            Prefetch("diagnoses", queryset=latest[:SPOT_PREVIEW_PHOTOS], to_attr="latest")
        )
        .order_by("name", "id")
    )
    catalogue = disease_catalogue()
    groups = [
        (spot, [(row, result_view(row, catalogue=catalogue)) for row in spot.latest])
        for spot in spots
    ]
    loose = Diagnosis.objects.for_user(request.user).filter(spot=None).count()
    return render(request, "spots/index.html", {"groups": groups, "loose": loose})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    """A new spot: a name and a place (a body-map link preselects the place)."""
    if request.method == "POST":
        form = SpotForm(request.POST)
        if form.is_valid():
            spot = services.create_spot(
                user=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                region=form.cleaned_data["region"],
            )
            return redirect("spots:detail", public_id=spot.public_id)
    else:
        region = request.GET.get("region", "")
        form = SpotForm(initial={"region": region} if region in Spot.Region.values else None)
    selected = str(form["region"].value() or "")
    return render(request, "spots/create.html", {"form": form, "selected_region": selected})


@login_required
@never_cache
@require_GET
def detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """A spot's photos, oldest first, each with its result and what the person noticed."""
    spot = _own_spot(request, public_id)
    catalogue = disease_catalogue()
    rows = (
        Diagnosis.objects.for_user(request.user)
        .filter(spot=spot)
        .select_related("answers")
        .order_by("created_at", "id")
    )
    entries = [(row, result_view(row, catalogue=catalogue)) for row in rows]
    context = {"spot": spot, "entries": entries, "reminder_choices": Spot.Every.choices}
    return render(request, "spots/detail.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Ask whether to keep or delete the spot's photos (GET), then delete the spot (POST)."""
    spot = _own_spot(request, public_id)
    photos = spot.diagnoses.count()
    error = ""
    if request.method == "POST":
        choice = request.POST.get("photos")
        if choice in {"keep", "delete"} or not photos:
            deleted = services.delete_spot(spot=spot, delete_photos=choice == "delete")
            if deleted:
                messages.success(
                    request,
                    ngettext(
                        "The spot and its %(count)d photo were deleted.",
                        "The spot and its %(count)d photos were deleted.",
                        deleted,
                    )
                    % {"count": deleted},
                )
            elif photos:
                messages.success(
                    request, _("The spot was deleted; its photos are still in your history.")
                )
            else:
                messages.success(request, _("The spot was deleted."))
            return redirect("spots:index")
        error = _("Choose whether to keep or delete the photos of this spot.")
    context = {"spot": spot, "photos": photos, "error": error}
    return render(request, "spots/delete.html", context, status=400 if error else 200)


@login_required
@never_cache
@require_GET
def compare(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Then vs now: two photos of the spot side by side, with a slider over them, their
    results and answers, and what changed. ``before``/``after`` are diagnosis ids of this
    spot (the oldest and newest by default); any other id is a 404."""
    spot = _own_spot(request, public_id)
    rows = list(
        Diagnosis.objects.for_user(request.user)
        .filter(spot=spot)
        .select_related("answers")
        .order_by("created_at", "id")
    )
    if len(rows) < 2:
        raise Http404
    by_id = {str(row.public_id): row for row in rows}
    try:
        before = by_id[request.GET.get("before") or str(rows[0].public_id)]
        after = by_id[request.GET.get("after") or str(rows[-1].public_id)]
    except KeyError as exc:
        raise Http404 from exc
    if after.created_at < before.created_at:
        before, after = after, before
    catalogue = disease_catalogue()
    before_view = result_view(before, catalogue=catalogue)
    after_view = result_view(after, catalogue=catalogue)
    context = {
        "spot": spot,
        "rows": rows,
        "same": before.pk == after.pk,
        "sides": [(before, before_view), (after, after_view)],
        "before": before,
        "after": after,
        "changes": changes(before, after, before_view=before_view, after_view=after_view),
    }
    return render(request, "spots/compare.html", context)


@login_required
@require_POST
def reminder(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Turn re-check reminders on or off (``weeks``), or put the next one off a week."""
    spot = _own_spot(request, public_id)
    if "snooze" in request.POST:
        reminders.snooze_reminder(spot=spot)
        messages.success(request, _("The next reminder was put off by a week."))
    else:
        try:
            weeks = int(request.POST.get("weeks", ""))
            reminders.set_reminder(spot=spot, weeks=weeks)
        except ValueError:
            messages.error(request, _("Choose how often to be reminded from the list."))
        else:
            messages.success(
                request,
                _("Reminders are on.") if weeks else _("Reminders for this spot are off."),
            )
    return redirect("spots:detail", public_id=spot.public_id)


def _bad_link(request: HttpRequest) -> HttpResponse:
    return render(request, "spots/link_invalid.html", status=400)


@never_cache
@require_GET
def reminder_open(request: HttpRequest, token: str) -> HttpResponse:
    """A reminder's "take a new photo" link: the upload page with the spot chosen (signing in
    first when needed; the page itself only ever offers the person's own spots)."""
    try:
        spot = reminders.spot_for_token(token)
    except reminders.BadLink:
        return _bad_link(request)
    return redirect(reverse("diagnosis:upload") + f"?spot={spot.public_id}")


@csrf_exempt  # the signed token is the credential; mail clients POST here (RFC 8058)
@never_cache
@require_http_methods(["GET", "POST"])
def reminder_stop(request: HttpRequest, token: str) -> HttpResponse:
    """Stop a spot's reminders without signing in: a page with one button (GET, so that mail
    scanners opening links stop nothing), and the stop itself (POST, also one-click)."""
    try:
        spot = reminders.spot_for_token(token)
    except reminders.BadLink:
        return _bad_link(request)
    stopped = request.method == "POST"
    if stopped:
        reminders.set_reminder(spot=spot, weeks=Spot.Every.OFF)
    return render(request, "spots/reminder_stop.html", {"spot": spot, "stopped": stopped})
