"""Shared option parsing and error translation for the mltrain commands."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator

from django.core.management.base import CommandError

from mltrain.ml.architectures import WeightsError
from mltrain.ml.artifacts import ArtifactError
from mltrain.ml.config import TrainingError
from mltrain.ml.data import DataError

EXPECTED_ERRORS = (DataError, WeightsError, ArtifactError, TrainingError, ValueError)


def ema_decay_value(text: str) -> float:
    """``--ema-decay``: a number in [0, 1), refused before any data is read."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(
            f"{text} is not in [0, 1): use 0.99 to 0.9999, or 0 for off"
        )
    return value


@contextlib.contextmanager
def command_errors() -> Iterator[None]:
    """Turn the package's expected errors into a ``CommandError`` (exit code 1, one clear line)."""
    try:
        yield
    except EXPECTED_ERRORS as exc:
        raise CommandError(str(exc)) from exc


def add_training_options(parser, *, arch_required: bool = True) -> None:
    from mltrain.ml.architectures import ARCHITECTURES
    from mltrain.ml.augment import PHONE_AUGMENTATIONS
    from mltrain.ml.config import RECIPES
    from mltrain.ml.transforms import AUGMENTATIONS

    if arch_required:
        parser.add_argument("--arch", required=True, choices=ARCHITECTURES)
    parser.add_argument(
        "--data", required=True, action="append",
        help="folder of class folders, or a CSV manifest; repeat it to merge several roots",
    )  # fmt: skip
    parser.add_argument(
        "--train-only", action="append", default=[], metavar="DATA",
        help="a data root whose images only train, never validate or test (repeatable)",
    )  # fmt: skip
    parser.add_argument("--recipe", default="reference", choices=sorted(RECIPES))
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="learning rate (backbone)")
    parser.add_argument("--head-lr", type=float)
    parser.add_argument("--input-size", type=int)
    parser.add_argument("--augment", choices=AUGMENTATIONS)
    parser.add_argument(
        "--phone-augment", nargs="+", choices=PHONE_AUGMENTATIONS, metavar="NAME",
        help="phone-photo augmentations added to --augment strong: "
        + ", ".join(PHONE_AUGMENTATIONS),
    )  # fmt: skip
    parser.add_argument(
        "--no-watermark-paste", action="store_true",
        help="do not paste a train-only source's watermark onto other photos (to measure the "
        "shortcut it opens)",
    )  # fmt: skip
    parser.add_argument(
        "--teacher", metavar="MODEL",
        help="distil from this teacher (a model folder, or a .pt the sweep saved); its logits "
        "on the training images are computed once and cached",
    )  # fmt: skip
    parser.add_argument("--distill-alpha", type=float, help="weight of the teacher's part (0.5)")
    parser.add_argument(
        "--distill-temperature", type=float, help="softening temperature of the logits (4)"
    )
    parser.add_argument("--freeze-epochs", type=int, help="epochs that train only the new head")
    parser.add_argument("--freeze-stem", type=int, help="first feature blocks kept frozen")
    parser.add_argument("--epoch-samples", type=int, help="training images drawn per epoch")
    parser.add_argument("--patience", type=int, help="early stopping patience (epochs)")
    parser.add_argument(
        "--ema-decay", type=ema_decay_value,
        help="keep a moving average of the weights with this decay per step (0: off)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument(
        "--normalisation", default="auto", choices=("auto", "imagenet", "half"),
        help="auto: ImageNet mean/std with pretrained weights, else 0.5/0.5",
    )  # fmt: skip
    parser.add_argument("--split", help="reuse a saved split JSON")
    parser.add_argument(
        "--keep-split",
        metavar="SPLIT_JSON",
        help="make a new split in which the images of this earlier split keep their parts "
        "(train on from a model, e.g. with new roots, without its test images leaking)",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        metavar="MINUTES",
        help="stop training after the epoch that would pass this many minutes (the cosine "
        "schedule then follows the clock)",
    )
    parser.add_argument("--no-progress", action="store_true")


def data_roots_option(options: dict) -> list:
    """The ``--data`` and ``--train-only`` roots, checked (all exist, distinct names)."""
    from mltrain.ml.roots import data_roots

    return data_roots(options["data"], options.get("train_only") or ())


def config_overrides(options: dict) -> dict:
    budget = options.get("time_budget")
    return {
        "deadline": time.time() + budget * 60 if budget else None,
        "epochs": options.get("epochs"),
        "batch_size": options.get("batch_size"),
        "lr": options.get("lr"),
        "head_lr": options.get("head_lr"),
        "input_size": options.get("input_size"),
        "augment": options.get("augment"),
        "neutralise_watermark": False if options.get("no_watermark_paste") else None,
        "teacher": options.get("teacher"),
        "distill_alpha": options.get("distill_alpha"),
        "distill_temperature": options.get("distill_temperature"),
        "phone_augment": tuple(options["phone_augment"]) if options.get("phone_augment") else None,
        "freeze_epochs": options.get("freeze_epochs"),
        "freeze_stem": options.get("freeze_stem"),
        "epoch_samples": options.get("epoch_samples"),
        "patience": options.get("patience"),
        "ema_decay": options.get("ema_decay"),
        "seed": options.get("seed"),
        "num_threads": options.get("threads"),
        "device": options.get("device"),
    }
