"""Register and activate the shipped default model when no model version is active."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from mltrain.management.commands._common import command_errors


class Command(BaseCommand):
    help = "Activate the default model shipped in mltrain/default_model/ if none is active."

    def handle(self, *args, **options) -> None:
        from mltrain import services

        with command_errors():
            version = services.ensure_default_model()
        if version is None:
            self.stdout.write(self.style.WARNING("No model is active and none is shipped."))
        else:
            self.stdout.write(f"Active model: {version.version}")
