from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

NEW_PASSWORD = "another-long-passphrase-77"


@pytest.mark.django_db
def test_reset_password_by_code(client: Any, mailoutbox: list[Any], user_factory: Any) -> None:
    user = user_factory(email="forgetful@example.com")
    response = client.post(reverse("account_reset_password"), {"email": "forgetful@example.com"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)

    response = client.post(reverse("account_confirm_password_reset_code"), {"code": code})
    assert response.status_code == 302
    response = client.post(
        reverse("account_complete_password_reset"),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_reset_for_unknown_email_looks_the_same(client: Any, mailoutbox: list[Any]) -> None:
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    # Same redirect as for a real account: no account enumeration.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_password_reset_code")


@pytest.mark.django_db
def test_wrong_reset_code_does_not_change_the_password(
    client: Any, mailoutbox: list[Any], user_factory: Any
) -> None:
    user = user_factory(email="forgetful@example.com")
    client.post(reverse("account_reset_password"), {"email": "forgetful@example.com"})
    code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    response = client.post(reverse("account_confirm_password_reset_code"), {"code": wrong})
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(user.raw_password)
