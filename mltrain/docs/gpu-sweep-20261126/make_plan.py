"""Writes the sweep plan of 2026-11-26 (``plan.json``); ``--tiny`` shrinks it for a CPU check."""

import json
import sys
from pathlib import Path

TINY = "--tiny" in sys.argv
WEIGHTS = ".gpu/weights/mobilenet_v2_imagenet.pth"
BASE = {
    "input_size": 224,
    "freeze_stem": 0,
    "epoch_samples": 8000,
    "epochs": 80,
    "patience": 8,
    "warmup_steps": 150,
}


def run(name, budget, arch="mobilenet_v2", weights=WEIGHTS, recipe="improved", save=False, **kw):
    return {
        "name": name,
        "arch": arch,
        "weights": weights,
        "recipe": recipe,
        "budget_s": budget,
        "save_state": save,
        "overrides": {**BASE, **kw},
    }


PLAN = [
    run("smoke", 8, epoch_samples=256, epochs=1),
    run("mnv2-224-improved", 160, save=True),
    run("abl-control", 45),
    run("abl-class-sqrt-sampling", 45, sampling="class_sqrt"),
    run("abl-reference-augment", 45, augment="reference"),
    run("abl-288px", 45, save=True, input_size=288),
    run("abl-reference-recipe", 45, recipe="reference", epoch_samples=None, warmup_steps=0),
    run("cmp-custom-cnn-scratch", 35, arch="custom_cnn", weights="none"),
    run("cmp-resnet50-scratch", 35, arch="resnet50", weights="none"),
    run("cmp-densenet121-scratch", 35, arch="densenet121", weights="none"),
]

if __name__ == "__main__":
    if TINY:
        for entry in PLAN:
            entry["budget_s"] = 6
            entry["overrides"].update(input_size=64, epoch_samples=48, epochs=1)
    Path(sys.argv[1]).write_text(json.dumps(PLAN, indent=1))
