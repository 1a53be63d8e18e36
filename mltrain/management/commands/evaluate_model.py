"""Evaluate a registered model version (or an artifact folder) on a data set."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mltrain.management.commands._common import command_errors


class Command(BaseCommand):
    help = "Evaluate a model version on the test part of its saved split (or all of --data)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("version", help="a registered version, or an artifact folder")
        parser.add_argument(
            "--data", action="append", required=True, help="a data root (repeat for several)"
        )
        parser.add_argument("--part", default="test", choices=("train", "val", "test"))
        parser.add_argument("--split", help="a split JSON (default: the one saved with the model)")
        parser.add_argument("--backend", default="onnx", choices=("onnx", "torch"))
        parser.add_argument("--output", help="write the metrics to this JSON file")

    def handle(self, *args, **options) -> None:
        from mltrain.ml.pipeline import evaluate_artifact
        from mltrain.ml.report import per_class_table, summary_table
        from mltrain.ml.trust.runner import trust_figures
        from mltrain.services import artifact_dir_for

        artifact = artifact_dir_for(options["version"])
        if artifact is None:
            raise CommandError(f"No model version or artifact folder {options['version']!r}.")
        data = options["data"]
        classified = data[0] if len(data) == 1 else data
        split_file = Path(options["split"]) if options["split"] else artifact / "split.json"
        if len(data) > 1 and split_file.is_file() and not _split_roots(split_file):
            # A one-root split (the shipped model's) cannot divide several roots; the trust
            # figures below split the others as fit_trust does.
            classified = data[0]
            self.stdout.write(
                f"The model's split covers one data root: the classification figures are for "
                f"{data[0]}, the trust figures for every root given."
            )
        with command_errors():
            metrics = evaluate_artifact(
                artifact,
                classified,
                part=options["part"],
                split_file=Path(options["split"]) if options["split"] else None,
                backend=options["backend"],
                num_threads=settings.INFERENCE_THREADS or None,
                log=self.stdout.write,
            )
        groups = {
            "all": metrics,
            **{f"photo: {k}": v for k, v in metrics.get("by_photo_type", {}).items()},
        }
        self.stdout.write(summary_table(groups))
        self.stdout.write("")
        self.stdout.write(per_class_table(metrics["per_class"]))
        with command_errors():
            trust = trust_figures(artifact, [Path(p) for p in options["data"]], options["part"])
        self._write_trust(trust)
        if trust is not None:
            metrics["trust"] = trust
        if options["output"]:
            Path(options["output"]).write_text(json.dumps(metrics, indent=1), encoding="utf-8")
            self.stdout.write(f"Metrics written to {options['output']}.")

    def _write_trust(self, trust: dict | None) -> None:
        from mltrain.ml.trust.report import risk_coverage_table
        from mltrain.ml.trust.report import summary_table as trust_table

        self.stdout.write("")
        if trust is None:
            self.stdout.write(
                "No trust bundle: the not-skin gate, per-type calibration and can't-tell are off "
                "for this model (manage.py fit_trust adds them)."
            )
            return
        self.stdout.write("Trust (not-skin gate, photo type, per-type calibration, can't tell):")
        self.stdout.write(trust_table(trust))
        self.stdout.write("")
        self.stdout.write("Risk-coverage of the photos that pass the gate:")
        self.stdout.write(risk_coverage_table(trust))


def _split_roots(split_file: Path) -> list:
    try:
        return list(json.loads(split_file.read_text(encoding="utf-8")).get("roots") or [])
    except (OSError, ValueError):
        return []
