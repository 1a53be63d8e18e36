"""The PDF report: what the result page says, on A4, in English and in right-to-left Arabic.

Text is read back with pypdf. For Arabic, pypdf returns each word in logical order (the
PDF's ToUnicode map gives the letters behind each shaped glyph), but a line that mixes Arabic
with numbers or brackets comes out in visual run order with mirrored brackets. So the tests
assert on whole lines only where a line is pure Arabic, and on single words elsewhere.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from sharing.tests.conftest import TOP_NAME

pytestmark = pytest.mark.django_db

#: A4 in PostScript points (210 x 297 mm).
A4_POINTS = (595.28, 841.89)
PDFTOPPM = shutil.which("pdftoppm")


@pytest.fixture
def owner(client: Client, person: Any) -> Client:
    client.force_login(person)
    return client


def report_url(diagnosis: Any, language: str = "en") -> str:
    return reverse("sharing:report", args=[diagnosis.public_id]) + f"?language={language}"


def fetch_pdf(client: Client, diagnosis: Any, language: str = "en") -> tuple[Any, PdfReader]:
    response = client.get(report_url(diagnosis, language))
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return response, PdfReader(io.BytesIO(response.content))


def lines_of(reader: PdfReader) -> list[str]:
    return [line.strip() for page in reader.pages for line in page.extract_text().splitlines()]


def text_of(reader: PdfReader) -> str:
    """All the text, lines joined by single spaces (a sentence may wrap anywhere)."""
    return " ".join(" ".join(lines_of(reader)).split())


def flat(text: str) -> str:
    """Text without line breaks or isolate marks: a sha256 may wrap over two lines."""
    return re.sub(r"[\s\u2066-\u2069]", "", text)


def glyphs_per_character(reader: PdfReader) -> dict[str, set[str]]:
    """For every character drawn, the glyph ids that draw it (from the fonts' ToUnicode maps).

    Unshaped Arabic draws each letter with one glyph; shaped (joined) Arabic uses initial,
    medial, final and isolated forms, so one letter maps from several glyphs.
    """
    glyphs: dict[str, set[str]] = defaultdict(set)
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            cmap = font.get_object().get("/ToUnicode")
            if cmap is None:
                continue
            data = cmap.get_object().get_data().decode("latin-1")
            for glyph, code in re.findall(r"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>", data):
                text = bytes.fromhex(code).decode("utf-16-be")
                glyphs[text].add(font.get_object()["/BaseFont"] + glyph)
    return glyphs


def test_the_owner_downloads_an_english_report(
    owner: Client, person: Any, diagnosis_factory: Any, catalogue: Any
) -> None:
    diagnosis = diagnosis_factory(person)
    response, reader = fetch_pdf(owner, diagnosis)
    filename = re.fullmatch(
        r'attachment; filename="(skinsite-report-\d{4}-\d{2}-\d{2}\.pdf)"',
        response["Content-Disposition"],
    )
    assert filename is not None
    assert response["Cache-Control"] == "private, no-store"

    text = text_of(reader)
    assert "Skin photo check: report" in text
    assert "Photo checked on" in text
    assert TOP_NAME in text
    assert "71%" in text and "moderate confidence" in text  # the page's words for 0.71
    assert "The checker gives this a probability of" in text
    assert "right about 7 times in 10" in text
    assert "Melanoma" in text and "18%" in text and "very low confidence" in text
    assert "Model version: tiny-test-1" in text
    assert "ab" * 32 in flat(text)
    assert "This is not a diagnosis." in text
    assert person.email not in text and str(diagnosis.public_id) not in text
    assert len(reader.pages[0].images) == 1  # the photo


def test_the_arabic_report_is_right_to_left_with_joined_letters(
    owner: Client, person: Any, diagnosis_factory: Any, catalogue: Any
) -> None:
    diagnosis = diagnosis_factory(person)
    _, arabic = fetch_pdf(owner, diagnosis, "ar")
    _, english = fetch_pdf(owner, diagnosis, "en")
    text = text_of(arabic)
    lines = lines_of(arabic)
    # A pure-Arabic line comes out whole, in logical order.
    assert "فحص صورة الجلد: تقرير" in lines
    # Words of mixed lines, each in logical order.
    for word in ("الشامات", "الميلانينية", "ثقة", "متوسطة", "الميلانوما", "تشخيصًا"):
        assert word in text, word
    assert "71%" in text

    # Joined letters: HarfBuzz picked contextual forms, so some Arabic letter is drawn by
    # several glyphs (initial, medial, final), and lam-alef by one ligature glyph.
    glyphs = glyphs_per_character(arabic)
    arabic_letters = {char: ids for char, ids in glyphs.items() if "\u0621" <= char <= "\u064a"}
    assert any(len(ids) >= 2 for ids in arabic_letters.values()), arabic_letters
    assert "\u0644\u0627" in glyphs or "\u0644\u0623" in glyphs or "\u0644\u0625" in glyphs

    # Right to left: the title ends at the right margin instead of starting at the left one.
    def title_x(reader: PdfReader, title: str) -> float:
        found: list[float] = []

        def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
            if title in text and not found:
                found.append(float(tm[4]) * float(cm[0]) + float(cm[4]))

        reader.pages[0].extract_text(visitor_text=visit)
        assert found, title
        return found[0]

    assert title_x(arabic, "فحص") > title_x(english, "Skin photo check") + 150


def test_a_refused_photo_reports_its_refusal_and_no_disease_name(
    owner: Client, person: Any, diagnosis_factory: Any, catalogue: Any
) -> None:
    refused = diagnosis_factory(person, outcome="not_skin", predictions=[], top_class="")
    text = text_of(fetch_pdf(owner, refused)[1])
    assert "This does not look like a close-up photo of skin" in text
    for info in catalogue.values():
        assert info.name("en") not in text
    assert "%" not in text


def test_a_photo_too_poor_to_judge_reports_what_to_fix(
    owner: Client, person: Any, diagnosis_factory: Any, catalogue: Any
) -> None:
    blurred = diagnosis_factory(
        person, outcome="poor_quality", quality_issue="blurry", predictions=[], top_class=""
    )
    text = text_of(fetch_pdf(owner, blurred)[1])
    assert "steady" in text.lower()
    assert TOP_NAME not in text


def test_cant_tell_leads_and_the_red_flag_comes_first(
    owner: Client, person: Any, diagnosis_factory: Any, catalogue: Any
) -> None:
    top3 = [
        {"key": "melanocytic_nevi", "probability": 0.35},
        {"key": "melanoma", "probability": 0.30},
        {"key": "benign_keratosis", "probability": 0.10},
    ]
    unsure = diagnosis_factory(person, outcome="cant_tell", predictions=top3, red_flag="melanoma")
    text = text_of(fetch_pdf(owner, unsure)[1])
    urgent = text.index("See a doctor")
    assert urgent < text.index("The checker can't tell what this is")
    assert "resemblance to Melanoma" in text and "30%" in text
    assert "What it weighed, none of them clearly" in text


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("failed", "This check failed"),
        ("queued", "This check is not finished yet"),
        ("running", "This check is not finished yet"),
    ],
)
def test_a_check_without_a_result_gets_a_clear_409(
    owner: Client, person: Any, diagnosis_factory: Any, status: str, says: str
) -> None:
    diagnosis = diagnosis_factory(person, status=status, outcome="", predictions=[])
    response = owner.get(report_url(diagnosis))
    assert response.status_code == 409
    assert says in response.content.decode()


def test_another_persons_report_is_a_404(
    owner: Client, user_factory: Any, diagnosis_factory: Any
) -> None:
    theirs = diagnosis_factory(user_factory())
    assert owner.get(report_url(theirs)).status_code == 404


def test_an_anonymous_visitor_gets_no_report(
    client: Client, person: Any, diagnosis_factory: Any
) -> None:
    response = client.get(report_url(diagnosis_factory(person)))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_the_result_page_offers_the_report_in_both_languages(
    owner: Client, person: Any, diagnosis_factory: Any
) -> None:
    diagnosis = diagnosis_factory(person)
    html = owner.get(reverse("diagnosis:detail", args=[diagnosis.public_id])).content.decode()
    assert f'href="{report_url(diagnosis, "en")}"' in html
    assert f'href="{report_url(diagnosis, "ar")}"' in html


def test_the_first_page_is_a4(
    owner: Client, person: Any, diagnosis_factory: Any, tmp_path: Path
) -> None:
    response, reader = fetch_pdf(owner, diagnosis_factory(person))
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(A4_POINTS[0], abs=0.5)
    assert float(box.height) == pytest.approx(A4_POINTS[1], abs=0.5)
    if PDFTOPPM is None:
        pytest.skip("pdftoppm (Debian's poppler-utils) is not installed: page not rendered")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    subprocess.run(
        [PDFTOPPM, "-r", "72", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    (png,) = tmp_path.glob("page*.png")
    from PIL import Image

    with Image.open(png) as page:
        # At 72 dpi one pixel is one point: A4 is 595 x 842 (pdftoppm rounds up).
        assert page.size[0] in (595, 596) and page.size[1] in (842, 843)
        # Not blank: the photo and the text are drawn.
        assert page.convert("L").getextrema()[0] < 100


def test_reports_are_rate_limited(
    owner: Client, person: Any, diagnosis_factory: Any, settings: Any
) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "share_report": "1/h/user"}
    diagnosis = diagnosis_factory(person, status="queued", outcome="", predictions=[])
    assert owner.get(report_url(diagnosis)).status_code == 409
    assert owner.get(report_url(diagnosis)).status_code == 429


def test_rendering_a_report_leaves_the_upload_validator_strict() -> None:
    """WeasyPrint's import turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES; the upload
    validator of the same web process must still refuse a truncated photo afterwards."""
    from PIL import ImageFile

    from diagnosis.tests import images
    from sharing.report import _weasyprint
    from skinsite.imaging import InvalidImage, validate_image

    _weasyprint()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    data = images.jpeg((640, 480))
    with pytest.raises(InvalidImage):
        validate_image(io.BytesIO(data[: len(data) // 2]))
