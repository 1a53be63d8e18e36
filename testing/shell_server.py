"""A Django shell that stays up for a LiveStack: ``LiveStack.shell(code)`` sends code here.

Starting Django costs seconds (more while ``torch`` is imported at startup), and the browser,
fault and load tests run dozens of small pieces of Django code against the stack (create a
person, submit 50 jobs, read rows back). One process started once per stack answers them all.

Protocol, one JSON object per line: the request ``{"code": "..."}`` on stdin, the reply
``{"ok": bool, "stdout": "...", "error": "traceback or empty"}`` on the real stdout. Whatever the
code prints is captured into ``stdout``; logging goes to stderr (the stack's log file). Each
request runs in fresh globals, like ``manage.py shell -c``, and database connections are closed
after each, so nothing is held open between requests.
"""

from __future__ import annotations

import io
import json
import os
import sys
import traceback
from contextlib import redirect_stdout


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skinsite.settings")
    # The protocol owns the real stdout; stray prints during setup must not corrupt it.
    channel = sys.stdout
    sys.stdout = sys.stderr
    import django

    django.setup()
    from django.db import connections

    channel.write(json.dumps({"ok": True, "stdout": "ready", "error": ""}) + "\n")
    channel.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        code = json.loads(line)["code"]
        captured = io.StringIO()
        reply = {"ok": True, "stdout": "", "error": ""}
        try:
            with redirect_stdout(captured):
                # Test-only: the code comes from the test process that started this server.
                exec(compile(code, "<LiveStack.shell>", "exec"), {"__name__": "__main__"})  # noqa: S102
        except BaseException:  # noqa: BLE001 - every failure goes back to the caller
            reply = {"ok": False, "stdout": "", "error": traceback.format_exc()}
        finally:
            connections.close_all()
        reply["stdout"] = captured.getvalue()
        channel.write(json.dumps(reply) + "\n")
        channel.flush()


if __name__ == "__main__":
    main()
