"""What people see and may do: access, upload, camera, the result page and its status."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from diagnosis.models import Diagnosis
from diagnosis.tests import images
from diagnosis.tests.pages import TOP3, inline_code, make, upload_file

pytestmark = pytest.mark.django_db

Status = Diagnosis.Status


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["upload", "camera", "history", "delete_all"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client: Client, name: str) -> None:
    response = client.get(reverse(f"diagnosis:{name}"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("name", ["detail", "status", "image", "thumbnail"])
def test_an_anonymous_visitor_never_sees_a_diagnosis(
    client: Client, name: str, person: Any, active_model: Any, enqueued: list[int]
) -> None:
    diagnosis = make(person)
    response = client.get(reverse(f"diagnosis:{name}", args=[diagnosis.public_id]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("name", ["detail", "status", "image", "thumbnail"])
def test_another_persons_diagnosis_is_a_404(
    browser: Client, name: str, user_factory: Any, active_model: Any, enqueued: list[int]
) -> None:
    theirs = make(user_factory())
    response = browser.get(reverse(f"diagnosis:{name}", args=[theirs.public_id]))
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["delete", "retry"])
def test_another_person_cannot_delete_or_retry_my_diagnosis(
    browser: Client, name: str, user_factory: Any, active_model: Any, enqueued: list[int]
) -> None:
    theirs = make(user_factory(), status=Status.FAILED)
    response = browser.post(reverse(f"diagnosis:{name}", args=[theirs.public_id]))
    assert response.status_code == 404
    assert Diagnosis.objects.get(pk=theirs.pk).status == Status.FAILED


# --- upload and camera ------------------------------------------------------------------------


def test_the_upload_page_offers_a_file_picker_a_hint_and_a_token(
    browser: Client, active_model: Any
) -> None:
    response = browser.get(reverse("diagnosis:upload"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'type="file"' in html and 'accept="image/jpeg' in html and ".heic" in html
    assert "10 MB" in html and "HEIC" in html
    assert re.search(r'name="token" value="[0-9a-f-]{36}"', html)
    assert "diagnosis/upload.js" in html
    assert inline_code(html) == []


def test_the_camera_page_has_a_live_preview_and_a_file_input_fallback(
    browser: Client, active_model: Any
) -> None:
    html = browser.get(reverse("diagnosis:camera")).content.decode()
    assert "<video" in html and "playsinline" in html
    assert 'capture="environment"' in html and 'accept="image/*"' in html
    assert "Allow camera access" in html  # the permission-denied message, shown by the script
    assert "Switch camera" in html and "Retake" in html
    assert "diagnosis/camera.js" in html
    assert inline_code(html) == []


def test_uploading_a_photo_creates_a_queued_diagnosis_and_opens_its_page(
    browser: Client,
    person: Any,
    active_model: Any,
    enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("diagnosis:upload"), {"image": upload_file()})

    diagnosis = Diagnosis.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("diagnosis:detail", args=[diagnosis.public_id])
    assert diagnosis.owner == person
    assert diagnosis.status == Status.QUEUED
    assert enqueued == [diagnosis.pk]


def test_the_camera_page_posts_through_the_same_validator(
    browser: Client, active_model: Any, enqueued: list[int]
) -> None:
    response = browser.post(
        reverse("diagnosis:camera"), {"image": upload_file(b"<html>no</html>", "camera.jpg")}
    )
    assert response.status_code == 200
    assert "not a photo we can read" in response.content.decode()
    assert Diagnosis.objects.count() == 0


def test_an_empty_form_says_to_choose_a_photo(
    browser: Client, active_model: Any, enqueued: list[int]
) -> None:
    response = browser.post(reverse("diagnosis:upload"), {})
    assert response.status_code == 200
    assert "Choose a photo first." in response.content.decode()
    assert Diagnosis.objects.count() == 0


def test_a_pdf_renamed_to_jpg_is_refused_with_a_reason(
    browser: Client, active_model: Any, enqueued: list[int]
) -> None:
    pdf = upload_file(b"%PDF-1.7\n%%EOF\n", "scan.jpg")
    response = browser.post(reverse("diagnosis:upload"), {"image": pdf})
    assert "not a photo we can read" in response.content.decode()
    assert Diagnosis.objects.count() == 0


def test_a_double_click_makes_one_diagnosis(
    browser: Client,
    active_model: Any,
    enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    token = str(uuid.uuid4())
    photo = images.jpeg()
    with django_capture_on_commit_callbacks(execute=True):
        first, second = (
            browser.post(reverse("diagnosis:upload"), {"image": upload_file(photo), "token": token})
            for _ in range(2)
        )

    assert Diagnosis.objects.count() == 1
    assert first.url == second.url
    assert len(enqueued) == 1


def test_without_an_active_model_the_pages_say_not_ready_and_nothing_is_queued(
    client: Client, user_factory: Any, enqueued: list[int]
) -> None:
    client.force_login(user_factory())
    for name in ("upload", "camera"):
        response = client.get(reverse(f"diagnosis:{name}"))
        html = response.content.decode()
        assert response.status_code == 503
        assert "not ready" in html
        assert "ensure_default_model" not in html  # the command is for staff only

    response = client.post(reverse("diagnosis:upload"), {"image": upload_file()})
    assert response.status_code == 503
    assert Diagnosis.objects.count() == 0
    assert enqueued == []


def test_staff_are_told_which_command_makes_the_service_ready(
    client: Client, user_factory: Any
) -> None:
    client.force_login(user_factory(is_staff=True))
    html = client.get(reverse("diagnosis:upload")).content.decode()
    assert "make run" in html and "manage.py ensure_default_model" in html


# --- result page and status -------------------------------------------------------------------


def test_the_result_shows_the_photo_the_top3_advice_and_the_model_version(
    browser: Client,
    person: Any,
    catalogue: dict[str, Any],
    active_model: Any,
    enqueued: list[int],
    settings: Any,
) -> None:
    settings.DIAGNOSIS_URGENT_THRESHOLD = 0.5  # melanoma at 18% is below it
    diagnosis = make(person)
    html = browser.get(reverse("diagnosis:detail", args=[diagnosis.public_id])).content.decode()

    nevus = catalogue["melanocytic_nevi"]
    assert reverse("diagnosis:image", args=[diagnosis.public_id]) in html
    assert f'<a href="{nevus.url}">{nevus.name("en")}</a>' in html
    assert "71%" in html and "moderate confidence" in html
    assert html.count('<progress class="diagnosis-bar"') == 3
    assert 'value="71"' in html and 'value="18"' in html and 'value="6"' in html
    assert nevus.summary("en")[:40] in html
    assert "This is not a diagnosis" in html
    assert "tiny-test-1" in html
    assert "See a dermatologist soon" not in html
    assert inline_code(html) == []


def test_melanoma_in_the_top3_above_the_threshold_asks_to_see_a_dermatologist(
    browser: Client,
    person: Any,
    catalogue: dict[str, Any],
    active_model: Any,
    enqueued: list[int],
    settings: Any,
) -> None:
    settings.DIAGNOSIS_URGENT_THRESHOLD = 0.15
    diagnosis = make(person)
    html = browser.get(reverse("diagnosis:detail", args=[diagnosis.public_id])).content.decode()
    melanoma = catalogue["melanoma"]
    # One message, leading the page: the worrying condition and the catalogue's own timeframe.
    assert 'data-urgent-class="melanoma"' in html
    assert "See a doctor within days, not weeks" in html
    assert f"resemblance to {melanoma.name('en')} (\u2066" in html and "18%" in html
    assert html.index("data-urgent") < html.index("The three most likely conditions")
    assert "Your photo looks most like" not in html
    assert "within a few weeks" not in html


def test_the_red_flag_timeframe_is_the_disease_pages_own(
    browser: Client, person: Any, catalogue: dict[str, Any], active_model: Any, enqueued: list[int]
) -> None:
    flagged = [{"key": "basal_cell_carcinoma", "probability": 0.4}, *TOP3[:2]]
    diagnosis = make(person, predictions=flagged, top_class="basal_cell_carcinoma")
    result = browser.get(reverse("diagnosis:detail", args=[diagnosis.public_id])).content.decode()
    page = browser.get(catalogue["basal_cell_carcinoma"].url).content.decode()
    assert "See a doctor within a few weeks" in result
    assert "a doctor within a few weeks." in page


def test_the_result_is_in_arabic_for_an_arabic_reader(
    browser: Client,
    person: Any,
    catalogue: dict[str, Any],
    active_model: Any,
    enqueued: list[int],
) -> None:
    diagnosis = make(person)
    browser.cookies["django_language"] = "ar"
    html = browser.get(
        reverse("diagnosis:detail", args=[diagnosis.public_id]), HTTP_ACCEPT_LANGUAGE="ar"
    ).content.decode()
    assert 'dir="rtl"' in html
    assert catalogue["melanocytic_nevi"].name("ar") in html
    assert "This is not a diagnosis" not in html  # translated


def test_a_queued_result_page_polls_the_status_endpoint(
    browser: Client, person: Any, active_model: Any, enqueued: list[int]
) -> None:
    diagnosis = make(person, status=Status.QUEUED)
    html = browser.get(reverse("diagnosis:detail", args=[diagnosis.public_id])).content.decode()
    assert f'data-status-url="{reverse("diagnosis:status", args=[diagnosis.public_id])}"' in html
    assert 'data-finished="false"' in html
    assert "waiting in line" in html
    assert "diagnosis/status.js" in html


def test_a_diagnosis_the_broker_never_got_says_it_is_saved_and_waiting(
    browser: Client, person: Any, active_model: Any, enqueued: list[int]
) -> None:
    diagnosis = make(person, status=Status.QUEUED, enqueued_at=None)
    html = browser.get(reverse("diagnosis:detail", args=[diagnosis.public_id])).content.decode()
    assert "Your photo is saved and will be checked as soon as it is back" in html


def test_the_status_endpoint_returns_the_state_and_the_result_panel(
    browser: Client,
    person: Any,
    catalogue: dict[str, Any],
    active_model: Any,
    enqueued: list[int],
) -> None:
    diagnosis = make(person, status=Status.RUNNING)
    url = reverse("diagnosis:status", args=[diagnosis.public_id])
    running = browser.get(url).json()
    assert running["status"] == "running" and running["finished"] is False
    assert "looking at your photo" in running["html"]

    Diagnosis.objects.filter(pk=diagnosis.pk).update(
        status=Status.SUCCEEDED, predictions=TOP3, top_class=TOP3[0]["key"]
    )
    done = browser.get(url)
    assert done["Cache-Control"].startswith("max-age=0")
    body = done.json()
    assert body["status"] == "succeeded" and body["finished"] is True
    assert catalogue["melanocytic_nevi"].name("en") in body["html"]


def test_a_failed_result_says_why_and_offers_to_try_again(
    browser: Client,
    person: Any,
    active_model: Any,
    enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    diagnosis = make(
        person,
        status=Status.FAILED,
        failure_code=Diagnosis.FailureCode.MODEL_UNUSABLE,
        failure_detail="secret path /srv/models",
    )
    url = reverse("diagnosis:detail", args=[diagnosis.public_id])
    html = browser.get(url).content.decode()
    assert "could not be loaded" in html
    assert "/srv/models" not in html  # staff detail never reaches the page
    assert reverse("diagnosis:retry", args=[diagnosis.public_id]) in html

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("diagnosis:retry", args=[diagnosis.public_id]))
    assert response.url == url
    assert Diagnosis.objects.get(pk=diagnosis.pk).status == Status.QUEUED
    assert enqueued[-1] == diagnosis.pk


def test_a_photo_over_the_size_limit_is_refused_with_the_limit_in_the_message(
    browser: Client, active_model: Any, enqueued: list[int], settings: Any
) -> None:
    settings.DIAGNOSIS_MAX_UPLOAD_BYTES = 1024 * 1024
    big = images.jpeg((320, 240)) + b"\x00" * (1024 * 1024)
    response = browser.post(reverse("diagnosis:upload"), {"image": upload_file(big)})
    assert "at most 1 MB" in response.content.decode()
    assert Diagnosis.objects.count() == 0
