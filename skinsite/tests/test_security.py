"""Security headers, CSRF, the admin and its rate limit, and what the login page reveals."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse


@pytest.mark.django_db
def test_pages_send_the_security_headers(client: Any) -> None:
    response = client.get(reverse("account_login"))
    csp = response["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_pages_have_no_inline_scripts(client: Any, user_factory: Any) -> None:
    client.force_login(user_factory())
    for url in (reverse("home"), reverse("account_change_password")):
        html = client.get(url).content.decode()
        for tag in html.split("<script")[1:]:
            assert tag.lstrip().startswith("src="), f"inline script on {url}: {tag[:80]}"
        assert " onclick=" not in html and " onload=" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("accounts:set_language", {"language": "ar"}),
        ("accounts:set_theme", {"theme": "dark"}),
        ("account_login", {"login": "a@example.com", "password": "x"}),
        ("account_signup", {"email": "a@example.com", "password1": "x", "password2": "x"}),
        ("account_logout", {}),
        ("account_reset_password", {"email": "a@example.com"}),
    ],
)
def test_posts_without_a_csrf_token_are_refused(name: str, data: dict[str, str]) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse(name), data)
    assert response.status_code == 403


@pytest.mark.django_db
def test_admin_is_only_for_staff(client: Any, user_factory: Any) -> None:
    client.force_login(user_factory())
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.django_db
def test_admin_login_has_its_own_rate_limit(client: Any, settings: Any) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "admin_login": "3/m/ip"}
    url = reverse("admin:login")
    statuses = [
        client.post(url, {"username": "admin@example.com", "password": "guess"}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.django_db
def test_login_error_does_not_say_whether_the_account_exists(
    client: Any, user_factory: Any
) -> None:
    user_factory(email="exists@example.com")
    url = reverse("account_login")
    known = client.post(url, {"login": "exists@example.com", "password": "wrong"})
    unknown = client.post(url, {"login": "nobody@example.com", "password": "wrong"})

    def error(response: Any) -> list[str]:
        return response.context["form"].non_field_errors()

    assert error(known) == error(unknown)
    assert error(known)
