"""Curation in the admin: who may edit, what a curator's edit changes, validation, actions."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from diseases.models import Disease, DiseaseImage
from diseases.tests.conftest import image_bytes
from diseases.tests.helpers import admin_form_data

pytestmark = pytest.mark.django_db


def change_url(disease: Disease) -> str:
    return reverse("admin:diseases_disease_change", args=[disease.pk])


def test_the_curators_group_can_edit_the_catalogue_and_nothing_else() -> None:
    codenames = set(
        Group.objects.get(name="Curators").permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    expected = {
        ("diseases", f"{action}_{model}")
        for model in ("disease", "diseasereference", "diseaseimage")
        for action in ("add", "change", "delete", "view")
    }
    assert codenames == expected


def test_a_curator_edits_the_arabic_overview_and_the_arabic_page_shows_it(
    client: Any, catalogue: dict, curator: Any, settings: Any
) -> None:
    disease = catalogue["melanoma"]
    client.force_login(curator)
    page = client.get(change_url(disease))
    assert page.status_code == 200
    data = admin_form_data(page)
    data["overview_ar"] = "نظرة عامة كتبها المحرر للتو.\n- نقطة أولى"

    response = client.post(change_url(disease), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    disease.refresh_from_db()
    assert disease.overview_ar.startswith("نظرة عامة كتبها المحرر")
    assert disease.overview_en == catalogue["melanoma"].overview_en
    client.logout()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    html = client.get(disease.get_absolute_url()).content.decode()
    assert "<p>نظرة عامة كتبها المحرر للتو.</p><ul><li>نقطة أولى</li></ul>" in html


def test_staff_without_the_permission_get_403_on_the_change_form(
    client: Any, catalogue: dict, staff_without_permission: Any
) -> None:
    client.force_login(staff_without_permission)
    disease = catalogue["melanoma"]
    assert client.get(change_url(disease)).status_code == 403
    response = client.post(change_url(disease), {"name_en": "Changed"})
    assert response.status_code == 403
    disease.refresh_from_db()
    assert disease.name_en == "Melanoma"


def test_an_arabic_name_without_the_english_one_is_refused_naming_the_field(
    client: Any, catalogue: dict, curator: Any
) -> None:
    disease = catalogue["eczema"]
    client.force_login(curator)
    data = admin_form_data(client.get(change_url(disease)))
    data["name_en"] = ""
    data["name_ar"] = "اسم عربي فقط"

    response = client.post(change_url(disease), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Name [en] is required because name [ar] is filled in." in errors["name_en"]
    assert "Name [en] is required because name [ar] is filled in." in response.content.decode()
    disease.refresh_from_db()
    assert disease.name_en == "Eczema (dermatitis)"


def test_the_change_form_has_language_tabs_without_outside_scripts(
    client: Any, catalogue: dict, curator: Any
) -> None:
    client.force_login(curator)
    html = client.get(change_url(catalogue["eczema"])).content.decode()
    assert "diseases/vendor/jquery-ui/jquery-ui-tabs.js" in html
    assert "modeltranslation/js/tabbed_translation_fields.js" in html
    assert "googleapis" not in html
    assert 'name="overview_ar"' in html and 'name="overview_en"' in html
    assert 'name="class_key"' not in html  # fixed once the disease exists
    assert "View on site" in html


def test_list_filters_search_and_class_order(client: Any, catalogue: dict, curator: Any) -> None:
    client.force_login(curator)
    url = reverse("admin:diseases_disease_changelist")
    response = client.get(url)
    names = [d.class_key for d in response.context["cl"].result_list]
    assert names == list(catalogue)  # catalogue fixture keys come in class order
    response = client.get(url, {"category__exact": "malignant"})
    assert {d.class_key for d in response.context["cl"].result_list} == {
        "melanoma",
        "basal_cell_carcinoma",
    }
    response = client.get(url, {"q": "الصدفية"})
    assert [d.class_key for d in response.context["cl"].result_list] == ["psoriasis_lichen_planus"]


def test_publish_and_unpublish_actions(client: Any, catalogue: dict, curator: Any) -> None:
    client.force_login(curator)
    url = reverse("admin:diseases_disease_changelist")
    pks = [catalogue["eczema"].pk, catalogue["melanoma"].pk]

    client.post(url, {"action": "unpublish", "_selected_action": pks})
    assert client.get(catalogue["eczema"].get_absolute_url()).status_code == 200  # curator
    client.logout()
    assert client.get(catalogue["eczema"].get_absolute_url()).status_code == 404
    assert not Disease.objects.filter(pk__in=pks, published=True).exists()

    client.force_login(curator)
    client.post(url, {"action": "publish", "_selected_action": pks})
    assert Disease.objects.filter(pk__in=pks, published=True).count() == 2


def _image_form(client: Any, disease: Disease, content: bytes, name: str) -> Any:
    data = admin_form_data(client.get(change_url(disease)))
    data.update(
        {
            "images-TOTAL_FORMS": "1",
            "images-0-alt_text_en": "A red, scaly patch on an arm",
            "images-0-alt_text_ar": "بقعة حمراء متقشرة على الذراع",
            "images-0-credit": "DermNet",
            "images-0-licence": "CC BY-NC-ND 3.0 NZ",
            "images-0-position": "0",
            "images-0-image": SimpleUploadedFile(name, content, content_type="image/jpeg"),
        }
    )
    return client.post(change_url(disease), data)


def test_a_valid_image_is_stored_and_previewed(client: Any, catalogue: dict, curator: Any) -> None:
    client.force_login(curator)
    disease = catalogue["eczema"]

    response = _image_form(client, disease, image_bytes("PNG", (320, 240)), "patch.jpg")

    assert response.status_code == 302
    image = DiseaseImage.objects.get(disease=disease)
    assert image.image.name.endswith(".png")  # named after the decoded type
    assert (image.width, image.height) == (320, 240)
    html = client.get(change_url(disease)).content.decode()
    assert f'class="disease-admin-preview" src="/diseases/images/{image.pk}/"' in html


def test_an_image_upload_that_is_not_an_image_is_refused(
    client: Any, catalogue: dict, curator: Any
) -> None:
    client.force_login(curator)
    response = _image_form(client, catalogue["eczema"], b"%PDF-1.7 not an image", "fake.jpg")
    assert response.status_code == 200
    assert not DiseaseImage.objects.exists()


def test_an_image_with_too_many_pixels_is_refused(
    client: Any, catalogue: dict, curator: Any, settings: Any
) -> None:
    settings.DIAGNOSIS_MAX_PIXELS = 50_000
    client.force_login(curator)
    response = _image_form(client, catalogue["eczema"], image_bytes("PNG", (400, 400)), "big.png")
    assert response.status_code == 200
    assert "pixels" in response.content.decode()
    assert not DiseaseImage.objects.exists()


def _photo_with_gps_and_rotation() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored sideways: turn 90 degrees clockwise to view
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (51.0, 30.0, 0.0),
    }
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), "#c08060").save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def test_a_stored_image_loses_its_camera_metadata_and_is_turned_upright(
    client: Any, catalogue: dict, curator: Any
) -> None:
    client.force_login(curator)
    original = _photo_with_gps_and_rotation()
    assert Image.open(io.BytesIO(original)).getexif().get(ExifTags.Base.Make) == "PhoneMaker"

    response = _image_form(client, catalogue["eczema"], original, "holiday.jpg")

    assert response.status_code == 302
    image = DiseaseImage.objects.get()
    with image.image.open("rb") as handle:
        stored = Image.open(io.BytesIO(handle.read()))
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info and "xmp" not in stored.info
    assert stored.size == (300, 400) == (image.width, image.height)


def test_a_png_stays_a_png_without_its_text_chunks(
    client: Any, catalogue: dict, curator: Any
) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Dr Example, 12 Private Road")
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "#3050a0").save(buffer, "PNG", pnginfo=info)
    client.force_login(curator)

    _image_form(client, catalogue["eczema"], buffer.getvalue(), "diagram.png")

    image = DiseaseImage.objects.get()
    assert image.image.name.endswith(".png")
    with image.image.open("rb") as handle:
        stored = Image.open(io.BytesIO(handle.read()))
    assert stored.format == "PNG" and "Author" not in stored.info
    assert stored.getpixel((5, 5)) == (0x30, 0x50, 0xA0)  # lossless
