"""Re-check reminders: opt-in, one e-mail per due date, signed links, stopping and snoozing."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from spots import reminders, services
from spots.models import Spot

pytestmark = pytest.mark.django_db


@pytest.fixture
def spot(person: Any) -> Spot:
    return services.create_spot(user=person, name="mole <b>on</b> back", region="back")


def links(body: str) -> tuple[str, str]:
    found = [line.strip() for line in body.splitlines() if line.strip().startswith("http")]
    upload, stop = found
    return upload, stop


def test_reminders_are_off_until_the_person_turns_them_on(spot: Spot) -> None:
    assert reminders.send_due_reminders(now=timezone.now() + timedelta(weeks=52)) == 0
    assert mail.outbox == []


def test_one_email_per_due_date_however_often_beat_runs(spot: Spot, settings: Any) -> None:
    settings.SITE_URL = "https://skin.example.org"
    start = timezone.now()
    reminders.set_reminder(spot=spot, weeks=4, now=start)
    assert reminders.send_due_reminders(now=start + timedelta(weeks=3)) == 0  # not due yet

    due = start + timedelta(weeks=4, hours=1)
    assert reminders.send_due_reminders(now=due) == 1
    # Beat again, a restarted worker, an hour later: the due date was claimed once.
    assert reminders.send_due_reminders(now=due) == 0
    assert reminders.send_due_reminders(now=due + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [spot.owner.email]
    assert "mole <b>on</b> back" in message.subject  # plain text: nothing to escape
    upload, stop = links(message.body)
    assert upload.startswith("https://skin.example.org/spots/reminder/")
    assert message.extra_headers["List-Unsubscribe"] == f"<{stop}>"
    spot.refresh_from_db()
    assert spot.next_reminder_at == due + timedelta(weeks=4)
    # The next due date sends the next one.
    assert reminders.send_due_reminders(now=due + timedelta(weeks=4)) == 1
    assert len(mail.outbox) == 2


def test_the_email_is_in_the_persons_language(user_factory: Any) -> None:
    owner = user_factory(preferred_language="ar")
    spot = services.create_spot(user=owner, name="شامة", region="chest")
    reminders.set_reminder(spot=spot, weeks=8, now=timezone.now() - timedelta(weeks=9))
    reminders.send_due_reminders()
    (message,) = mail.outbox
    assert "حان وقت" in message.subject and "الصدر" in message.body


def test_a_failed_send_is_logged_and_retried_never_lost(
    spot: Spot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    start = timezone.now()
    reminders.set_reminder(spot=spot, weeks=4, now=start)
    due = start + timedelta(weeks=5)

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with caplog.at_level(logging.ERROR, logger="spots.reminders"):
        assert reminders.send_due_reminders(now=due) == 0
    assert "could not be sent" in caplog.text
    spot.refresh_from_db()
    assert spot.next_reminder_at == start + timedelta(weeks=4)  # still due
    monkeypatch.undo()
    assert reminders.send_due_reminders(now=due + timedelta(hours=1)) == 1
    assert len(mail.outbox) == 1


def test_no_reminders_for_a_deactivated_or_deleted_account(spot: Spot) -> None:
    reminders.set_reminder(spot=spot, weeks=4, now=timezone.now() - timedelta(weeks=5))
    spot.owner.is_active = False
    spot.owner.save(update_fields=["is_active"])
    assert reminders.send_due_reminders() == 0
    spot.owner.delete()
    assert reminders.send_due_reminders() == 0 and mail.outbox == []


def test_the_task_sends_the_due_reminders(spot: Spot) -> None:
    from spots.tasks import send_due_reminders

    reminders.set_reminder(spot=spot, weeks=4, now=timezone.now() - timedelta(weeks=5))
    assert send_due_reminders.apply().get() == 1


# --- the links and the spot page ----------------------------------------------------------------


def test_the_upload_link_opens_the_upload_page_for_the_spot(
    browser: Client, spot: Spot, active_model: Any
) -> None:
    token = reminders.make_token(spot)
    response = browser.get(reverse("spots:reminder_open", args=[token]))
    assert response.url == reverse("diagnosis:upload") + f"?spot={spot.public_id}"
    html = browser.get(response.url).content.decode()
    assert f'<option value="{spot.public_id}" selected>' in html


def test_the_stop_link_needs_no_login_and_one_click(client: Client, spot: Spot) -> None:
    reminders.set_reminder(spot=spot, weeks=4)
    url = reverse("spots:reminder_stop", args=[reminders.make_token(spot)])
    page = client.get(url)  # a mail scanner opening the link stops nothing
    assert page.status_code == 200 and "Stop reminders" in page.content.decode()
    spot.refresh_from_db()
    assert spot.reminder_weeks == 4
    done = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert "data-reminders-stopped" in done.content.decode()
    spot.refresh_from_db()
    assert (spot.reminder_weeks, spot.next_reminder_at) == (0, None)


@pytest.mark.parametrize("kind", ["tampered", "expired", "other salt"])
def test_a_bad_link_gets_a_clear_page(
    client: Client, spot: Spot, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = reminders.make_token(spot)
    if kind == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif kind == "other salt":
        token = signing.dumps(str(spot.public_id), salt="something.else")
    else:
        monkeypatch.setattr(reminders, "LINK_MAX_AGE", timedelta(seconds=-1))
    for name in ("spots:reminder_open", "spots:reminder_stop"):
        response = client.get(reverse(name, args=[token]))
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()


def test_turning_reminders_on_snoozing_and_off_on_the_spot_page(
    browser: Client, spot: Spot
) -> None:
    url = reverse("spots:reminder", args=[spot.public_id])
    browser.post(url, {"weeks": "8"})
    spot.refresh_from_db()
    assert spot.reminder_weeks == 8
    first = spot.next_reminder_at
    assert first is not None
    html = browser.get(reverse("spots:detail", args=[spot.public_id])).content.decode()
    assert "data-next-reminder" in html and '<option value="8" selected>' in html
    browser.post(url, {"snooze": "1"})
    spot.refresh_from_db()
    assert spot.next_reminder_at == first + timedelta(weeks=1)
    browser.post(url, {"weeks": "5"})  # not an interval on offer
    spot.refresh_from_db()
    assert spot.reminder_weeks == 8
    browser.post(url, {"weeks": "0"})
    spot.refresh_from_db()
    assert (spot.reminder_weeks, spot.next_reminder_at) == (0, None)


def test_someone_elses_spot_reminder_is_a_404(
    client: Client, user_factory: Any, spot: Spot
) -> None:
    client.force_login(user_factory())
    response = client.post(reverse("spots:reminder", args=[spot.public_id]), {"weeks": "4"})
    assert response.status_code == 404
    spot.refresh_from_db()
    assert spot.reminder_weeks == 0
