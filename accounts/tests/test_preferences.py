"""Language and theme: switchable on every page, remembered, Arabic right-to-left."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_arabic_pages_are_right_to_left_and_translated(client: Any) -> None:
    response = client.post(reverse("accounts:set_language"), {"language": "ar", "next": "/"})
    assert response.status_code == 302
    html = client.get(reverse("account_login")).content.decode()
    assert '<html lang="ar" dir="rtl"' in html
    assert "bootstrap.rtl.min.css" in html
    assert "تسجيل" in html  # "sign in" / "sign up" in Arabic


@pytest.mark.django_db
def test_language_switch_is_on_the_login_page(client: Any) -> None:
    html = client.get(reverse("account_login")).content.decode()
    assert reverse("accounts:set_language") in html
    assert 'value="ar"' in html


@pytest.mark.django_db
def test_language_is_saved_in_the_profile_and_wins_over_the_cookie(
    client: Any, user_factory: Any, settings: Any
) -> None:
    user = user_factory()
    client.force_login(user)
    client.post(reverse("accounts:set_language"), {"language": "ar"})
    user.refresh_from_db()
    assert user.preferred_language == "ar"

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("home")).content.decode()
    assert 'lang="ar"' in html


@pytest.mark.django_db
def test_unknown_language_gets_a_message_not_an_error(client: Any) -> None:
    response = client.post(
        reverse("accounts:set_language"), {"language": "xx", "next": "/"}, follow=True
    )
    assert response.status_code == 200
    assert "That language is not available." in response.content.decode()


@pytest.mark.django_db
def test_theme_persists_for_a_signed_in_person(client: Any, user_factory: Any) -> None:
    user = user_factory()
    client.force_login(user)
    client.post(reverse("accounts:set_theme"), {"theme": "dark"})
    user.refresh_from_db()
    assert user.theme == "dark"
    client.cookies.clear()
    client.force_login(user)
    assert 'data-bs-theme="dark"' in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_theme_persists_for_a_visitor_by_cookie(client: Any) -> None:
    client.post(reverse("accounts:set_theme"), {"theme": "light"})
    assert 'data-bs-theme="light"' in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_auto_theme_is_picked_before_paint_by_a_head_script(client: Any) -> None:
    html = client.get(reverse("home")).content.decode()
    head = html.split("</head>")[0]
    assert 'data-theme-choice="auto"' in html
    assert "js/theme-init.js" in head
    assert "data-bs-theme" not in html.split(">")[1]  # the script, not the server, decides


@pytest.mark.django_db
def test_verification_email_goes_out_in_the_persons_language(
    client: Any, mailoutbox: list[Any], settings: Any
) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    password = "a-long-unusual-passphrase-42"
    client.post(
        reverse("account_signup"),
        {"email": "arabic@example.com", "password1": password, "password2": password},
    )
    assert len(mailoutbox) == 1
    assert any("\u0600" <= ch <= "\u06ff" for ch in mailoutbox[0].subject + mailoutbox[0].body)
