"""Public catalogue pages: the list, one page per disease, and the pages' images.

No login is needed. Unpublished diseases answer 404 to the public (the same page as an unknown
address, so a draft's existence does not leak) and show a "draft" banner to people allowed to
edit the catalogue.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET
from django.views.generic import DetailView, ListView

from diseases.models import (
    Disease,
    DiseaseImage,
    DiseaseReference,
    can_see_drafts,
    verbose_name,
)
from diseases.validators import CONTENT_TYPES, EXTENSIONS, sniff_format

#: What a list entry shows. Both languages' columns, so the English fallback costs no query.
LIST_FIELDS = (
    "class_key",
    "position",
    "slug",
    "category",
    "urgency",
    "published",
    *(
        f"{name}_{code}"
        for name in ("name", "summary")
        for code in settings.MODELTRANSLATION_LANGUAGES
    ),
)
#: Longest search a person can type; longer input is cut, not refused.
MAX_QUERY_LENGTH = 100


def check_photo_url() -> str:
    """The upload page, or "" while the diagnosis app does not provide it."""
    try:
        return reverse("diagnosis:upload")
    except NoReverseMatch:
        return ""


class DiseaseListView(ListView):
    """All diseases with category and urgency badges; ``?q=``, ``?category=``, ``?urgency=``."""

    model = Disease
    context_object_name = "diseases"
    template_name = "diseases/disease_list.html"

    def get_queryset(self) -> QuerySet[Disease]:
        queryset = Disease.objects.visible_to(self.request.user)
        self.filters = self._read_filters()
        if self.filters["category"]:
            queryset = queryset.filter(category=self.filters["category"])
        if self.filters["urgency"]:
            queryset = queryset.filter(urgency=self.filters["urgency"])
        if self.filters["q"]:
            # Both languages: people often type the English name on the Arabic page.
            term = self.filters["q"]
            match = Q()
            for field in ("name", "summary", "overview", "appearance", "symptoms"):
                for code in settings.MODELTRANSLATION_LANGUAGES:
                    match |= Q(**{f"{field}_{code}__icontains": term})
            queryset = queryset.filter(match | Q(class_key__icontains=term))
        return queryset.only(*LIST_FIELDS)

    def _read_filters(self) -> dict[str, str]:
        params = self.request.GET
        category = params.get("category", "")
        urgency = params.get("urgency", "")
        return {
            "q": " ".join(params.get("q", "").split())[:MAX_QUERY_LENGTH],
            # Unknown values are ignored rather than answered with an empty list.
            "category": category if category in Disease.Category.values else "",
            "urgency": urgency if urgency in Disease.Urgency.values else "",
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            filters=self.filters,
            filtered=any(self.filters.values()),
            categories=Disease.Category.choices,
            urgencies=Disease.Urgency.choices,
            check_photo_url=check_photo_url(),
            canonical_url=self.request.build_absolute_uri(reverse("diseases:list")),
        )
        return context


class DiseaseDetailView(DetailView):
    """One disease: every section, images, references, related diseases, a call to action."""

    model = Disease
    context_object_name = "disease"
    template_name = "diseases/disease_detail.html"

    def get_queryset(self) -> QuerySet[Disease]:
        return Disease.objects.visible_to(self.request.user).prefetch_related(
            Prefetch("images", queryset=DiseaseImage.objects.order_by("position", "pk")),
            Prefetch("references", queryset=DiseaseReference.objects.order_by("position", "pk")),
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            return not_found(request)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        disease: Disease = self.object
        sections = [
            (name, verbose_name(Disease, name), getattr(disease, name)) for name in Disease.SECTIONS
        ]
        related = (
            Disease.objects.visible_to(self.request.user)
            .filter(category=disease.category)
            .exclude(pk=disease.pk)
            .only(*LIST_FIELDS)
        )
        context.update(
            sections=sections,
            related=related,
            check_photo_url=check_photo_url(),
            canonical_url=self.request.build_absolute_uri(disease.get_absolute_url()),
        )
        return context


def not_found(request: HttpRequest) -> HttpResponse:
    """404 in the person's language, pointing back to the list."""
    return render(request, "diseases/disease_not_found.html", status=404)


@require_GET
def disease_image(request: HttpRequest, pk: int) -> FileResponse:
    """An illustration of a disease page. Media is private, so catalogue images go out here."""
    image: DiseaseImage = get_object_or_404(
        DiseaseImage.objects.select_related("disease").only(
            "image", "disease__published", "disease__slug"
        ),
        pk=pk,
    )
    public = image.disease.published
    if not public and not can_see_drafts(request.user):
        raise Http404
    try:
        handle = image.image.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    image_format = sniff_format(handle)
    if image_format is None:  # only validated images are stored; never serve anything else
        handle.close()
        raise Http404
    response = FileResponse(handle, content_type=CONTENT_TYPES[EXTENSIONS[image_format]])
    # File names are random and change on every upload, so a published image can be cached.
    response["Cache-Control"] = "public, max-age=86400" if public else "private, no-store"
    return response
