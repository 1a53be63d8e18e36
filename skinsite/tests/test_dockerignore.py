"""The production image holds no test or benchmark code: the files that ``COPY . .`` would take,
read from ``.dockerignore`` with Docker's own matching rules, include none."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pattern(text: str) -> re.Pattern[str]:
    """Docker's pattern syntax (Go's filepath.Match plus ``**``), as a regular expression."""
    out, index = "", 0
    while index < len(text):
        if text.startswith("**", index):
            out += ".*"
            index += 2
            if text.startswith("/", index):
                out += "/?"
                index += 1
        elif text[index] == "*":
            out += "[^/]*"
            index += 1
        elif text[index] == "?":
            out += "[^/]"
            index += 1
        else:
            out += re.escape(text[index])
            index += 1
    return re.compile(out)


def rules(dockerignore: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(exclude?, pattern) per line, in order; ``!`` re-includes."""
    found = []
    for line in dockerignore.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        found.append((not include, _pattern(line.lstrip("!").strip("/"))))
    return found


def ignored(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Like Docker: a path is out when it or a folder above it matches, the last rule wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for exclude, pattern in patterns:
        if any(pattern.fullmatch(c) for c in candidates):
            verdict = exclude
    return verdict


def image_files() -> list[str]:
    tracked = subprocess.run(
        ["git", "ls-files"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    patterns = rules((ROOT / ".dockerignore").read_text(encoding="utf-8"))
    return [path for path in tracked if not ignored(path, patterns)]


def test_the_image_holds_no_test_or_benchmark_code() -> None:
    files = image_files()
    assert "manage.py" in files and "diagnosis/jobs.py" in files
    assert any(f.startswith("mltrain/default_model/") for f in files)
    test_code = [
        f
        for f in files
        if "/tests/" in f
        or f.startswith(("testing/", "bench/", "mltrain/docs/", ".ci/"))
        or Path(f).name in {"conftest.py"}
        or Path(f).name.startswith("test_")
    ]
    assert test_code == []


def test_the_matcher_follows_dockers_rules() -> None:
    patterns = rules("**/tests\nbench\n*.md\n!README.md\n")
    assert ignored("diagnosis/tests/test_views.py", patterns)
    assert ignored("tests/x.py", patterns)
    assert ignored("bench/run.py", patterns)
    assert not ignored("mltrain/bench.py", patterns)
    assert ignored("NOTES.md", patterns) and not ignored("README.md", patterns)
    assert not ignored("docs/guide.md", patterns)  # * does not cross a folder
