"""Spot pages and the spot and answers fields of the upload and camera pages."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from diagnosis.models import Diagnosis
from diagnosis.tests.pages import inline_code, make, upload_file
from spots import services
from spots.models import Answers, Spot
from spots.views import SPOT_PREVIEW_PHOTOS

pytestmark = pytest.mark.django_db


@pytest.fixture
def spot(person: Any) -> Spot:
    return services.create_spot(user=person, name="mole on left shoulder", region="back")


# --- owner only ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["index", "create"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client: Client, name: str) -> None:
    response = client.get(reverse(f"spots:{name}"))
    assert response.status_code == 302
    assert "/login" in response.url


@pytest.mark.parametrize("name", ["detail", "delete"])
def test_another_persons_spot_is_a_404(
    client: Client, user_factory: Any, spot: Spot, name: str
) -> None:
    client.force_login(user_factory())
    assert client.get(reverse(f"spots:{name}", args=[spot.public_id])).status_code == 404
    assert client.post(reverse("spots:delete", args=[spot.public_id])).status_code == 404
    assert Spot.objects.filter(pk=spot.pk).exists()


def test_another_persons_spot_cannot_be_picked_at_upload(
    client: Client, user_factory: Any, spot: Spot, active_model: Any, enqueued: list[int]
) -> None:
    client.force_login(user_factory())
    response = client.post(
        reverse("diagnosis:upload"), {"image": upload_file(), "spot": str(spot.public_id)}
    )
    assert response.status_code == 200
    assert Diagnosis.objects.count() == 0
    assert "Choose one of your spots from the list." in response.content.decode()


def test_the_spot_list_shows_only_my_spots_and_the_body_map(
    browser: Client, user_factory: Any, spot: Spot
) -> None:
    services.create_spot(user=user_factory(), name="their secret spot", region="feet")
    html = browser.get(reverse("spots:index")).content.decode()
    assert "mole on left shoulder" in html
    assert "their secret spot" not in html
    # Every region is a link on the map (front and back) and in the list beside it.
    for key in Spot.Region.values:
        assert f'data-region-link="{key}"' in html
        assert f'data-region="{key}"' in html
    assert 'aria-label="Left arm"' in html
    assert inline_code(html) == []


# --- creating spots and bad input ---------------------------------------------------------------


def test_a_body_map_link_preselects_the_region_and_the_form_creates_the_spot(
    browser: Client, person: Any
) -> None:
    html = browser.get(reverse("spots:create") + "?region=left_leg").content.decode()
    assert '<option value="left_leg" selected>' in html
    assert "spots/bodymap.js" in html and inline_code(html) == []
    response = browser.post(reverse("spots:create"), {"name": "scar", "region": "left_leg"})
    spot = Spot.objects.get()
    assert (spot.owner, spot.name, spot.region) == (person, "scar", "left_leg")
    assert response.url == reverse("spots:detail", args=[spot.public_id])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "x" * 81, "region": "back"},
            "Keep the name to 80 characters or fewer (it has 81)",
        ),
        ({"name": "mole", "region": "tail"}, "Choose a place on the body from the list."),
        ({"name": "", "region": "back"}, "Give the spot a name."),
        ({"name": "mole"}, "Choose where the spot is on the body."),
    ],
)
def test_bad_spot_input_is_a_clear_form_error(
    browser: Client, data: dict[str, str], message: str
) -> None:
    response = browser.post(reverse("spots:create"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Spot.objects.count() == 0


def test_markup_in_a_spot_name_is_shown_as_text(browser: Client, person: Any) -> None:
    name = '<script>alert("x")</script><b>mole</b>'
    spot = services.create_spot(user=person, name=name, region="chest")
    for url in (reverse("spots:index"), reverse("spots:detail", args=[spot.public_id])):
        html = browser.get(url).content.decode()
        assert "<b>mole</b>" not in html and "<script>alert" not in html
        assert "&lt;b&gt;mole&lt;/b&gt;" in html


# --- the upload and camera pages ----------------------------------------------------------------


def test_uploading_with_a_new_spot_and_answers_files_the_photo(
    browser: Client, person: Any, active_model: Any, enqueued: list[int]
) -> None:
    response = browser.post(
        reverse("diagnosis:upload"),
        {
            "image": upload_file(),
            "spot_name": "mole on chest",
            "spot_region": "chest",
            "pigmented": "yes",
            "is_new": "on",
            "hurts": "on",
        },
    )
    diagnosis = Diagnosis.objects.get()
    assert response.url == reverse("diagnosis:detail", args=[diagnosis.public_id])
    assert diagnosis.spot is not None
    assert (diagnosis.spot.name, diagnosis.spot.region) == ("mole on chest", "chest")
    answers = Answers.objects.get(diagnosis=diagnosis)
    assert (answers.pigmented, answers.is_new, answers.hurts, answers.grew) == (
        "yes",
        True,
        True,
        False,
    )


def test_the_camera_page_takes_an_existing_spot(
    browser: Client, spot: Spot, active_model: Any, enqueued: list[int]
) -> None:
    html = browser.get(reverse("diagnosis:camera")).content.decode()
    assert "mole on left shoulder" in html and "data-body-map" in html
    browser.post(reverse("diagnosis:camera"), {"image": upload_file(), "spot": spot.public_id})
    assert Diagnosis.objects.get().spot == spot


def test_skipping_the_spot_and_the_questions_is_fine(
    browser: Client, active_model: Any, enqueued: list[int]
) -> None:
    response = browser.post(reverse("diagnosis:upload"), {"image": upload_file()})
    assert response.status_code == 302
    assert Diagnosis.objects.get().spot is None
    assert not Answers.objects.exists() and not Spot.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"spot_name": "mole", "spot_region": "tail"}, "Choose a place on the body from the list."),
        ({"spot_name": "mole"}, "Choose where the spot is on the body."),
        ({"spot_name": "m" * 81, "spot_region": "back"}, "80 characters or fewer"),
    ],
)
def test_a_bad_new_spot_at_upload_is_a_form_error_and_nothing_is_saved(
    browser: Client, active_model: Any, enqueued: list[int], data: dict[str, str], message: str
) -> None:
    response = browser.post(reverse("diagnosis:upload"), {"image": upload_file(), **data})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Diagnosis.objects.exists() and not Spot.objects.exists()


def test_a_spot_and_a_new_name_together_are_refused(
    browser: Client, spot: Spot, active_model: Any, enqueued: list[int]
) -> None:
    data = {"image": upload_file(), "spot": spot.public_id, "spot_name": "x", "spot_region": "back"}
    response = browser.post(reverse("diagnosis:upload"), data)
    assert "not both" in response.content.decode()
    assert Spot.objects.count() == 1 and not Diagnosis.objects.exists()


def test_the_spot_pages_new_photo_link_preselects_the_spot(
    browser: Client, spot: Spot, active_model: Any
) -> None:
    html = browser.get(reverse("diagnosis:upload") + f"?spot={spot.public_id}").content.decode()
    assert f'<option value="{spot.public_id}" selected>' in html


def test_a_double_click_with_a_new_spot_makes_one_spot(
    browser: Client, active_model: Any, enqueued: list[int]
) -> None:
    token = str(uuid.uuid4())
    photo = upload_file().read()
    for _ in range(2):
        data = {
            "image": upload_file(photo),
            "token": token,
            "spot_name": "a",
            "spot_region": "feet",
        }
        browser.post(reverse("diagnosis:upload"), data)
    assert Diagnosis.objects.count() == 1 and Spot.objects.count() == 1


# --- the spot page, history and the result --------------------------------------------------------


def test_the_spot_page_lists_its_photos_oldest_first_with_results_and_answers(
    browser: Client, person: Any, spot: Spot, catalogue: Any, active_model: Any, enqueued: list[int]
) -> None:
    first = make(person, spot=spot)
    Answers.objects.create(diagnosis=first, pigmented="yes", grew=True)
    second = make(person, spot=spot)
    elsewhere = make(person)
    html = browser.get(reverse("spots:detail", args=[spot.public_id])).content.decode()
    assert html.index(str(first.public_id)) < html.index(str(second.public_id))
    assert str(elsewhere.public_id) not in html
    assert "Moles (melanocytic naevi)" in html
    assert "You noticed:" in html and "Has grown" in html
    assert "has changed in size, shape or colour" in html  # the warning sign
    assert f"?spot={spot.public_id}" in html  # a new photo of this spot


def test_history_filters_by_spot(
    browser: Client, person: Any, spot: Spot, active_model: Any, enqueued: list[int]
) -> None:
    mine = make(person, spot=spot)
    other = make(person)
    html = browser.get(reverse("diagnosis:history"), {"spot": spot.public_id}).content.decode()
    assert str(mine.public_id) in html and str(other.public_id) not in html
    everything = browser.get(reverse("diagnosis:history")).content.decode()
    assert str(mine.public_id) in everything and str(other.public_id) in everything


def test_the_spot_list_groups_my_checks_by_spot(
    browser: Client,
    person: Any,
    spot: Spot,
    user_factory: Any,
    catalogue: Any,
    active_model: Any,
    enqueued: list[int],
) -> None:
    other_spot = services.create_spot(user=person, name="scar on knee", region="left_leg")
    shoulder = [make(person, spot=spot) for _ in range(SPOT_PREVIEW_PHOTOS + 1)]
    knee = make(person, spot=other_spot)
    loose = [make(person), make(person)]
    stranger = make(user_factory())
    html = browser.get(reverse("spots:index")).content.decode()

    def photos_under(group: Spot) -> set[str]:
        start = html.index(f'data-spot="{group.public_id}"')
        end = html.find("data-spot=", start + 1)
        block = html[start : end if end != -1 else len(html)]
        return {d.public_id.hex for d in Diagnosis.objects.all() if str(d.public_id) in block}

    # The newest few of each spot, under that spot only; the spot page has them all.
    assert photos_under(spot) == {d.public_id.hex for d in shoulder[1:]}
    assert photos_under(other_spot) == {knee.public_id.hex}
    assert "Moles (melanocytic naevi)" in html  # each photo's result
    assert not any(str(d.public_id) in html for d in loose)
    assert "2 checks belong to no spot" in html
    assert str(stranger.public_id) not in html


def test_history_ignores_someone_elses_spot(
    client: Client, user_factory: Any, spot: Spot, active_model: Any, enqueued: list[int]
) -> None:
    me = user_factory()
    client.force_login(me)
    mine = make(me)
    html = client.get(reverse("diagnosis:history"), {"spot": spot.public_id}).content.decode()
    assert str(mine.public_id) in html
    assert "mole on left shoulder" not in html


def test_a_warning_sign_leads_the_result_even_for_a_refused_photo(
    browser: Client, person: Any, active_model: Any, enqueued: list[int]
) -> None:
    diagnosis = make(person, outcome=Diagnosis.Outcome.NOT_SKIN, predictions=[], red_flag="")
    Answers.objects.create(diagnosis=diagnosis, bleeds=True)
    html = browser.get(reverse("diagnosis:detail", args=[diagnosis.public_id])).content.decode()
    assert "data-warning-signs" in html
    assert html.index("data-warning-signs") < html.index('data-outcome="not_skin"')
    assert "bleeds without being injured" in html


def test_the_red_flag_stays_above_the_warning_signs(
    browser: Client, person: Any, catalogue: Any, active_model: Any, enqueued: list[int]
) -> None:
    top3 = [
        {"key": "melanoma", "probability": 0.6},
        {"key": "melanocytic_nevi", "probability": 0.3},
    ]
    diagnosis = make(person, predictions=top3, red_flag="melanoma")
    Answers.objects.create(diagnosis=diagnosis, pigmented="yes", is_new=True)
    html = browser.get(reverse("diagnosis:detail", args=[diagnosis.public_id])).content.decode()
    assert html.count("data-warning-signs") == 1
    assert html.index("data-urgent") < html.index("data-warning-signs")


def test_no_answers_no_warning(
    browser: Client, person: Any, active_model: Any, enqueued: list[int]
) -> None:
    diagnosis = make(person)
    Answers.objects.create(diagnosis=diagnosis, pigmented="no", hurts=True)
    html = browser.get(reverse("diagnosis:detail", args=[diagnosis.public_id])).content.decode()
    assert "data-warning-signs" not in html


# --- deleting a spot ----------------------------------------------------------------------------


def test_deleting_a_spot_asks_about_its_photos(
    browser: Client, person: Any, spot: Spot, active_model: Any, enqueued: list[int]
) -> None:
    diagnosis = make(person, spot=spot)
    url = reverse("spots:delete", args=[spot.public_id])
    html = browser.get(url).content.decode()
    assert 'value="keep"' in html and 'value="delete"' in html
    assert browser.post(url).status_code == 400  # no choice made: asked again
    assert Spot.objects.exists()
    response = browser.post(url, {"photos": "keep"})
    assert response.url == reverse("spots:index")
    assert not Spot.objects.exists()
    diagnosis.refresh_from_db()
    assert diagnosis.spot is None


def test_deleting_a_spot_with_its_photos(
    browser: Client, person: Any, spot: Spot, active_model: Any, enqueued: list[int]
) -> None:
    make(person, spot=spot)
    browser.post(reverse("spots:delete", args=[spot.public_id]), {"photos": "delete"})
    assert not Spot.objects.exists() and not Diagnosis.objects.exists()


# --- Arabic -------------------------------------------------------------------------------------


def test_the_spot_pages_and_the_upload_questions_speak_arabic(
    browser: Client, spot: Spot, active_model: Any
) -> None:
    browser.cookies["django_language"] = "ar"
    index = browser.get(reverse("spots:index"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'dir="rtl"' in index
    assert "بقعي" in index and "الذراع اليسرى" in index and "من الأمام" in index
    upload = browser.get(reverse("diagnosis:upload"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert "ماذا لاحظت؟" in upload and "تنزف دون أن تُجرح" in upload
    response = browser.post(
        reverse("spots:create"), {"name": "x", "region": "tail"}, HTTP_ACCEPT_LANGUAGE="ar"
    )
    assert "اختر مكانًا على الجسم من القائمة." in response.content.decode()


def test_a_bad_new_spot_from_the_live_camera_is_in_the_error_box_it_shows(
    browser: Client, active_model: Any, enqueued: list[int]
) -> None:
    # camera.js copies only #upload-errors out of a refused send's page.
    response = browser.post(
        reverse("diagnosis:camera"),
        {"image": upload_file(), "spot_name": "mole", "spot_region": "tail"},
    )
    html = response.content.decode()
    box = html[html.index('id="upload-errors"') :]
    box = box[: box.index("</div>")]
    assert "Choose a place on the body from the list." in box
    assert not Diagnosis.objects.exists()
