"""On a machine with an NVIDIA GPU: inference and training tables on it, and what one GPU worker
sustains through the queue. Skipped (with the reason) everywhere else. Sized to stay under five
minutes: a few rounds per batch size, batch sizes up to 256.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.artifact import ArtifactChoice, test_records
from bench.common import BenchResult, Skipped, Table, rnd, summarise


@dataclass(frozen=True)
class GpuConfig:
    batch_sizes: tuple[int, ...] = (1, 8, 32, 64, 128, 256)
    train_batch_sizes: tuple[int, ...] = (32, 64, 128, 256)
    rounds: int = 20
    train_steps: int = 8
    queue_images: int = 300


QUICK = GpuConfig(
    batch_sizes=(1, 8), train_batch_sizes=(8,), rounds=2, train_steps=2, queue_images=8
)


def _cuda_timer(fn, rounds: int) -> list[float]:
    import torch

    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return times


def run(choice: ArtifactChoice, config: GpuConfig = GpuConfig()) -> BenchResult:
    import torch

    if not torch.cuda.is_available():
        raise Skipped("no CUDA GPU on this machine")
    from torch import nn

    from mltrain.ml.architectures import build_model
    from mltrain.ml.artifacts import load_manifest
    from mltrain.ml.predictors import load_predictor
    from mltrain.ml.preprocess import preprocess

    result = BenchResult("gpu")
    card = torch.cuda.get_device_name(0)
    manifest = load_manifest(choice.path)
    records, _ = test_records(choice.path, 32)
    from PIL import Image

    images = []
    for r in records:
        with Image.open(r.path) as im:
            images.append(
                preprocess(im, input_size=manifest.input_size, mean=manifest.mean, std=manifest.std)
            )
    base = np.stack(images)
    model = build_model(manifest.arch, num_classes=len(manifest.class_keys), weights="none")
    model.load_state_dict(
        torch.load(manifest.file("model.pt"), map_location="cpu", weights_only=True)
    )
    model = model.eval().cuda()
    model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    site = load_predictor(choice.path, backend="torch", device="cuda")

    table = Table(
        f"GPU inference on {card} (ms per batch; images/s)",
        ["batch", "variant", "p50 ms", "p95 ms", "images/s"],
    )
    for batch in config.batch_sizes:
        x_np = np.ascontiguousarray(np.resize(base, (batch, *base.shape[1:])))
        x = torch.from_numpy(x_np).cuda()
        x_cl = x.contiguous(memory_format=torch.channels_last)

        def fp32(x=x) -> Any:
            with torch.inference_mode():
                return model(x)

        def fp16(x_cl=x_cl) -> Any:
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16):
                return model_cl(x_cl)

        variants = {
            "eager fp32": fp32,
            "fp16 autocast channels-last": fp16,
            "site TorchPredictor (host array in, probabilities out)": lambda x_np=x_np: (
                site.predict_proba(x_np)
            ),
        }
        for name, fn in variants.items():
            s = summarise(_cuda_timer(fn, config.rounds))
            table.rows.append(
                [batch, name, rnd(s["p50"], 2), rnd(s["p95"], 2), rnd(1000 * batch / s["p50"], 0)]
            )
    result.tables.append(table)

    train = Table(
        f"GPU training step on {card} (fp16 autocast + GradScaler, channels-last)",
        ["batch", "compute alone images/s", "step ms p50"],
    )
    net = build_model(manifest.arch, num_classes=len(manifest.class_keys)).cuda()
    net = net.to(memory_format=torch.channels_last).train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda")
    loss_fn = nn.CrossEntropyLoss()
    for batch in config.train_batch_sizes:
        xb = torch.randn(batch, 3, manifest.input_size, manifest.input_size, device="cuda")
        xb = xb.contiguous(memory_format=torch.channels_last)
        yb = torch.randint(0, len(manifest.class_keys), (batch,), device="cuda")

        def step(xb=xb, yb=yb) -> None:
            optimiser.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.float16):
                loss = loss_fn(net(xb), yb)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()

        s = summarise(_cuda_timer(step, config.train_steps))
        train.rows.append([batch, rnd(1000 * batch / s["p50"], 0), rnd(s["p50"], 1)])
    result.tables.append(train)
    result.figures["gpu_card"] = card
    result.notes.append(
        "The data pipeline runs on the CPU; its rate (training benchmark) bounds the full loop."
    )
    try:
        _queue(choice, config, result)
    except Exception as exc:  # noqa: BLE001 (a GPU box without Django, Redis or PostgreSQL)
        result.notes.append(
            f"The queue benchmark did not run on this machine ({exc.__class__.__name__}: "
            f"{exc}); the tables above need only PyTorch."
        )
    return result


def _queue(choice: ArtifactChoice, config: GpuConfig, result: BenchResult) -> None:
    """One GPU worker process (torch on CUDA) behind the real web stack."""
    from bench.client import Client, judge, throughput_run
    from bench.stack import Stack

    records, _ = test_records(choice.path, config.queue_images)
    photos = [r.path for r in records]
    with Stack(name="gpu", web_workers=4) as stack:
        info = stack.open(artifact=choice.path, users=4, history_rows=0)
        stack.start_worker(
            1, threads=1, extra_env={"INFERENCE_BACKEND": "torch", "INFERENCE_DEVICE": "cuda"}
        )
        clients = [Client(stack.base_url, info["urls"], e, info["password"]) for e in info["users"]]
        throughput_run(clients, photos, 4)  # warm-up
        since = time.time()
        posts = throughput_run(clients, photos, config.queue_images)
        answer = stack.rows(
            public_ids=[p["public_id"] for p in posts], wait_s=240, users=info["users"], since=since
        )
        j = judge(posts, answer)
    result.tables.append(
        Table(
            "One GPU worker through the queue (skin10 photos as they are, 4 gunicorn workers)",
            ["photos", "images/s", "p50 ms", "p95 ms", "lost/duplicated"],
            [
                [
                    j["posted"],
                    rnd(j["throughput"], 1),
                    rnd(j["to_result"]["p50"], 1),
                    rnd(j["to_result"]["p95"], 1),
                    j["lost_or_duplicated"],
                ]
            ],
        )
    )
    result.figures["gpu_queue_images_per_s"] = rnd(j["throughput"], 1)
