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

from .encoders import ImageSequenceEncoder, TextTower


@dataclass(frozen=True)
class SpeedConfig:
    bf16: bool = False  # bf16 autocast (CUDA); tensor-core matmuls at half the memory traffic
    compile: bool = False  # torch.compile the image and text towers, in place (state-dict keys unchanged)
    compile_backend: str = "inductor"  # tests use "aot_eager": the same tracing, no code generation
    patch_matmul: bool = False  # ViT patch embeddings as one matmul over patches instead of a strided convolution
    # torch.compile's mode for the towers: "default", or "reduce-overhead" (CUDA graphs: one launch per graph instead
    # of ~3,400 kernel launches per training step, which the H100 profile found the host as slow to issue as the
    # GPU is to run; docs/benchmarks.md). Not measured yet, so nothing turns it on by default; `bench/throughput.py
    # --parts step,cudagraphs` compares it side by side.
    compile_mode: str = "default"

    @classmethod
    def interactive(cls, device: torch.device | str) -> "SpeedConfig":
        """One clip at a time (the app): plain fp32 on every device, no compile.

        Measured (docs/benchmarks.md, H100, ViT-B-32, 10-s clips): at batch 1 bf16 autocast runs 24.9 clips/s against
        fp32's 60.4, since autocast re-casts every weight of the four towers on each call (its cast cache lives for
        one autocast context), which costs more than the matmuls it speeds up; bf16 pulls ahead only from batch 8.
        A compile costs tens of seconds and every clip brings new shapes. On a CPU without AMX bf16 is slower too."""
        del device  # the same answer everywhere, measured on both kinds
        return cls()

    @classmethod
    def throughput(cls, device: torch.device | str) -> "SpeedConfig":
        """Many clips at fixed batch shapes (evaluation, training, benchmarks): bf16 and compiled towers on a GPU
        (never compiled on a Hugging Face ZeroGPU Space: merclip.spaces_support)."""
        from ..spaces_support import compile_allowed

        cuda = torch.device(device).type == "cuda"
        return cls(bf16=cuda, compile=cuda and compile_allowed(), patch_matmul=cuda)


def autocast(device: torch.device | str, speed: SpeedConfig):
    """The autocast context for `speed` on `device` (a no-op context when bf16 is off)."""
    device = torch.device(device)
    if not speed.bf16:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def towers(model: nn.Module) -> list[nn.Module]:
    """The modules that hold nearly all of the FLOPs: every image tower and every text transformer."""
    found = []
    for module in model.modules():
        if isinstance(module, ImageSequenceEncoder):
            found.append(module.visual)
        elif isinstance(module, TextTower):
            found.append(module.transformer)
    return found


class PatchEmbedMatmul(nn.Conv2d):
    """A convolution whose stride equals its kernel (a ViT patch embedding), computed as one matmul over patches.

    Why: profiling a bf16 training step on an H100 (docs/benchmarks.md) found cuDNN spending ~16 % of the step's
    GPU time on ViT-B-32's 32x32/stride-32 patch convolution (forward and weight gradient), about 40 TFLOP/s for
    what is a plain (B*49, 3072) x (3072, 768) product. Same parameters, same state-dict keys, same result up to
    floating-point summation order.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x (B, C, H, W) -> patches (B, H/p, W/p, C*p*p) @ weight^T (C*p*p, D) -> (B, D, H/p, W/p)
        (p_h, p_w), (B, C, H, W) = self.kernel_size, x.shape
        g_h, g_w = H // p_h, W // p_w  # a stride-p convolution without padding drops the remainder rows too
        patches = x[:, :, : g_h * p_h, : g_w * p_w].reshape(B, C, g_h, p_h, g_w, p_w)
        patches = patches.permute(0, 2, 4, 1, 3, 5).reshape(B, g_h, g_w, C * p_h * p_w)
        out = patches @ self.weight.reshape(self.out_channels, -1).t()  # (B, g_h, g_w, D)
        if self.bias is not None:
            out = out + self.bias
        return out.permute(0, 3, 1, 2)


def is_patch_embedding(module: nn.Module) -> bool:
    """A plain Conv2d that cuts its input into non-overlapping patches (stride == kernel, no padding)."""
    return (type(module) is nn.Conv2d and module.stride == module.kernel_size and module.groups == 1
            and module.dilation == (1, 1) and module.padding in ((0, 0), "valid"))


def patch_embeddings_as_matmul(module: nn.Module) -> int:
    """Swap every patch convolution inside `module` for PatchEmbedMatmul in place (its class only: parameters
    and keys stay); returns how many were swapped."""
    found = [m for m in module.modules() if is_patch_embedding(m)]
    for conv in found:
        conv.__class__ = PatchEmbedMatmul
    return len(found)


def apply_speed(model: nn.Module, speed: SpeedConfig) -> nn.Module:
    """Swap patch convolutions and compile the towers in place when asked; returns the model. Idempotent."""
    if speed.patch_matmul:
        for tower in towers(model):
            patch_embeddings_as_matmul(tower)
    if speed.compile:
        for tower in towers(model):
            if not getattr(tower, "_merclip_compiled", False):
                options = {} if speed.compile_mode == "default" else {"mode": speed.compile_mode}
                tower.compile(backend=speed.compile_backend, **options)  # in place: checkpoints keep their keys
                tower._merclip_compiled = True
    return model
