"""The client side of ``testing.shell_server``: one Django process per LiveStack that
runs every piece of code the tests send (``LiveStack.shell``)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]


class ShellError(RuntimeError):
    """Code sent to ``LiveStack.shell`` raised; the message holds its traceback."""


class ShellClient:
    """The client side of ``testing.shell_server``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "testing.shell_server"],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            start_new_session=True,
        )  # fmt: skip
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        self._started = False

    def _read(self, stream: IO[bytes] | None) -> None:
        for line in stream or ():
            self._replies.put(line.decode())
        self._replies.put(None)  # the server is gone

    def _reply(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise TimeoutError(f"the stack's shell did not answer within {timeout} s") from None
        if line is None:
            raise ShellError("the stack's shell process exited; see shell.log in the stack folder")
        return dict(json.loads(line))

    def run(self, code: str, timeout: float) -> str:
        with self._lock:
            if not self._started:
                self._reply(timeout=max(timeout, 180))  # Django setup: "ready"
                self._started = True
            stdin = self.process.stdin
            if stdin is None:
                raise ShellError("the stack's shell has no stdin")
            stdin.write((json.dumps({"code": code}) + "\n").encode())
            stdin.flush()
            reply = self._reply(timeout)
        if not reply["ok"]:
            raise ShellError(f"stack shell code failed:\n{reply['error'][-6000:]}")
        return str(reply["stdout"])

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()
