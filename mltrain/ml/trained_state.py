"""A trained state: best weights trained on one machine (a GPU's, by the sweep), with how they
were trained and on which split, for ``train_model --trained-state`` to package into an artifact
on another machine's copy of the data."""

from __future__ import annotations

from pathlib import Path

import torch

from .artifacts import ArtifactError
from .config import TrainConfig
from .engine import TrainResult

TRAINED_STATE_FORMAT = "skinsite-trained-state/1"


def save_trained_state(
    path: Path,
    model: torch.nn.Module,
    config: TrainConfig,
    result: TrainResult,
    entry: dict,
    split: dict,
) -> None:
    """Write ``path`` atomically: ``model``'s weights, the ``config`` and ``result`` of its run
    (the sweep's plan ``entry`` names its recipe and starting weights) and its ``split``."""
    state = {
        "format": TRAINED_STATE_FORMAT,
        "split": split,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": {**config.to_dict(), "deadline": None, "device": "cpu", "num_workers": 0},
        "recipe": entry.get("recipe", "reference"),
        "weights": entry.get("weights", "none"),
        "training": {
            **result.record(),
            "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
            "torch": str(torch.__version__),
        },
    }
    partial = path.with_suffix(".part")
    torch.save(state, partial)
    partial.replace(path)


def load_trained_state(path: Path | str) -> dict:
    """A file written by ``save_trained_state``, checked to be one."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ArtifactError(f"Trained state {path} does not exist.") from exc
    except Exception as exc:
        raise ArtifactError(f"{path} is not a loadable trained state: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != TRAINED_STATE_FORMAT:
        raise ArtifactError(f"{path} is not a trained state ({TRAINED_STATE_FORMAT}).")
    return state
