"""What a training run writes besides the model, so that `--resume` continues exactly: the optimiser's state and the
trainer's bookkeeping (epoch, history, best), each written atomically beside the epoch's checkpoint.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..files import atomic_write
from ..models.checkpoint import load_weights, save_checkpoint
from .runtime import TrainingHooks


def save_training_state(directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer, state: dict,
                        hooks: TrainingHooks = TrainingHooks()) -> None:
    """The model, then the optimiser's tensors (safetensors) and the rest of its state with `state` (trainer.json)."""
    save_checkpoint(model, directory)
    hooks.during_save(state["epoch"], "after-model")
    opt = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, pstate in opt["state"].items():
        for name, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{name}"] = value
    atomic_write(directory / "optimizer.safetensors", lambda tmp: save_file(tensors, tmp))
    hooks.during_save(state["epoch"], "after-optimizer")
    meta = {"param_groups": opt["param_groups"], "scalars": scalars, **state}
    atomic_write(directory / "trainer.json", lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1)))


def load_training_state(directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Load what `save_training_state` wrote into `model` and `optimizer`; returns the trainer's `state`."""
    load_weights(model, directory)
    meta = json.loads((directory / "trainer.json").read_text())
    state: dict = {}
    for key, value in load_file(str(directory / "optimizer.safetensors")).items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for key, value in meta.pop("scalars").items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta.pop("param_groups")})
    return meta
