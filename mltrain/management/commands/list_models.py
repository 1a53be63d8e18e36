"""List registered model versions."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "List registered model versions (* marks the active one)."

    def handle(self, *args, **options) -> None:
        from mltrain.models import ModelVersion

        versions = list(ModelVersion.objects.all())
        if not versions:
            self.stdout.write("No model versions are registered.")
            return
        self.stdout.write(f"  {'version':40} {'arch':14} {'acc':>6} {'bal':>6}  created")
        for v in versions:
            acc = v.metrics.get("accuracy")
            bal = v.metrics.get("balanced_accuracy")
            self.stdout.write(
                f"{'*' if v.is_active else ' '} {v.version:40} {v.arch:14} "
                f"{acc if acc is not None else '-':>6} {bal if bal is not None else '-':>6}  "
                f"{v.created_at:%Y-%m-%d %H:%M}"
            )
