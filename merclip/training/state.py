"""What a training run writes besides the model, so that `--resume` continues exactly: the optimiser's state and the
trainer's bookkeeping (epoch, history, best), each written atomically beside the epoch's checkpoint.

It also holds the fault-injection hooks the resume tests use to kill a run at a named point (environment
variables; unset in every real run).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..files import atomic_write
from ..models.checkpoint import load_weights, save_checkpoint

KILL_ENV = "MERCLIP_KILL_AFTER_STEPS"  # testing aid: die abruptly after N optimiser steps
KILL_SAVE_ENV = "MERCLIP_KILL_DURING_SAVE"  # testing aid: die inside the N-th checkpoint write ("N:stage")


def kill_after_steps() -> int:
    """The step after which `maybe_die_after` kills the run (0: never)."""
    return int(os.environ.get(KILL_ENV, "0"))


def maybe_die_after(steps: int, kill_after: int) -> None:
    """Fault injection for the resume tests: a hard kill (no cleanup, no final save) once `kill_after` steps ran."""
    if kill_after and steps >= kill_after:
        os._exit(137)


def maybe_die_during_save(epoch: int, stage: str) -> None:
    """Fault injection for the resume tests: a hard kill at a named point of the epoch-`epoch` save."""
    spec = os.environ.get(KILL_SAVE_ENV, "")
    if spec and spec == f"{epoch}:{stage}":
        os._exit(137)


def save_training_state(directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
    save_checkpoint(model, directory)
    maybe_die_during_save(state["epoch"], "after-model")
    opt = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, pstate in opt["state"].items():
        for name, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{name}"] = value
    atomic_write(directory / "optimizer.safetensors", lambda tmp: save_file(tensors, tmp))
    maybe_die_during_save(state["epoch"], "after-optimizer")
    meta = {"param_groups": opt["param_groups"], "scalars": scalars, **state}
    atomic_write(directory / "trainer.json", lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1)))


def load_training_state(directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
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
