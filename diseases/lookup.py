"""Class key -> disease, for other apps (result pages, e-mails, exports).

``disease_map()`` returns every disease keyed by class key, built with one query and kept in
Django's cache (Redis in production, so every web and worker process shares it). Saving or
deleting a disease, and the admin's publish actions, drop the cached copy. A page that shows
ten predictions calls ``disease_map()`` once and reads the dict: never a query per prediction.

    from diseases.lookup import disease_map
    info = disease_map().get(prediction.class_key)
    if info:
        info.name()        # in the active language, English when the translation is empty
        info.url           # "" while the page is unpublished
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import get_language

#: Bump the suffix when ``DiseaseInfo`` changes shape, so old cached entries are ignored.
CACHE_KEY = "diseases:map:v1"
#: A safety net only: every change through Django invalidates at once.
CACHE_TIMEOUT = 6 * 3600


@dataclass(frozen=True)
class DiseaseInfo:
    """What another app needs to show a class: its names, summary, urgency and page."""

    key: str
    slug: str
    name_en: str
    name_ar: str
    summary_en: str
    summary_ar: str
    category: str
    urgency: str
    published: bool
    url: str

    def name(self, lang: str | None = None) -> str:
        return self._text("name", lang)

    def summary(self, lang: str | None = None) -> str:
        return self._text("summary", lang)

    @property
    def category_label(self) -> str:
        from diseases.models import Disease

        return str(Disease.Category(self.category).label)

    @property
    def urgency_timeframe(self) -> str:
        """How soon to see a doctor, e.g. "within days, not weeks" ("" for routine)."""
        from diseases.urgency import timeframe

        return timeframe(self.urgency)

    @property
    def urgency_label(self) -> str:
        from diseases.models import Disease

        return str(Disease.Urgency(self.urgency).label)

    def _text(self, field: str, lang: str | None) -> str:
        code = (lang or get_language() or "en").split("-")[0]
        value = getattr(self, f"{field}_{code}", "")
        return value or getattr(self, f"{field}_en")


def disease_map() -> dict[str, DiseaseInfo]:
    """Every disease, published or not, keyed by class key (one query when the cache is cold)."""
    rows = cache.get(CACHE_KEY)
    if rows is None:
        rows = _build_rows()
        cache.set(CACHE_KEY, rows, CACHE_TIMEOUT)
    return {row["key"]: DiseaseInfo(**row) for row in rows}


def disease_for(class_key: str) -> DiseaseInfo | None:
    return disease_map().get(class_key)


def invalidate() -> None:
    """Drop the cached map now and again after the transaction commits.

    The second delete covers a reader that refilled the cache from the old rows between the
    change and the commit.
    """
    cache.delete(CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))


def _build_rows() -> list[dict[str, object]]:
    from diseases.models import Disease

    rows = []
    for disease in Disease.objects.order_by("position").only(
        "class_key",
        "slug",
        "name_en",
        "name_ar",
        "summary_en",
        "summary_ar",
        "category",
        "urgency",
        "published",
    ):
        info = DiseaseInfo(
            key=disease.class_key,
            slug=disease.slug,
            # modeltranslation's columns: not visible to type checkers.
            name_en=getattr(disease, "name_en", "") or "",
            name_ar=getattr(disease, "name_ar", "") or "",
            summary_en=getattr(disease, "summary_en", "") or "",
            summary_ar=getattr(disease, "summary_ar", "") or "",
            category=disease.category,
            urgency=disease.urgency,
            published=disease.published,
            url=disease.get_absolute_url() if disease.published else "",
        )
        # Plain dicts in the cache: a deploy that changes the class never unpickles old objects.
        rows.append(asdict(info))
    return rows
