"""The console e-mail backend of ``make run``: each e-mail as a framed block, its code on top.

Django's own console backend prints the raw MIME message (Arabic bodies as quoted-printable)
among the request and worker logs, where a person looking for the 6-digit code missed it.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import Final

from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend

WIDTH: Final = 72
#: allauth puts the code on a line of its own.
CODE_LINE: Final = re.compile(r"^\s*(\d{6})\s*$", re.MULTILINE)


def frame_message(message: EmailMessage) -> str:
    """``message`` as a box of text: recipients, subject, the code if there is one, the body."""
    body = str(message.body or "").strip()
    lines = [f"To: {', '.join(message.to)}", f"Subject: {message.subject}"]
    code = CODE_LINE.search(body)
    if code:
        lines += ["", f">>> CODE: {code.group(1)} <<<"]
    lines += ["", *_wrapped(body.splitlines())]
    title = " e-mail "
    top = "┌" + title + "─" * (WIDTH - len(title) - 1)
    bottom = "└" + "─" * (WIDTH - 1)
    return "\n".join([top, *(f"│ {line}".rstrip() for line in lines), bottom])


def _wrapped(lines: Sequence[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        # Links stay whole so they can be copied; prose is wrapped inside the frame.
        out += textwrap.wrap(line, WIDTH - 2, break_long_words=False) or [""]
    return out


class FramedConsoleEmailBackend(ConsoleEmailBackend):
    """Prints each e-mail with ``frame_message`` instead of as raw MIME."""

    def write_message(self, message: EmailMessage) -> None:  # type: ignore[override]
        self.stream.write(frame_message(message) + "\n")
