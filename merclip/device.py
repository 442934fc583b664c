"""The package's one choice of device, so that the app, prediction, training, evaluation and the benchmarks agree."""
from __future__ import annotations

import torch

from .errors import UserError
from .spaces_support import on_zero_gpu


class DeviceError(UserError):
    """A device was asked for that torch does not know or this machine does not have."""


def select_device(name: str | torch.device | None = None) -> torch.device:
    """`name` as given ("cpu", "cuda", "cuda:1" or a torch.device); when none is given, the GPU if there is one.

    A name torch cannot parse ("tpu") or a CUDA device this machine lacks is a `DeviceError` naming it, here, before
    any model or data is loaded: torch's own RuntimeError would otherwise surface as a traceback, for "cuda" only at
    the first tensor moved. On ZeroGPU a GPU is attached later (spaces_support), so "cuda" is taken on trust there."""
    if not name:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise DeviceError(f"unknown device {str(name)!r}: use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not on_zero_gpu():
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceError(f"device {str(name)!r} was asked for, but no CUDA GPU is available here: use cpu")
        if device.index is not None and device.index >= count:
            raise DeviceError(f"device {str(name)!r} was asked for, but this machine has {count} CUDA GPU(s)")
    return device
