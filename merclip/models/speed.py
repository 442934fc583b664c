"""How to run the model fast: one small config shared by the Predictor, evaluation, training and `bench/`.

None of these options changes the model's maths. bf16 autocast changes rounding only (the fast path's
predictions agree with fp32 within bf16 tolerance: tests/test_speed.py), and `torch.compile` changes which
kernels run. Attention in the towers is already fused: open_clip calls PyTorch's scaled-dot-product attention
(flash / memory-efficient kernels on a GPU). The CMD asks for its attention weights (the app shows them), but
its query is a single token, so its attention costs next to nothing.
"""
from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass

import torch
from torch import nn

from ..pretrained.text_tower import TextTower
from .encoders import ImageSequenceEncoder


@dataclass(frozen=True)
class SpeedConfig:
    bf16: bool = False  # bf16 autocast (CUDA); tensor-core matmuls at half the memory traffic
    compile: bool = False  # torch.compile the image and text towers, in place (state-dict keys unchanged)
    compile_backend: str = "inductor"  # tests use "aot_eager": the same tracing, no code generation
    patch_matmul: bool = False  # ViT patch embeddings as one matmul over patches instead of a strided convolution
    # torch.compile's mode for the towers: "default", or "reduce-overhead" (CUDA graphs: one launch per graph, for a
    # training step whose thousands of small kernel launches keep the host as busy as the GPU; docs/benchmarks.md).
    # Off by default until `bench/throughput.py --parts step,cudagraphs` shows it pays.
    compile_mode: str = "default"

    @classmethod
    def interactive(cls, device: torch.device | str) -> "SpeedConfig":
        """One clip at a time (the app): plain fp32 on every device, no compile.

        Why: at batch 1 bf16 autocast is slower than fp32 (docs/benchmarks.md): it re-casts every weight of the four
        towers on each call (its cast cache lives for one autocast context), which costs more than the matmuls it
        speeds up. A compile costs tens of seconds and every clip brings new shapes."""
        del device  # the same answer on a GPU and on a CPU
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


class PatchEmbedMatmul(nn.Module):
    """A ViT patch embedding (a convolution whose stride equals its kernel) computed as one matmul over patches.

    Why: cuDNN runs ViT-B-32's 32x32/stride-32 convolution far below the GPU's matmul rate (docs/benchmarks.md),
    though it is a plain (B*49, 3072) x (3072, 768) product. It holds the convolution's own weight and bias under
    the same names (same state-dict keys), so the result is the convolution's up to floating-point summation order.
    """

    def __init__(self, weight: nn.Parameter, bias: nn.Parameter | None):
        super().__init__()
        self.weight = weight  # (D, C, p_h, p_w)
        self.register_parameter("bias", bias)  # (D,), or None as a Conv2d keeps it (then no state-dict key)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> "PatchEmbedMatmul":
        """The computation of `conv` (a patch embedding: `is_patch_embedding`) on the very same parameters."""
        if not is_patch_embedding(conv):
            raise ValueError(f"not a patch embedding (stride == kernel, no padding, dilation or groups): {conv}")
        return cls(conv.weight, conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x (B, C, H, W) -> patches (B, H/p, W/p, C*p*p) @ weight^T (C*p*p, D) -> (B, D, H/p, W/p)
        (D, _, p_h, p_w), (B, C, H, W) = self.weight.shape, x.shape
        g_h, g_w = H // p_h, W // p_w  # a stride-p convolution without padding drops the remainder rows too
        patches = x[:, :, : g_h * p_h, : g_w * p_w].reshape(B, C, g_h, p_h, g_w, p_w)
        patches = patches.permute(0, 2, 4, 1, 3, 5).reshape(B, g_h, g_w, C * p_h * p_w)
        out = patches @ self.weight.reshape(D, -1).t()  # (B, g_h, g_w, D)
        if self.bias is not None:
            out = out + self.bias
        return out.permute(0, 3, 1, 2)


def is_patch_embedding(module: nn.Module) -> bool:
    """A plain Conv2d that cuts its input into non-overlapping patches (stride == kernel, no padding)."""
    return (type(module) is nn.Conv2d and module.stride == module.kernel_size and module.groups == 1
            and module.dilation == (1, 1) and module.padding in ((0, 0), "valid"))


def patch_embeddings_as_matmul(module: nn.Module) -> int:
    """Replace every patch convolution below `module` by a PatchEmbedMatmul on the same parameters (so the keys and
    an optimiser's references stay); returns how many were replaced. A second call finds none left."""
    found = [name for name, child in module.named_modules() if name and is_patch_embedding(child)]
    for name in found:
        parent_name, _, child_name = name.rpartition(".")
        parent = module.get_submodule(parent_name)
        setattr(parent, child_name, PatchEmbedMatmul.from_conv(getattr(parent, child_name)))
    return len(found)


# The towers this process has compiled in place: compiling one again would only wrap it twice. A weak set, so a
# model that is dropped is not kept alive by it.
_COMPILED: weakref.WeakSet[nn.Module] = weakref.WeakSet()


def apply_speed(model: nn.Module, speed: SpeedConfig) -> nn.Module:
    """Replace patch convolutions and compile the towers in place when asked; returns the model. Idempotent."""
    if speed.patch_matmul:
        for tower in towers(model):
            patch_embeddings_as_matmul(tower)
    if speed.compile:
        options = {} if speed.compile_mode == "default" else {"mode": speed.compile_mode}
        for tower in towers(model):
            if tower not in _COMPILED:
                tower.compile(backend=speed.compile_backend, **options)  # in place: checkpoints keep their keys
                _COMPILED.add(tower)
    return model
