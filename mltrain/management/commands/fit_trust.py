"""Fit the trust bundle (not-skin gate, photo-type head, per-type calibration, can't-tell
thresholds) of a model version or artifact folder."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mltrain.management.commands._common import command_errors


class Command(BaseCommand):
    help = (
        "Fit the trust bundle of a model version: the not-skin gate, the photo-type head, one "
        "temperature per photo type and the can't-tell thresholds, chosen on validation photos."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("version", help="a registered version, or an artifact folder")
        parser.add_argument(
            "--data", action="append", default=[], help="a data root with val/test photos"
        )
        parser.add_argument(
            "--bank-only", action="append", default=[], help="a data root of training photos only"
        )
        parser.add_argument(
            "--gate-weights",
            required=True,
            help="ImageNet MobileNetV2 weights, e.g. ../shared/weights/mobilenet_v2_imagenet.pth",
        )

    def handle(self, *args, **options) -> None:
        from mltrain.ml.trust.report import risk_coverage_table, summary_table
        from mltrain.ml.trust.runner import fit_trust
        from mltrain.services import artifact_dir_for

        if not options["data"]:
            raise CommandError("Give at least one --data root.")
        artifact = artifact_dir_for(options["version"])
        if artifact is None:
            raise CommandError(f"No model version or artifact folder {options['version']!r}.")
        with command_errors():
            config = fit_trust(
                artifact,
                data=[Path(p) for p in options["data"]],
                bank_only=[Path(p) for p in options["bank_only"]],
                gate_weights=Path(options["gate_weights"]),
                log=self.stdout.write,
            )
        self.stdout.write("Test photos:")
        self.stdout.write(summary_table(config["test"]))
        self.stdout.write("")
        self.stdout.write(risk_coverage_table(config["test"]))
        self.stdout.write(self.style.SUCCESS(f"Trust bundle written to {artifact}."))
