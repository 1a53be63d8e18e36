"""The PDF reports of one finished diagnosis and of a spot's timeline, rendered from HTML
templates by WeasyPrint.

WeasyPrint lays text out with Pango and shapes it with HarfBuzz, so an Arabic report is
right-to-left with joined letters, given a font that has Arabic (Debian's ``fonts-noto-core``,
installed by ``.ci/ensure_pdf_libs.py``). The photo is embedded as a ``data:`` URI and every
other URL is refused: rendering never fetches anything.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import timezone, translation

from diagnosis.services import PHOTO_TIPS, disease_catalogue, result_view

if TYPE_CHECKING:
    from diagnosis.models import Diagnosis
    from spots.models import Spot


class ReportUnavailable(Exception):
    """The diagnosis has no result to report (queued, running or failed)."""


def report_filename(diagnosis: Diagnosis) -> str:
    """``skinsite-report-<date of the check>.pdf``: nothing about the person or the check's id."""
    return f"skinsite-report-{timezone.localdate(diagnosis.created_at).isoformat()}.pdf"


def _photo_data_uri(name: str) -> str:
    if not name:
        return ""
    try:
        with default_storage.open(name, "rb") as handle:
            data = handle.read()
    except OSError:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def report_html(diagnosis: Diagnosis, *, language: str) -> str:
    """The report's HTML in ``language``: what the result page shows, on paper."""
    if diagnosis.status != diagnosis.Status.SUCCEEDED:
        raise ReportUnavailable(diagnosis.status)
    with translation.override(language):
        result = result_view(diagnosis)
        context = {
            "diagnosis": diagnosis,
            "result": result,
            "predictions": result.predictions,
            "top": result.top,
            "photo_tips": PHOTO_TIPS,
            "photo": _photo_data_uri(diagnosis.image.name),
            "language": language,
            "rtl": translation.get_language_bidi(),
        }
        return render_to_string("sharing/report.html", context)


def _weasyprint() -> tuple[Any, Any]:
    """WeasyPrint's HTML and URLFetcher, imported when a report is first asked for (heavy).

    Importing WeasyPrint sets Pillow's process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES``, after
    which the upload validator of the same web process accepted truncated photos: the flag is
    put back as it was."""
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML, URLFetcher
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return HTML, URLFetcher


def spot_report_filename(spot: Spot) -> str:
    """``skinsite-spot-report-<today>.pdf``: nothing about the person or the spot's name."""
    return f"skinsite-spot-report-{timezone.localdate().isoformat()}.pdf"


def spot_report_html(spot: Spot, diagnoses: Iterable[Diagnosis], *, language: str) -> str:
    """A spot's timeline in ``language``, oldest photo first: what its page lists, on paper,
    with each photo (its thumbnail) and what the person noticed."""
    with translation.override(language):
        catalogue = disease_catalogue()
        entries = [
            (row, result_view(row, catalogue=catalogue), _photo_data_uri(row.thumbnail.name))
            for row in diagnoses
        ]
        context = {
            "spot": spot,
            "entries": entries,
            "language": language,
            "rtl": translation.get_language_bidi(),
        }
        return render_to_string("sharing/spot_report.html", context)


def _write_pdf(html: str) -> bytes:
    HTML, URLFetcher = _weasyprint()
    # Only the embedded photos' data: URIs may be read; nothing is fetched from anywhere.
    fetcher = URLFetcher(allowed_protocols={"data"})
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf()
    if pdf is None:  # only with a target file
        raise RuntimeError("WeasyPrint returned no PDF")
    return bytes(pdf)


def render_report(diagnosis: Diagnosis, *, language: str) -> bytes:
    """The PDF bytes of the report (A4)."""
    return _write_pdf(report_html(diagnosis, language=language))


def render_spot_report(spot: Spot, diagnoses: Iterable[Diagnosis], *, language: str) -> bytes:
    """The PDF bytes of a spot's timeline (A4)."""
    return _write_pdf(spot_report_html(spot, diagnoses, language=language))
