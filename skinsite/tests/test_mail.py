"""`make run`'s console e-mail: a framed block with the code on top, in any language."""

from __future__ import annotations

import io
from typing import Any

from django.core import mail
from django.core.mail import EmailMessage
from django.test import Client

from skinsite.mail import FramedConsoleEmailBackend, frame_message


def test_a_verification_email_is_framed_with_its_code_on_top() -> None:
    message = EmailMessage(
        subject="[skinsite] Please Confirm Your Email Address",
        body="Hello from skinsite!\n\nYour email verification code is listed below.\n\n"
        "  482913\n\nThank you for using skinsite!",
        to=["new@example.com"],
    )
    lines = frame_message(message).splitlines()
    assert lines[0].startswith("┌")
    assert lines[-1].startswith("└")
    assert all(line.startswith("│") for line in lines[1:-1])
    assert lines[1] == "│ To: new@example.com"
    assert lines[2] == "│ Subject: [skinsite] Please Confirm Your Email Address"
    assert lines[4] == "│ >>> CODE: 482913 <<<"


def test_the_backend_prints_arabic_bodies_as_text_not_mime() -> None:
    stream = io.StringIO()
    backend = FramedConsoleEmailBackend(stream=stream)
    body = "مرحبًا من skinsite!\n\n123456"
    backend.send_messages([EmailMessage(subject="رمز", body=body, to=["a@example.com"])])
    printed = stream.getvalue()
    assert "مرحبًا من skinsite!" in printed
    assert "CODE: 123456" in printed
    assert "Content-Transfer-Encoding" not in printed


def test_the_signup_email_greets_from_skinsite_not_the_host(client: Client, db: Any) -> None:
    client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
    )
    (sent,) = mail.outbox
    assert sent.body.startswith("Hello from skinsite!")
    assert "Hello from testserver" not in sent.body
