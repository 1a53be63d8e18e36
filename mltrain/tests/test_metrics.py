from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from mltrain.ml.calibration import expected_calibration_error, fit_temperature, softmax
from mltrain.ml.data import ImageDataset, ImageRecord
from mltrain.ml.metrics import balanced_accuracy, class_weights, evaluate
from mltrain.ml.sampling import sample_weights


def test_balanced_class_weights_equal_scikit_learns():
    labels = [0] * 50 + [1] * 10 + [2] * 5 + [4] * 35
    present = np.array([0, 1, 2, 4])
    expected = compute_class_weight("balanced", classes=present, y=labels)
    weights = class_weights(labels, 10, "balanced")
    np.testing.assert_allclose(weights[present], expected, rtol=1e-6)
    assert weights[3] == 1.0  # absent classes never reach the loss
    np.testing.assert_allclose(
        class_weights(labels, 10, "sqrt")[present], np.sqrt(expected), rtol=1e-6
    )


def test_metrics_are_split_by_source_with_clinical_melanoma_recall():
    labels = np.array([1, 1, 1, 1, 4, 4])
    probs = np.full((6, 10), 0.01, dtype=np.float32)
    for i, predicted in enumerate([1, 1, 4, 1, 4, 4]):
        probs[i, labels[i]] = 0.05  # the true class is at least second
        probs[i, predicted] = 0.86
    sources = ["ham", "ham", "dermnet", "dermnet", "ham", "dermnet"]
    types = ["dermoscopic" if s == "ham" else "clinical" for s in sources]
    result = evaluate(probs, labels, sources=sources, photo_types=types)
    assert result["accuracy"] == pytest.approx(5 / 6, abs=1e-4)
    assert result["by_source"]["dermnet"]["count"] == 3
    assert result["clinical_melanoma_recall"] == 0.5
    assert result["per_class"]["melanoma"]["support"] == 4
    assert result["top3_accuracy"] == 1.0


def test_temperature_scaling_fixes_overconfident_logits():
    rng = np.random.default_rng(0)
    calibrated = rng.normal(0, 1.5, (4000, 10))
    probs = softmax(calibrated)
    labels = np.array([rng.choice(10, p=p / p.sum()) for p in probs.astype(np.float64)])
    overconfident = calibrated * 4
    before = expected_calibration_error(softmax(overconfident), labels)
    temperature = fit_temperature(overconfident, labels)
    after = expected_calibration_error(softmax(overconfident, temperature), labels)
    assert 3.3 < temperature < 4.8
    assert after < before / 3


def test_source_aware_sampling_gives_clinical_photos_a_bigger_share_of_their_class():
    records = [ImageRecord(path=None, label=1, group_id=str(i), source="ham") for i in range(90)]
    records += [
        ImageRecord(path=None, label=1, group_id=f"d{i}", source="dermnet") for i in range(10)
    ]
    records += [
        ImageRecord(path=None, label=0, group_id=f"e{i}", source="dermnet") for i in range(25)
    ]
    weights = sample_weights(ImageDataset(records, transform=None))
    clinical_melanoma = weights[90:100].sum() / weights[:100].sum()
    assert clinical_melanoma == pytest.approx(np.sqrt(10) / (np.sqrt(10) + np.sqrt(90)))
    # Classes get shares proportional to the square root of their size: 10 : 5.
    assert weights[:100].sum() / weights[100:].sum() == pytest.approx(2.0)

    # balanced_types: the two photo types of melanoma are drawn equally often; classes as before.
    equal = sample_weights(ImageDataset(records, transform=None), type_power=0.0)
    assert equal[90:100].sum() / equal[:100].sum() == pytest.approx(0.5)
    assert equal[:100].sum() / equal[100:].sum() == pytest.approx(2.0)


def test_balanced_accuracy_counts_only_present_classes_and_stays_quiet():
    labels = np.array([0, 0, 1, 1])
    preds = np.array([0, 2, 1, 1])  # class 2 is predicted but absent from the labels
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert balanced_accuracy(labels, preds) == pytest.approx((0.5 + 1.0) / 2)
