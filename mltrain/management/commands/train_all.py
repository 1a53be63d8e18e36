"""Train several architectures under one protocol and write a comparison table (Markdown, CSV
and a bar chart), like the reference design's Table 7.4."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from mltrain.management.commands._common import (
    add_training_options,
    command_errors,
    config_overrides,
    data_roots_option,
)

DEFAULT_ARCHES = ("custom_cnn", "resnet50", "densenet121", "mobilenet_v2")


class Command(BaseCommand):
    help = "Train the four (or chosen) architectures on one split and compare them."

    def add_arguments(self, parser) -> None:
        from mltrain.ml.architectures import ARCHITECTURES

        add_training_options(parser, arch_required=False)
        parser.add_argument("--arches", nargs="+", choices=ARCHITECTURES, default=DEFAULT_ARCHES)
        parser.add_argument(
            "--weights",
            action="append",
            default=[],
            metavar="ARCH=SOURCE",
            help="initial weights per architecture (imagenet or a path); others start from scratch",
        )
        parser.add_argument("--prefix", help="version prefix (default: cmp-<timestamp>)")
        parser.add_argument(
            "--output", help="folder for artifacts and the table (default: MODELS_DIR)"
        )
        parser.add_argument("--protocol-note", default="", help="text printed above the table")

    def handle(self, *args, **options) -> None:
        from mltrain import services
        from mltrain.ml import plots
        from mltrain.ml.architectures import build_model
        from mltrain.ml.config import recipe_config
        from mltrain.ml.device import resolve_device
        from mltrain.ml.pipeline import RunOptions, run_training
        from mltrain.ml.report import comparison_csv, comparison_markdown
        from mltrain.ml.roots import describe, load_roots
        from mltrain.ml.split import load_split, make_split, save_split

        weights: dict[str, str] = {}
        for item in options["weights"]:
            arch, sep, source = item.partition("=")
            if not sep or arch not in options["arches"]:
                raise CommandError(f"--weights {item!r}: use ARCH=SOURCE with one of --arches.")
            weights[arch] = source
        prefix = options["prefix"] or f"cmp-{timezone.now():%Y%m%d-%H%M%S}"
        output = Path(options["output"] or settings.MODELS_DIR)
        table_dir = output / f"{prefix}-comparison"
        with command_errors():
            roots = data_roots_option(options)
            configs = {
                arch: recipe_config(options["recipe"], arch=arch, **config_overrides(options))
                for arch in options["arches"]
            }
            resolve_device(options["device"])
            models = {a: build_model(a, weights=weights.get(a, "none")) for a in options["arches"]}
            listing = load_roots(roots)
            keep = load_split(Path(options["keep_split"])) if options["keep_split"] else None
            split = make_split(listing, seed=next(iter(configs.values())).seed, keep=keep)
            table_dir.mkdir(parents=True, exist_ok=True)
            split_file = table_dir / "split.json"
            save_split(split, split_file)
            rows = []
            for arch, config in configs.items():
                self.stdout.write(f"== {arch} ==")
                source = weights.get(arch, "none")
                run = services.start_training_run(
                    arch=arch, recipe=options["recipe"], weights=source,
                    data_path=describe(roots), version=f"{prefix}-{arch.replace('_', '-')}",
                    options=config.to_dict(),
                )  # fmt: skip
                services.train_model_version(
                    run=run,
                    train=functools.partial(
                        run_training,
                        listing=listing,
                        model=models[arch],
                        config=config,
                        options=RunOptions(
                            output_root=output,
                            version=run.version,
                            weights=source,
                            recipe=options["recipe"],
                            normalisation=options["normalisation"],
                            split_file=split_file,
                            log=self.stdout.write,
                            progress=not options["no_progress"],
                        ),
                    ),
                )
                run.refresh_from_db()
                rows.append(_row(arch, source, config, run))
        protocol = options["protocol_note"] or (
            f"Same grouped split of {describe(roots)} for every model (seed "
            f"{split['seed']}); recipe {options['recipe']}. Weights: "
            + ", ".join(f"{r['arch']}: {r['weights']}" for r in rows)
            + "."
        )
        (table_dir / "comparison.md").write_text(
            comparison_markdown(rows, protocol), encoding="utf-8"
        )
        (table_dir / "comparison.csv").write_text(comparison_csv(rows), encoding="utf-8")
        (table_dir / "comparison.png").write_bytes(plots.comparison_png(rows))
        self.stdout.write(comparison_markdown(rows, protocol))
        self.stdout.write(self.style.SUCCESS(f"Comparison written to {table_dir}."))


def _row(arch: str, source: str, config, run) -> dict:
    from mltrain.ml.artifacts import load_manifest

    manifest = load_manifest(run.model_version.path)
    metrics = json.loads((manifest.path / "metrics.json").read_text(encoding="utf-8"))
    test = metrics["test"]
    clinical = test.get("by_photo_type", {}).get("clinical", {})
    return {
        "arch": arch,
        "weights": "ImageNet"
        if source == "imagenet"
        else ("scratch" if source == "none" else Path(source).name),
        "epochs": len(metrics["training"]["history"]),
        "input_size": config.input_size,
        "accuracy": test.get("accuracy"),
        "balanced_accuracy": test.get("balanced_accuracy"),
        "macro_precision": test.get("macro_precision"),
        "macro_recall": test.get("macro_recall"),
        "macro_f1": test.get("macro_f1"),
        "top3_accuracy": test.get("top3_accuracy"),
        "clinical_balanced_accuracy": clinical.get("balanced_accuracy"),
        "parameters": metrics.get("parameters"),
        "model_size_mb": metrics.get("model_size_mb"),
        "latency_ms": metrics.get("latency_ms", {}).get("onnx"),
        "train_seconds": metrics["training"].get("seconds"),
        "note": "" if source != "none" else "from scratch (no ImageNet weights here)",
    }
