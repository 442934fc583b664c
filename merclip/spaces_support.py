"""Hugging Face Spaces support: ZeroGPU's decorator where its package is present, and its rules.

On a ZeroGPU Space (identified by SPACES_ZERO_GPU=true, as the `spaces` package itself reads it) a GPU is attached
only while a function decorated with `@spaces.GPU` runs, so the app's GPU entry points carry it; everywhere else
`gpu_entry` returns the function unchanged and nothing imports `spaces`. HF's ZeroGPU documentation also asks that
the model be moved to CUDA at start-up (the package patches torch so that this works before a GPU is attached),
not inside the decorated function, and that torch.compile stay off (each call may land on another GPU slice):
`startup_device` and `compile_allowed` say so for the app and for `merclip.models.speed`.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping

ZERO_GPU_ENV = "SPACES_ZERO_GPU"


def on_zero_gpu(environ: Mapping[str, str] = os.environ) -> bool:
    """True on a ZeroGPU Space (the `spaces` package's own test of the variable)."""
    return environ.get(ZERO_GPU_ENV, "").lower() in ("1", "t", "true")


def gpu_entry(fn: Callable, duration: int = 60) -> Callable:
    """`spaces.GPU(duration=...)(fn)` where the `spaces` package is installed (it has no effect off ZeroGPU), else fn."""
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=duration)(fn)


def startup_device(requested: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The device to load the model on at start-up: CUDA on ZeroGPU (unless one was asked for), else as asked."""
    if requested is None and on_zero_gpu(environ):
        return "cuda"
    return requested


def compile_allowed(environ: Mapping[str, str] = os.environ) -> bool:
    """torch.compile is off under ZeroGPU (HF's ZeroGPU docs); elsewhere the caller decides."""
    return not on_zero_gpu(environ)
