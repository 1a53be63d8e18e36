"""Pages of the checker: upload, camera, result (with its status endpoint), history, images.

Every view that shows a diagnosis looks it up through ``Diagnosis.objects.for_user``: another
person's public id is a 404, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from diagnosis import inference, presentation, services
from diagnosis.forms import UploadForm
from diagnosis.limits import limit_uploads
from diagnosis.models import Diagnosis
from diagnosis.outcomes import PHOTO_TIPS, browser_quality_messages
from mltrain.ml import quality
from skinsite.private_media import private_file_response
from spots import services as spot_services
from spots.models import Spot

HISTORY_PAGE_SIZE = 20
#: What a history row reads of a diagnosis (with what the person noticed, for warning signs).
HISTORY_FIELDS = (
    "public_id",
    "status",
    "outcome",
    "red_flag",
    "quality_issue",
    "photo_type",
    "reference_accuracy",
    "created_at",
    "predictions",
    "top_class",
    "failure_code",
)
#: The status endpoint tells the page how long to wait before asking again.
POLL_INTERVAL_MS = 1000
#: The input size the quality limits assume while no model is active (the shipped model's).
DEFAULT_INPUT_SIZE = 160


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@limit_uploads
def upload(request: HttpRequest) -> HttpResponse:
    """Choose or drop a photo, preview it, send it."""
    return _submission_page(request, "diagnosis/upload.html")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@limit_uploads
def camera(request: HttpRequest) -> HttpResponse:
    """Take the photo with the device's camera (file-input fallback without one)."""
    return _submission_page(request, "diagnosis/camera.html")


def _submission_page(request: HttpRequest, template: str) -> HttpResponse:
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            try:
                diagnosis = _submit(request, form)
            except services.ServiceNotReady:
                return _submission_form(request, template, form, ready=False)
            return redirect("diagnosis:detail", public_id=diagnosis.public_id)
    else:
        # The spot page's "new photo" link and the body map preselect the spot or the place.
        initial = {"spot": request.GET.get("spot"), "spot_region": request.GET.get("region")}
        form = UploadForm(user=request.user, initial=initial)
    # A sent photo is judged by the service alone; this check only tells the page.
    return _submission_form(request, template, form, ready=inference.service_ready())


def _submit(request: HttpRequest, form: UploadForm) -> Diagnosis:
    """The photo's diagnosis, filed under the chosen spot or a new one the form names."""
    with transaction.atomic():
        spot = form.cleaned_data.get("spot")
        if new_spot := form.new_spot():
            spot = spot_services.create_spot(
                user=request.user,  # type: ignore[arg-type]
                name=new_spot[0],
                region=new_spot[1],
            )
        diagnosis = services.submit_diagnosis(
            user=request.user,  # type: ignore[arg-type]
            upload=form.cleaned_data["image"],
            idempotency_key=form.cleaned_data.get("token"),
            spot=spot,
            answers=form.answers(),
        )
        if new_spot and spot is not None and diagnosis.spot_id != spot.pk:
            # A double click returned the first submission: no second new spot.
            transaction.set_rollback(True)
    return diagnosis


def _submission_form(
    request: HttpRequest, template: str, form: UploadForm, *, ready: bool
) -> HttpResponse:
    context = {
        "form": form,
        "service_ready": ready,
        "max_upload_bytes": settings.DIAGNOSIS_MAX_UPLOAD_BYTES,
        # The browser's copy of the worker's quality checks (quality.js), fed from the one
        # definition so neither a number nor a sentence is written twice.
        "quality_limits": quality.limits(
            quality.min_side_for(inference.active_input_size() or DEFAULT_INPUT_SIZE)
        ),
        "quality_messages": browser_quality_messages(),
    }
    return render(request, template, context, status=200 if ready else 503)


def _own_diagnosis(request: HttpRequest, public_id: UUID) -> Diagnosis:
    return get_object_or_404(Diagnosis.objects.for_user(request.user), public_id=public_id)


def _result_context(diagnosis: Diagnosis) -> dict[str, Any]:
    result = presentation.result_view(diagnosis)
    return {
        "diagnosis": diagnosis,
        "result": result,
        "predictions": result.predictions,
        "top": result.top,
        "photo_tips": PHOTO_TIPS,
        "poll_interval_ms": POLL_INTERVAL_MS,
    }


