"""How to run the model fast: one small config shared by the Predictor, evaluation, training and `bench/`.

None of these options changes the model's maths. bf16 autocast changes rounding only (the fast path's
predictions agree with fp32 within bf16 tolerance: tests/test_speed.py), and `torch.compile` changes which
kernels run. Attention in the towers is already fused: open_clip calls PyTorch's scaled-dot-product attention
(flash / memory-efficient kernels on a GPU). The CMD asks for its attention weights (the app shows them), but
its query is a single token, so its attention costs next to nothing.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class SpeedConfig:
    bf16: bool = False  # bf16 autocast (CUDA); tensor-core matmuls at half the memory traffic
    compile: bool = False  # torch.compile the image and text towers, in place (state-dict keys unchanged)
    compile_backend: str = "inductor"  # tests use "aot_eager": the same tracing, no code generation

    @classmethod
    def interactive(cls, device: torch.device | str) -> "SpeedConfig":
        """One clip at a time (the app): bf16 on a GPU, no compile, since every clip brings new shapes and a
        compile costs tens of seconds; plain fp32 on a CPU (bf16 autocast there is slower without AMX)."""
        return cls(bf16=torch.device(device).type == "cuda")

    @classmethod
    def throughput(cls, device: torch.device | str) -> "SpeedConfig":
        """Many clips at fixed batch shapes (evaluation, training, benchmarks): bf16 and compiled towers on a GPU."""
        cuda = torch.device(device).type == "cuda"
        return cls(bf16=cuda, compile=cuda)


def autocast(device: torch.device | str, speed: SpeedConfig):
    """The autocast context for `speed` on `device` (a no-op context when bf16 is off)."""
    device = torch.device(device)
    if not speed.bf16:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def towers(model: nn.Module) -> list[nn.Module]:
    """The modules that hold nearly all of the FLOPs: every image tower and every text transformer."""
    from .encoders import ImageSequenceEncoder, TextTower

    found = []
    for module in model.modules():
        if isinstance(module, ImageSequenceEncoder):
            found.append(module.visual)
        elif isinstance(module, TextTower):
            found.append(module.transformer)
    return found


def apply_speed(model: nn.Module, speed: SpeedConfig) -> nn.Module:
    """Compile the towers in place when asked; returns the model for chaining. Idempotent."""
    if speed.compile:
        for tower in towers(model):
            if not getattr(tower, "_merclip_compiled", False):
                tower.compile(backend=speed.compile_backend)  # in place: checkpoints keep their keys
                tower._merclip_compiled = True
    return model
