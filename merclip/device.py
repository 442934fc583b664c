"""The package's one choice of device, so that the app, prediction, training, evaluation and the benchmarks agree."""
from __future__ import annotations

import torch


def select_device(name: str | torch.device | None = None) -> torch.device:
    """`name` as given ("cpu", "cuda", "cuda:1" or a torch.device); when none is given, the GPU if there is one."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
