"""``torch.compile`` measured in its own process (``python -m bench.compile_probe``).

Compiling MobileNetV2 with inductor takes minutes on two cores; in a child process the parent
can give up on it with a timeout. Compiled and eager run alternated here, on the same inputs,
so the row is comparable through its ratio to eager.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--inputs", required=True, help=".npy of preprocessed images (N,3,H,W)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    import torch
    import torch._inductor.config as inductor_config

    from bench.common import alternate, summarise
    from mltrain.ml.architectures import build_model
    from mltrain.ml.artifacts import load_manifest

    torch.set_num_threads(args.threads)
    # Freezing folds the weights into the graph (constant folding, oneDNN prepacking): the
    # setting PyTorch recommends for CPU inference.
    inductor_config.freezing = True
    manifest = load_manifest(args.artifact)
    model = build_model(manifest.arch, num_classes=len(manifest.class_keys), weights="none")
    model.load_state_dict(
        torch.load(manifest.file("model.pt"), map_location="cpu", weights_only=True)
    )
    model.eval()
    images = np.load(args.inputs)
    batch1 = torch.from_numpy(np.ascontiguousarray(images[:1]))
    batch32 = torch.from_numpy(np.ascontiguousarray(np.resize(images, (32, *images.shape[1:]))))

    compiled = torch.compile(model, dynamic=False)
    start = time.perf_counter()
    with torch.no_grad():
        compiled(batch1)
        compiled(batch32)
        compiled_logits = compiled(torch.from_numpy(images)).numpy()
        eager_logits = model(torch.from_numpy(images)).numpy()
    compile_s = time.perf_counter() - start

    def call(fn, x):
        def run() -> None:
            with torch.no_grad():
                fn(x)

        return run

    b1 = alternate(
        {"eager": call(model, batch1), "compiled": call(compiled, batch1)},
        rounds=args.rounds,
        block=3,
    )
    b32 = alternate(
        {"eager": call(model, batch32), "compiled": call(compiled, batch32)},
        rounds=max(2, args.rounds // 5),
        block=1,
        warmup=1,
    )
    agreement = float((compiled_logits.argmax(1) == eager_logits.argmax(1)).mean())
    result = {
        "compile_s": compile_s,
        "images": len(images),
        "agreement": agreement,
        "eager_b1_p50": summarise(b1["eager"])["p50"],
        "compiled_b1_p50": summarise(b1["compiled"])["p50"],
        "compiled_b1_p95": summarise(b1["compiled"])["p95"],
        "eager_b32_p50": summarise(b32["eager"])["p50"],
        "compiled_b32_p50": summarise(b32["compiled"])["p50"],
        "compiled_b32_p95": summarise(b32["compiled"])["p95"],
    }
    Path(args.output).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
