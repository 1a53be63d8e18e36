"""``manage.py load_diseases``: create the catalogue's missing diseases (idempotent).

Never changes a disease that exists; see ``diseases.loader`` for the rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from diseases.loader import CONTENT_PATH, CatalogueError, load_diseases


class Command(BaseCommand):
    help = "Create the diseases missing from the catalogue. Existing diseases are never changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fill-empty",
            action="store_true",
            help="Also fill text fields that are empty in the database (never overwrites text).",
        )
        parser.add_argument(
            "--path", type=Path, default=CONTENT_PATH, help="Content file (default: %(default)s)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = load_diseases(path=options["path"], fill_empty=options["fill_empty"])
        except CatalogueError as exc:
            raise CommandError(str(exc)) from exc
        for key in report.created:
            self.stdout.write(f"created {key}")
        for key, fields in report.filled.items():
            self.stdout.write(f"filled {key}: {', '.join(fields)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Disease catalogue: {len(report.created)} created, {len(report.filled)} filled, "
                f"{len(report.unchanged)} left as they are."
            )
        )
