from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.urls import reverse

PASSWORD = "a-long-unusual-passphrase-42"


@pytest.mark.django_db
def test_logs_never_hold_codes_or_passwords(
    client: Any, mailoutbox: list[Any], caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    client.post(
        reverse("account_signup"),
        {"email": "private@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)
    client.post(reverse("account_email_verification_sent"), {"code": code})
    client.post(reverse("account_login"), {"login": "private@example.com", "password": "wrong!"})

    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert PASSWORD not in logged
    assert "wrong!" not in logged
    assert code not in logged
