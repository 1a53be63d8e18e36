"""Make this machine's site ready to start: the media folder, the database schema, the static
files, the disease catalogue and the default model.

``run_site`` runs it after starting Redis (the catalogue and the model touch the shared cache);
a deployment runs it once before starting its processes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

#: Other apps' preparation, run when their app is installed.
APP_STEPS = ("load_diseases", "ensure_default_model")


class Command(BaseCommand):
    help = "Create the media folder, migrate, collect static files, load the catalogue and model."

    def handle(self, *args: Any, **options: Any) -> None:
        settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True, mode=0o700)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        commands = get_commands()
        for name in APP_STEPS:
            if name in commands:
                call_command(name)
