"""Make a registered model version the one the site serves."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mltrain.management.commands._common import command_errors


class Command(BaseCommand):
    help = "Activate a model version (what the site serves)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("version")

    def handle(self, *args, **options) -> None:
        from mltrain import services
        from mltrain.models import ModelVersion

        with command_errors():
            try:
                version = services.activate_model_version(version=options["version"])
            except ModelVersion.DoesNotExist as exc:
                raise CommandError(
                    f"No model version {options['version']!r}; see manage.py list_models."
                ) from exc
        self.stdout.write(self.style.SUCCESS(f"{version.version} is active."))
