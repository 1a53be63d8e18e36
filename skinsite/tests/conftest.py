"""Fixtures of the tests that run the whole site in subprocesses (browser, faults, load).

Each of those modules starts one ``LiveStack`` (``live_stack`` below, configured per module
through ``stack_options``); when a test fails, the stack's logs are copied next to its
screenshots under ``var/test-artifacts/<module>/<test>/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", str(ROOT / "var" / "test-artifacts")))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def has_failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


def artifact_dir(request: pytest.FixtureRequest) -> Path:
    """``var/test-artifacts/<module>/<test name>/`` (created by whoever writes into it)."""
    module = Path(str(request.node.fspath)).stem
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]
    return ARTIFACTS / module / name


def start_live_stack(folder: Path, **options: Any) -> Any:
    """Start a LiveStack, or skip the test with the reason when this machine cannot."""
    from django.core.management.base import CommandError

    from testing.live_stack import LiveStack

    try:
        from skinsite.management.commands.run_site import find_redis_server

        find_redis_server()
    except CommandError as exc:
        pytest.skip(f"no redis-server for the live stack: {exc}")
    stack = LiveStack(folder=folder, **options)
    try:
        stack.start()
    except BaseException:
        stack.close()
        raise
    return stack


@pytest.fixture(scope="module")
def stack_options() -> dict[str, Any]:
    """Overridden by a test module to configure its stack (``LiveStack`` keyword arguments)."""
    return {}


@pytest.fixture(scope="module")
def live_stack(
    stack_options: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """One running site (Redis, database, web, workers) shared by the tests of a module."""
    stack = start_live_stack(tmp_path_factory.mktemp("stack"), **stack_options)
    try:
        yield stack
    finally:
        stack.close()


@pytest.fixture
def keep_stack_logs_on_failure(request: pytest.FixtureRequest, live_stack: Any) -> Iterator[None]:
    """Copy the stack's logs next to the test's screenshots when the test fails."""
    yield
    if has_failed(request):
        target = artifact_dir(request) / "logs"
        target.mkdir(parents=True, exist_ok=True)
        for log in live_stack.folder.glob("*.log"):
            shutil.copy2(log, target / log.name)
        outcomes = live_stack.testing_dir / "outcomes.log"
        if outcomes.exists():
            shutil.copy2(outcomes, target / "outcomes.log")
