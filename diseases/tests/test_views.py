"""Public pages: list, detail, drafts, unknown addresses, both languages."""

from __future__ import annotations

import html as html_lib
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from diseases.models import Disease, DiseaseImage
from diseases.tests.conftest import image_bytes

pytestmark = pytest.mark.django_db

LIST_URL = "/diseases/"


def get(client: Any, url: str, language: str = "en", **params: Any) -> Any:
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE=language)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_list_page_query_count_is_pinned(
    client: Any, catalogue: dict, django_assert_num_queries: Any, language: str
) -> None:
    with django_assert_num_queries(1):
        response = get(client, LIST_URL, language)
    assert response.status_code == 200
    assert len(response.context["diseases"]) == 10


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_detail_page_query_count_is_pinned(
    client: Any, catalogue: dict, django_assert_num_queries: Any, language: str
) -> None:
    # The disease, its images, its references, the related diseases.
    with django_assert_num_queries(4):
        response = get(client, "/diseases/psoriasis-lichen-planus/", language)
    assert response.status_code == 200


def test_the_list_shows_every_disease_with_its_badges(client: Any, catalogue: dict) -> None:
    html = get(client, LIST_URL).content.decode()
    assert reverse("diseases:list") == LIST_URL
    for disease in catalogue.values():
        assert f'href="/diseases/{disease.slug}/"' in html
        assert html_lib.escape(disease.name_en) in html
    assert '<span class="badge text-bg-danger">Malignant</span>' in html
    assert '<span class="badge text-bg-danger">Urgent</span>' in html
    assert '<span class="badge text-bg-warning">See a doctor soon</span>' in html


def test_the_arabic_list_is_right_to_left_and_in_arabic(client: Any, catalogue: dict) -> None:
    html = get(client, LIST_URL, "ar").content.decode()
    assert 'dir="rtl"' in html
    assert catalogue["melanoma"].name_ar in html
    assert "خبيث" in html  # the "malignant" badge


def test_search_finds_english_and_arabic_words(client: Any, catalogue: dict) -> None:
    found = get(client, LIST_URL, q="ringworm").context["diseases"]
    assert [d.class_key for d in found] == ["fungal_infections"]
    found = get(client, LIST_URL, "ar", q="الشامات").context["diseases"]
    assert "melanocytic_nevi" in [d.class_key for d in found]
    response = get(client, LIST_URL, q="nothing-like-this")
    assert list(response.context["diseases"]) == []
    assert "No disease matches your search." in response.content.decode()


def test_filters_by_category_and_urgency(client: Any, catalogue: dict) -> None:
    found = get(client, LIST_URL, category="infectious").context["diseases"]
    assert [d.class_key for d in found] == ["fungal_infections", "viral_infections"]
    found = get(client, LIST_URL, urgency="urgent").context["diseases"]
    assert [d.class_key for d in found] == ["melanoma"]
    # An unknown value is ignored rather than hiding everything.
    assert len(get(client, LIST_URL, category="<script>").context["diseases"]) == 10


def test_the_detail_page_has_every_section_and_the_page_metadata(
    client: Any, catalogue: dict
) -> None:
    disease = catalogue["melanoma"]
    response = get(client, "/diseases/melanoma/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Melanoma · skinsite</title>" in html
    assert f'<meta name="description" content="{html_lib.escape(disease.summary_en)}">' in html
    assert '<link rel="canonical" href="http://testserver/diseases/melanoma/">' in html
    for name in Disease.SECTIONS:
        assert f'id="{name}"' in html
    assert "<li>Asymmetry: the two halves of the spot do not match</li>" in html
    assert html_lib.escape(disease.disclaimer_en) in html
    assert "https://www.nhs.uk/conditions/melanoma-skin-cancer/" in html
    assert "Do not wait" in html  # urgent call-out
    related = [d.class_key for d in response.context["related"]]
    assert related == ["basal_cell_carcinoma"]


def test_the_arabic_detail_page(client: Any, catalogue: dict, settings: Any) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    disease = catalogue["atopic_dermatitis"]
    html = client.get(disease.get_absolute_url()).content.decode()
    assert '<html lang="ar" dir="rtl"' in html
    assert f"<title>{disease.name_ar} · skinsite</title>" in html
    assert disease.overview_ar.splitlines()[0] in html
    assert "ما شكله" in html  # the "what it looks like" heading


def test_the_call_to_action_links_to_the_upload_page_when_it_exists(
    client: Any, catalogue: dict
) -> None:
    from diseases.views import check_photo_url

    response = get(client, "/diseases/eczema/")
    url = check_photo_url()
    assert response.context["check_photo_url"] == url
    if url:
        assert f'href="{url}"' in response.content.decode()


def test_an_unknown_slug_is_a_404_in_the_persons_language(client: Any, catalogue: dict) -> None:
    response = get(client, "/diseases/no-such-disease/", "ar")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'dir="rtl"' in html
    assert "لم يُعثر على صفحة المرض" in html
    response = get(client, "/diseases/no-such-disease/")
    assert "Disease page not found" in response.content.decode()


def test_an_unpublished_disease_is_hidden_from_the_public(
    client: Any, catalogue: dict, staff_without_permission: Any
) -> None:
    disease = catalogue["melanoma"]
    disease.published = False
    disease.save()

    assert get(client, disease.get_absolute_url()).status_code == 404
    listed = [d.class_key for d in get(client, LIST_URL).context["diseases"]]
    assert "melanoma" not in listed and len(listed) == 9
    related = get(client, "/diseases/basal-cell-carcinoma/").context["related"]
    assert list(related) == []
    client.force_login(staff_without_permission)
    assert get(client, disease.get_absolute_url()).status_code == 404


def test_a_curator_sees_a_draft_with_a_banner(client: Any, catalogue: dict, curator: Any) -> None:
    disease = catalogue["melanoma"]
    disease.published = False
    disease.save()
    client.force_login(curator)

    response = get(client, disease.get_absolute_url())
    assert response.status_code == 200
    assert "This page is not published." in response.content.decode()
    listed = [d.class_key for d in get(client, LIST_URL).context["diseases"]]
    assert "melanoma" in listed


def test_images_are_served_for_published_pages_only(
    client: Any, catalogue: dict, curator: Any
) -> None:
    disease = catalogue["eczema"]
    image = DiseaseImage(
        disease=disease, alt_text_en="A patch", credit="Author", licence="CC BY 4.0"
    )
    image.image.save("patch.png", ContentFile(image_bytes("PNG")), save=False)
    image.save()

    page = get(client, disease.get_absolute_url()).content.decode()
    assert f'src="/diseases/images/{image.pk}/" alt="A patch" width="320" height="240"' in page
    assert "Credit: Author · Licence: CC BY 4.0" in page
    response = client.get(image.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == image.image.open("rb").read()

    disease.published = False
    disease.save()
    assert client.get(image.get_absolute_url()).status_code == 404
    client.force_login(curator)
    response = client.get(image.get_absolute_url())
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
