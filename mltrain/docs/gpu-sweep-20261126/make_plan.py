"""Writes the GPU sweep plan; --tiny writes the same plan shrunk for a CPU check."""
import json, sys
tiny = "--tiny" in sys.argv
W = ".gpu/weights/mobilenet_v2_imagenet.pth"
base = {"input_size": 224, "freeze_stem": 0, "epoch_samples": 8000, "epochs": 80,
        "patience": 8, "warmup_steps": 150}
def run(name, budget, arch="mobilenet_v2", weights=W, recipe="improved", save=False, **changes):
    return {"name": name, "arch": arch, "weights": weights, "recipe": recipe, "budget_s": budget,
            "save_state": save, "overrides": {**base, **changes}}
plan = [
    run("smoke", 8, epoch_samples=256, epochs=1),
    run("mnv2-224-improved", 160, save=True),
    run("abl-control", 45),
    run("abl-class-sqrt-sampling", 45, sampling="class_sqrt"),
    run("abl-reference-augment", 45, augment="reference"),
    run("abl-288px", 45, save=True, input_size=288),
    run("abl-reference-recipe", 45, recipe="reference", epoch_samples=None, patience=8,
        warmup_steps=0),
    run("cmp-custom-cnn-scratch", 35, arch="custom_cnn", weights="none"),
    run("cmp-resnet50-scratch", 35, arch="resnet50", weights="none"),
    run("cmp-densenet121-scratch", 35, arch="densenet121", weights="none"),
]
if tiny:
    for e in plan:
        e["budget_s"] = 6
        e["overrides"].update(input_size=64, epoch_samples=48, epochs=1)
json.dump(plan, open(sys.argv[1], "w"), indent=1)
