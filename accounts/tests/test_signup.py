"""Sign-up with a 6-digit e-mail code, verification, login, and the ways it can go wrong."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse

PASSWORD = "a-long-unusual-passphrase-42"
CODE = re.compile(r"\b(\d{6})\b")


def sign_up(client: Any, email: str = "new.person@example.com", password: str = PASSWORD) -> Any:
    return client.post(
        reverse("account_signup"), {"email": email, "password1": password, "password2": password}
    )


def code_from(mail: Any) -> str:
    match = CODE.search(mail.body)
    assert match, f"no 6-digit code in the e-mail:\n{mail.body}"
    return match.group(1)


@pytest.mark.django_db
def test_sign_up_verify_by_code_then_log_in(client: Any, mailoutbox: list[Any]) -> None:
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.person@example.com"]
    code = code_from(mailoutbox[0])

    user = get_user_model().objects.get(email="new.person@example.com")
    assert not EmailAddress.objects.get(user=user).verified

    response = client.post(reverse("account_email_verification_sent"), {"code": code})
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified

    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "new.person@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"].is_authenticated


@pytest.mark.django_db
def test_unverified_person_cannot_log_in(client: Any, mailoutbox: list[Any]) -> None:
    sign_up(client)
    client.logout()
    cache.clear()  # later: the "one code per 10 s" limit of the sign-up has passed
    response = client.post(
        reverse("account_login"), {"login": "new.person@example.com", "password": PASSWORD}
    )
    # Mandatory verification: login leads back to the code form, not into the site.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not client.get(reverse("home")).context["user"].is_authenticated


@pytest.mark.django_db
def test_wrong_code_is_refused_with_a_message(client: Any, mailoutbox: list[Any]) -> None:
    sign_up(client)
    real = code_from(mailoutbox[0])
    wrong = f"{(int(real) + 1) % 1_000_000:06d}"
    response = client.post(reverse("account_email_verification_sent"), {"code": wrong})
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert not EmailAddress.objects.get(email="new.person@example.com").verified


@pytest.mark.django_db
def test_expired_code_is_refused(client: Any, mailoutbox: list[Any], settings: Any) -> None:
    from django.utils import timezone

    sign_up(client)
    code = code_from(mailoutbox[0])
    timeout = settings.ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT
    later = timezone.now() + timedelta(seconds=timeout + 5)
    from unittest import mock

    with mock.patch("time.time", return_value=later.timestamp()):
        response = client.post(reverse("account_email_verification_sent"), {"code": code})
    assert not EmailAddress.objects.get(email="new.person@example.com").verified
    assert response.status_code in {200, 302}


@pytest.mark.django_db
def test_duplicate_email_does_not_reveal_the_account(
    client: Any, mailoutbox: list[Any], user_factory: Any
) -> None:
    user_factory(email="taken@example.com")
    response = sign_up(client, email="taken@example.com")
    # The page looks exactly like a normal sign-up: off to "check your e-mail".
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert get_user_model().objects.filter(email="taken@example.com").count() == 1
    # The owner of the address is told someone tried, instead of the visitor being told.
    assert len(mailoutbox) == 1
    assert "taken@example.com" in mailoutbox[0].to


@pytest.mark.django_db
def test_weak_password_is_refused_and_nothing_is_created(client: Any) -> None:
    response = sign_up(client, password="password")
    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert not get_user_model().objects.filter(email="new.person@example.com").exists()


@pytest.mark.django_db
def test_code_is_six_digits(client: Any, mailoutbox: list[Any]) -> None:
    sign_up(client)
    assert re.fullmatch(r"\d{6}", code_from(mailoutbox[0]))
