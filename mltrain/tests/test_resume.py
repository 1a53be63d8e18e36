from __future__ import annotations

from pathlib import Path

import torch

from mltrain.ml.architectures import build_model
from mltrain.ml.engine import train
from mltrain.tests.conftest import tiny_config, tiny_train_val_sets


def test_resume_continues_from_the_saved_epoch(manifest_data: Path, tmp_path: Path):
    torch.set_num_threads(1)
    train_set, val_set = tiny_train_val_sets(manifest_data)
    messages: list[str] = []

    torch.manual_seed(0)
    straight = train(build_model("custom_cnn"), train_set, val_set, tiny_config(epochs=3),
                     checkpoint=tmp_path / "a.pt", log=messages.append, progress=False)  # fmt: skip

    # An "interrupted" run: two epochs, then a new process resumes it to three.
    torch.manual_seed(0)
    train(build_model("custom_cnn"), train_set, val_set, tiny_config(epochs=2),
          checkpoint=tmp_path / "b.pt", log=messages.append, progress=False)  # fmt: skip
    saved = torch.load(tmp_path / "b.pt", weights_only=True)
    assert saved["epoch"] == 1  # zero-based: two epochs done
    messages.clear()
    resumed = train(build_model("custom_cnn"), train_set, val_set, tiny_config(epochs=3),
                    checkpoint=tmp_path / "b.pt", resume=True, log=messages.append,
                    progress=False)  # fmt: skip

    assert messages[0].startswith("Resuming after epoch 2 of 3")
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    assert sum(m.startswith("epoch ") for m in messages) == 1  # only epoch 3 was trained
    for key in ("train_loss", "val_accuracy"):
        assert abs(resumed.history[2][key] - straight.history[2][key]) < 1e-3
