"""What a training run needs besides its recipe: where it computes (`RunConfig`) and the calls it makes to its
caller at fixed points (`TrainingHooks`).

Neither is saved with a run: a device name or a local weights path says nothing about the model, and a hook
belongs to the process that passed it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# The points of an epoch's save, in the order they are reached: the model written, the optimiser state written,
# everything written but `latest.json` not yet pointed at it, `latest.json` pointed at it.
SAVE_STAGES = ("after-model", "after-optimizer", "before-latest", "after-latest")


@dataclass(frozen=True)
class RunConfig:
    """This process's resources: the device (None: the GPU when there is one) and a local open_clip weights file
    (None: open_clip's own lookup)."""

    device: str | None = None
    clip_weights: str | None = None


def _do_nothing(*_args) -> None:
    """The default hook."""


@dataclass(frozen=True)
class TrainingHooks:
    """Calls `merclip.training.loop.train` makes, so that a caller can observe or interrupt a run at exact points
    (the resume tests end the process at each of them). Both do nothing by default.

    after_step(step): after every optimiser step; `step` counts the run's steps from 1, across epochs.
    during_save(epoch, stage): at each of SAVE_STAGES of the 0-based epoch `epoch`'s checkpoint write.
    after_epoch(epoch, checkpoint): once the 0-based epoch's checkpoint folder is complete, before the previous
    epoch's is removed (the demo's recipe scores each epoch on the real-ish dev split here: scripts/train_demo.py).
    """

    after_step: Callable[[int], None] = _do_nothing
    during_save: Callable[[int, str], None] = _do_nothing
    after_epoch: Callable[[int, Path], None] = _do_nothing