@login_required
@never_cache
@require_GET
def detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The result page; while queued or running it updates itself from ``status``."""
    diagnosis = _own_diagnosis(request, public_id)
    return render(request, "diagnosis/detail.html", _result_context(diagnosis))


@login_required
@never_cache
@require_GET
def status(request: HttpRequest, public_id: UUID) -> JsonResponse:
    """Small JSON for the result page's polling: the state and the result panel's HTML."""
    diagnosis = _own_diagnosis(request, public_id)
    html = render_to_string("diagnosis/_result.html", _result_context(diagnosis), request)
    return JsonResponse(
        {
            "status": diagnosis.status,
            "status_label": diagnosis.get_status_display(),
            "finished": diagnosis.is_finished,
            "poll_interval_ms": POLL_INTERVAL_MS,
            "html": html,
        }
    )


@login_required
@require_GET
def image(request: HttpRequest, public_id: UUID) -> HttpResponseBase:
    """The stored photo, for its owner only."""
    return private_file_response(_own_diagnosis(request, public_id).image.name)


@login_required
@require_GET
def thumbnail(request: HttpRequest, public_id: UUID) -> HttpResponseBase:
    """The history thumbnail, for its owner only."""
    return private_file_response(_own_diagnosis(request, public_id).thumbnail.name)


@login_required
@never_cache
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """The person's own diagnoses, newest first, filterable by a condition anywhere in the
    top-3 (a red flag is often the second or third answer)."""
    catalogue = presentation.disease_catalogue()
    choices = presentation.class_choices(catalogue)
    selected = request.GET.get("class", "")
    rows = Diagnosis.objects.for_user(request.user)
    if selected in dict(choices):
        rows = rows.with_condition(selected)
    else:
        selected = ""
    # Grouped by spot: the person's spots as a filter; what they noticed joins each row.
    spots = list(Spot.objects.for_user(request.user).only("public_id", "name"))
    selected_spot = request.GET.get("spot", "")
    spot = next((s for s in spots if str(s.public_id) == selected_spot), None)
    if spot is not None:
        rows = rows.filter(spot=spot)
    else:
        selected_spot = ""
    rows = rows.select_related("answers").only(
        *HISTORY_FIELDS, *(f"answers__{name}" for name in spot_services.ANSWER_FIELDS)
    )
    page = Paginator(rows, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    entries = [
        (diagnosis, presentation.result_view(diagnosis, catalogue=catalogue))
        for diagnosis in page.object_list
    ]
    context = {
        "page": page,
        "entries": entries,
        "class_choices": choices,
        "selected_class": selected,
        "spots": spots,
        "selected_spot": selected_spot,
    }
    return render(request, "diagnosis/history.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Ask (GET), then delete one diagnosis and its photo (POST): a click is not enough."""
    diagnosis = _own_diagnosis(request, public_id)
    if request.method == "POST":
        services.delete_diagnosis(diagnosis=diagnosis)
        messages.success(request, _("The check and its photo were deleted."))
        return redirect("diagnosis:history")
    # "Cancel" leads back where the person came from: their history or this result.
    from_history = request.GET.get("from") == "history"
    context = {"diagnosis": diagnosis, "from_history": from_history}
    return render(request, "diagnosis/delete.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def delete_all(request: HttpRequest) -> HttpResponse:
    """Ask, then delete every diagnosis of the person and their photos."""
    if request.method == "POST":
        count = services.delete_all_diagnoses(user=request.user)  # type: ignore[arg-type]
        messages.success(
            request,
            ngettext("%(count)d check was deleted.", "%(count)d checks were deleted.", count)
            % {"count": count},
        )
        return redirect("diagnosis:history")
    count = Diagnosis.objects.for_user(request.user).count()
    return render(request, "diagnosis/delete_all.html", {"count": count})


@login_required
@require_POST
def retry(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Queue a failed diagnosis again."""
    diagnosis = _own_diagnosis(request, public_id)
    try:
        services.retry_diagnosis(diagnosis=diagnosis)
    except services.ServiceNotReady:
        messages.error(request, _("The checker is not ready yet. Please try again later."))
    return redirect("diagnosis:detail", public_id=diagnosis.public_id)
