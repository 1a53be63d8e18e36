"""What the trust layer refuses, passes and costs (issue 12).

* the not-skin gate on the photos installed packages ship (scikit-image, scikit-learn,
  matplotlib; each whole, mirrored and cropped) and on generated ones (flat colour, noise, text,
  a drawn web page), and its pass rate on the test photos of skin10 and clinical-extra, split as
  ``fit_trust`` splits them, per photo type;
* the answers given: accuracy and coverage of clinical and dermoscopic answers at the bundle's
  can't-tell thresholds;
* the quality check's false refusals on those test photos;
* the added cost per photo: the classifier alone against the classifier plus the gate's second
  pass, kNN and photo-type head, batch 1, interleaved.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from bench.artifact import ArtifactChoice
from bench.common import SHARED_DIR, BenchResult, Skipped, Table


@dataclass(frozen=True)
class TrustConfig:
    threads: int = 2
    rounds: int = 200
    #: Every n-th test photo (1: all of them).
    every: int = 1


QUICK = TrustConfig(rounds=20, every=10)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _median_ms(call: Any, rounds: int) -> float:
    for _ in range(10):  # warm-up
        call()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _added_cost(
    bundle: Any, predictor: Any, manifest: Any, photo: Image.Image, rounds: int
) -> tuple[float, float]:
    """Median ms of the classifier alone and of the worker's trust path (one ONNX Runtime
    session for both networks, as ``diagnosis.inference`` builds it), in blocks: alternating
    two sessions call by call would measure their thread pools fighting, which the worker,
    holding one session, never sees."""
    from mltrain.ml.preprocess import preprocess

    batch = preprocess(photo, input_size=manifest.input_size, mean=manifest.mean, std=manifest.std)
    batch = batch[np.newaxis]
    bundle.attach_classifier(manifest.file("model.onnx"), num_threads=2)
    alone = _median_ms(lambda: predictor.predict_logits(batch), rounds)
    judged = _median_ms(lambda: bundle.judge_features(*bundle.run_combined(batch)), rounds)
    return alone, judged


def run(choice: ArtifactChoice, config: TrustConfig) -> BenchResult:
    from mltrain.ml import quality
    from mltrain.ml.artifacts import load_manifest
    from mltrain.ml.predictors import load_predictor
    from mltrain.ml.split import load_split
    from mltrain.ml.trust.bundle import load_trust
    from mltrain.ml.trust.fit import extract
    from mltrain.ml.trust.probes import framings, generated_photos, real_photos
    from mltrain.ml.trust.runner import evaluate_trust, gather

    manifest = load_manifest(choice.path)
    bundle = load_trust(manifest, num_threads=config.threads)
    if bundle is None:
        raise Skipped(f"{manifest.version} has no trust bundle (manage.py fit_trust adds one)")
    data = [SHARED_DIR / "data" / "skin10", SHARED_DIR / "data" / "clinical-extra"]
    if not all(root.is_dir() for root in data):
        raise Skipped("the test photos are not available: ../shared/data is absent")
    predictor = load_predictor(choice.path, num_threads=config.threads)

    real = framings(real_photos())
    made = generated_photos()
    rows = []
    figures: dict[str, Any] = {}
    for label, photos in (("real photos (packages)", real), ("generated", made)):
        features, _ = extract([image for _, image in photos], bundle.session)
        rejected = bundle.gate_scores(features) > bundle.gate_threshold
        refused = [
            not quality.assess(image, min_side=quality.min_side_for(manifest.input_size)).acceptable
            for _, image in photos
        ]
        either = rejected | np.asarray(refused)
        rows.append([label, len(photos), _pct(float(rejected.mean())), _pct(float(either.mean()))])
        if label.startswith("real"):
            figures["nonskin_rejected_rate"] = round(float(rejected.mean()), 4)
    split_file = manifest.file("split.json")
    records = gather(
        data, [], load_split(split_file) if split_file.is_file() else None, lambda _: None
    )["test"][:: config.every]
    measured = evaluate_trust(choice.path, records)
    if measured is None:
        raise Skipped(f"{manifest.version}'s trust bundle could not be measured")
    by_type = measured["by_photo_type"]
    for kind, row in by_type.items():
        figures[f"inscope_pass_rate_{kind}"] = round(row["gate_pass_rate"], 4)
    clinical = by_type.get("clinical", {})
    figures["answered_clinical_accuracy"] = clinical.get("answered_accuracy")
    figures["answered_clinical_coverage"] = clinical.get("answered_coverage")
    min_side = quality.min_side_for(manifest.input_size)
    refusals: dict[str, list[bool]] = {}
    for record in records:
        with Image.open(record.path) as image:
            report = quality.assess(image.convert("RGB"), min_side=min_side)
        refusals.setdefault(record.photo_type, []).append(not report.acceptable)

    with Image.open(records[0].path) as image:
        photo = image.convert("RGB")
    alone, judged = _added_cost(bundle, predictor, manifest, photo, config.rounds)
    figures["gate_added_ms"] = round(judged - alone, 2)

    gate = Table(
        "Not-skin gate: share refused (by the gate; by the gate or the quality check)",
        ["photos", "count", "gate refused", "gate or quality refused"],
        rows,
    )
    answers = Table(
        "Test photos of skin10 + clinical-extra, per photo type",
        [
            "photo type", "count", "pass the gate", "quality refused", "accuracy", "ECE",
            "can't tell below", "answered", "answers right",
        ],
        [
            [
                kind, row["count"], _pct(row["gate_pass_rate"]),
                _pct(float(np.mean(refusals.get(kind, [False])))), _pct(row["accuracy"]),
                f"{row['ece']:.3f}", f"{row['abstain_threshold']:.2f}",
                _pct(row["answered_coverage"]), _pct(row["answered_accuracy"]),
            ]
            for kind, row in by_type.items()
        ],
    )  # fmt: skip
    cost = Table(
        f"Added cost per photo, batch 1, {config.threads} threads, median of {config.rounds}",
        ["path", "ms"],
        [
            ["classifier alone", round(alone, 2)],
            ["classifier + trust layer (one session)", round(judged, 2)],
            ["trust layer / classifier", round(judged / alone - 1, 2)],
        ],
    )
    notes = [
        f"gate threshold {bundle.gate_threshold:.3f}, set on validation photos to pass "
        f"{bundle.config['gate']['pass_quantile']:.0%} of each photo type",
        f"{len(records)} test photos; real non-skin photos: {len(real) // 3} pictures, each whole, "
        "mirrored and cropped",
    ]
    return BenchResult("trust", tables=[gate, answers, cost], figures=figures, notes=notes)
