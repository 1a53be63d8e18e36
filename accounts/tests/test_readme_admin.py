"""The README's commands for making an admin account work as written (accounts are e-mail only)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_admin_commands() -> list[tuple[dict[str, str], list[str]]]:
    """Each ``createsuperuser`` line of the README: (environment assignments, arguments)."""
    found = []
    for line in README.read_text(encoding="utf-8").splitlines():
        if "manage.py createsuperuser" not in line:
            continue
        words = shlex.split(line.strip().strip("`"), comments=True)
        env = dict(word.split("=", 1) for word in words if "=" in word and word[0].isupper())
        args = words[words.index("manage.py") + 1 :]
        found.append((env, args))
    return found


def test_the_readme_names_an_interactive_and_a_scripted_admin_command() -> None:
    commands = readme_admin_commands()
    assert len(commands) >= 2
    assert all("--email" in args and "--username" not in args for _env, args in commands)
    assert any("--noinput" in args and "DJANGO_SUPERUSER_PASSWORD" in env for env, args in commands)


def test_the_readmes_scripted_admin_command_makes_an_admin(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, args = next((env, args) for env, args in readme_admin_commands() if "--noinput" in args)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    call_command(*args, verbosity=0)

    admin = get_user_model().objects.get(email=args[args.index("--email") + 1])
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.check_password(env["DJANGO_SUPERUSER_PASSWORD"])


def test_every_readme_admin_command_has_arguments_the_command_accepts(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The interactive form asks for a password on a terminal; here it gets it from the
    # environment, which checks that its arguments are the ones the command takes.
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-passphrase")
    for index, (_env, args) in enumerate(readme_admin_commands()):
        email = f"admin{index}@example.org"
        options: dict[str, Any] = {"interactive": False, "verbosity": 0}
        argv = [a for a in args if a != "--noinput"]
        argv[argv.index("--email") + 1] = email
        call_command(*argv, **options)
        assert get_user_model().objects.filter(email=email, is_superuser=True).exists()


def test_a_username_is_refused(db: None) -> None:
    with pytest.raises(CommandError):
        call_command("createsuperuser", "--username", "admin", interactive=False, verbosity=0)
