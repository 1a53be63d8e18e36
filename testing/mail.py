"""Read the e-mails a LiveStack wrote with Django's file-based backend (``<folder>/mail``).

The backend appends each message to a ``.log`` file followed by a line of 79 dashes; this parses
them back into ``email.message.EmailMessage`` objects so a test reads what the person would read.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path

SEPARATOR = b"\n" + b"-" * 79 + b"\n"
#: The code on a line of its own (allauth's template), else any 6-digit word: never digits
#: inside a longer token such as an e-mail address ``new.person.e430149b@example.com``.
CODE_LINE = re.compile(r"^\s*(\d{6})\s*$", re.MULTILINE)
CODE = re.compile(r"\b(\d{6})\b")


def read_messages(folder: Path) -> list[EmailMessage]:
    """Every message in ``folder``, oldest file first."""
    messages: list[EmailMessage] = []
    if not folder.is_dir():
        return messages
    for path in sorted(folder.glob("*.log"), key=lambda p: (p.stat().st_mtime, p.name)):
        for chunk in path.read_bytes().split(SEPARATOR):
            if chunk.strip():
                parsed = email.message_from_bytes(chunk.lstrip(), policy=email.policy.default)
                messages.append(parsed)  # type: ignore[arg-type]
    return messages


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def wait_for_code(folder: Path, to: str, *, timeout: float = 60, after: int = 0) -> str:
    """The 6-digit code in the newest message to ``to`` (skipping the first ``after`` ones)."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [m for m in read_messages(folder) if to.lower() in str(m["To"]).lower()]
        for message in reversed(mine[after:]):
            body = body_text(message)
            match = CODE_LINE.search(body) or CODE.search(body)
            if match:
                return match.group(1)
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"no e-mail with a 6-digit code to {to} in {folder} after {timeout} s"
            )
        time.sleep(0.25)
