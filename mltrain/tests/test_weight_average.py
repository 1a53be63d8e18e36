"""The moving average of the weights (``ema_decay``): what it averages, and that it is the model
that is validated and kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mltrain.ml.architectures import build_model
from mltrain.ml.config import TrainingError
from mltrain.ml.engine import train
from mltrain.tests.conftest import tiny_config, tiny_train_val_sets

# One optimiser step per epoch: the tiny training part (about 32 images) fits one batch. At this
# rate the second epoch scores better than the first on validation, with seed 0 (checked again
# when the split became stratified by photo type as well as class: 3e-3 no longer did).
ONE_STEP = {"batch_size": 64, "patience": 9, "lr": 1e-2}


def _last_weights(train_set, val_set, checkpoint: Path, **overrides) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    train(build_model("custom_cnn"), train_set, val_set, tiny_config(**ONE_STEP, **overrides),
          checkpoint=checkpoint, log=lambda _m: None, progress=False)  # fmt: skip
    return torch.load(checkpoint, weights_only=True)


def test_the_average_follows_the_decay_and_leaves_training_alone(manifest_data, tmp_path):
    torch.set_num_threads(1)
    train_set, val_set = tiny_train_val_sets(manifest_data)
    after_one = _last_weights(train_set, val_set, tmp_path / "one.pt", epochs=1)["model"]
    plain = _last_weights(train_set, val_set, tmp_path / "plain.pt", epochs=2)["model"]
    averaged = _last_weights(train_set, val_set, tmp_path / "ema.pt", epochs=2, ema_decay=0.25)

    # The raw weights train exactly as without the average.
    for name, value in plain.items():
        torch.testing.assert_close(averaged["model"][name], value)
    # The first update copies the weights; the second mixes in 0.75 of the new ones.
    changed = 0
    for name, value in plain.items():
        if not value.is_floating_point():
            continue
        expected = 0.25 * after_one[name] + 0.75 * value
        torch.testing.assert_close(averaged["ema"][f"module.{name}"], expected)
        changed += int(not torch.equal(after_one[name], value))
    assert changed > 0  # the second step moved the weights, so the check above means something


def test_the_average_is_what_early_stopping_keeps(manifest_data, tmp_path):
    torch.set_num_threads(1)
    train_set, val_set = tiny_train_val_sets(manifest_data)
    saved = _last_weights(train_set, val_set, tmp_path / "ema.pt", epochs=2, ema_decay=0.25)
    torch.manual_seed(0)
    model = build_model("custom_cnn")
    result = train(model, train_set, val_set, tiny_config(**ONE_STEP, epochs=2, ema_decay=0.25),
                   log=lambda _m: None, progress=False)  # fmt: skip

    assert result.best_epoch == 2, "the premise: epoch 2 is the best, so it is the one kept"
    kept = model.state_dict()
    for name, value in kept.items():
        torch.testing.assert_close(value, saved["ema"][f"module.{name}"])
    floats = [name for name, value in kept.items() if value.is_floating_point()]
    assert any(not torch.equal(kept[name], saved["model"][name]) for name in floats)


def test_resuming_with_another_decay_is_refused(manifest_data, tmp_path):
    train_set, val_set = tiny_train_val_sets(manifest_data)
    _last_weights(train_set, val_set, tmp_path / "ema.pt", epochs=1, ema_decay=0.25)
    with pytest.raises(TrainingError, match=r"ema_decay=0\.25"):
        train(build_model("custom_cnn"), train_set, val_set,
              tiny_config(**ONE_STEP, epochs=2, ema_decay=0.5), checkpoint=tmp_path / "ema.pt",
              resume=True, log=lambda _m: None, progress=False)  # fmt: skip


@pytest.mark.parametrize("decay", [1.0, 1.5, -0.1])
def test_a_decay_outside_zero_to_one_is_refused(manifest_data, decay):
    train_set, val_set = tiny_train_val_sets(manifest_data)
    with pytest.raises(TrainingError, match="ema_decay"):
        train(build_model("custom_cnn"), train_set, val_set, tiny_config(ema_decay=decay),
              log=lambda _m: None, progress=False)  # fmt: skip
