"""Train one model, write its artifact under MODELS_DIR and register it as a model version."""

from __future__ import annotations

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


class Command(BaseCommand):
    help = "Train a model (reference recipe by default) and register its artifact."

    def add_arguments(self, parser) -> None:
        add_training_options(parser)
        parser.add_argument(
            "--weights", default="none", help="imagenet, a path to a state dict, or none"
        )
        parser.add_argument("--name", help="version name (default: <arch>-<timestamp>)")
        parser.add_argument("--output", help="folder for artifacts (default: MODELS_DIR)")
        parser.add_argument("--resume", action="store_true", help="continue the run called --name")
        parser.add_argument("--activate", action="store_true", help="serve it once trained")
        parser.add_argument(
            "--trained-state",
            metavar="FILE",
            help="skip training: package weights trained on another machine (a .pt written by "
            "python -m mltrain.ml.sweep), calibrating and evaluating them on --data here",
        )

    def handle(self, *args, **options) -> None:
        from mltrain import services
        from mltrain.ml.architectures import build_model
        from mltrain.ml.config import TrainConfig, recipe_config
        from mltrain.ml.device import resolve_device
        from mltrain.ml.distill import load_teacher
        from mltrain.ml.pipeline import RunOptions, package_trained_state, run_training
        from mltrain.ml.roots import describe, load_roots
        from mltrain.ml.split import kept_parts, load_split
        from mltrain.ml.trained_state import load_trained_state
        from mltrain.models import TrainingRun

        arch = options["arch"]
        if options["resume"] and not options["name"]:
            raise CommandError("--resume needs the --name of the run to continue.")
        version = options["name"] or f"{arch.replace('_', '-')}-{timezone.now():%Y%m%d-%H%M%S}"
        output = Path(options["output"] or settings.MODELS_DIR)
        with command_errors():
            # Everything that bad input can break is checked before a run is recorded.
            roots = data_roots_option(options)
            trained, weights, recipe = None, options["weights"], options["recipe"]
            if options["trained_state"]:
                trained = load_trained_state(options["trained_state"])
                config = TrainConfig.from_dict(trained["config"])
                config.device = options["device"]
                if config.arch != arch:
                    raise CommandError(
                        f"{options['trained_state']} holds a {config.arch} model, not {arch}."
                    )
                weights, recipe = str(trained["weights"]), str(trained["recipe"])
                model = build_model(arch, weights=options["trained_state"])
            else:
                config = recipe_config(recipe, arch=arch, **config_overrides(options))
                model = build_model(arch, weights=weights)
            resolve_device(config.device)
            if config.teacher and trained is None:
                load_teacher(config.teacher)  # a bad teacher fails before a run is recorded
            if (output / version).exists():
                raise CommandError(f"{output / version} already exists; choose another --name.")
            self.stdout.write(f"Reading {describe(roots)} ...")
            listing = load_roots(roots)
            if options["keep_split"]:
                # A split to keep that is unreadable or names none of these roots fails here.
                kept_parts(listing, load_split(Path(options["keep_split"])))
            run = None
            if options["resume"]:
                run = TrainingRun.objects.filter(version=version).first()
            if run is None:
                run = services.start_training_run(
                    arch=arch,
                    recipe=recipe,
                    weights=str(weights),
                    data_path=describe(roots),
                    version=version,
                    options=config.to_dict(),
                )
            elif run.status != TrainingRun.Status.RUNNING:
                run.status = TrainingRun.Status.RUNNING
                run.error = ""
                run.save(update_fields=["status", "error"])
            run_options = RunOptions(
                output_root=output,
                version=version,
                weights=weights,
                recipe=recipe,
                normalisation=options["normalisation"],
                split_file=Path(options["split"]) if options["split"] else None,
                keep_split_file=Path(options["keep_split"]) if options["keep_split"] else None,
                resume=options["resume"],
                log=self.stdout.write,
                progress=not options["no_progress"],
            )

            def train_or_package():
                if trained is None:
                    return run_training(
                        listing=listing, model=model, config=config, options=run_options
                    )
                return package_trained_state(
                    listing=listing, model=model, config=config, trained=trained,
                    options=run_options,
                )  # fmt: skip

            services.train_model_version(
                run=run, activate=options["activate"], train=train_or_package
            )
        run.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                f"Model version {version} registered"
                f"{' and active' if options['activate'] else ''}: {run.metrics}"
            )
        )
