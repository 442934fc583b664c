"""Reference outputs of the shipped checkpoints on fixed inputs (as timm does), so no refactor changes a model silently.

`scripts/make_reference_outputs.py` runs each shipped checkpoint on `fixed_inputs` and writes the outputs to
`tests/reference/shipped_outputs.safetensors`; `tests/test_reference.py` recomputes them and compares. A change
that moves an output on purpose (a fix to the model or the decision rule) regenerates the file in the same commit,
so the diff shows it.

The inputs are made from closed-form patterns (no random generator), so they are the same on every machine and
torch version.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import torch

from .batch import ModalityInputs

TEXTS = ("what a lovely day, I am so happy", "I am so angry about it", "")
SHIPPED = ("merclip-tiny-synthetic", "lsgmer-tiny-synthetic")


def _pattern(shape: tuple[int, ...], phase: float) -> torch.Tensor:
    """A deterministic pseudo-random-looking tensor in [-1.5, 1.5] (CLIP-normalised pixel range)."""
    index = torch.arange(math.prod(shape), dtype=torch.float64)
    return (1.5 * torch.sin(index * 0.7071067811865476 + phase) * torch.cos(index * 0.0013 + 2 * phase)).reshape(
        shape).float()


def fixed_inputs(tokenizer, num_frames: int, audio_segments: int = 2, image_size: int = 224) -> ModalityInputs:
    """Three clips: full; audio with one valid segment of two; no transcript (the modality masked)."""
    b = len(TEXTS)
    return ModalityInputs(
        text_ids=tokenizer(list(TEXTS)),  # (3, 77)
        text_present=torch.tensor([True, True, False]),  # (3,)
        frames=_pattern((b, num_frames, 3, image_size, image_size), 0.1),  # (3, T_V, 3, S, S)
        frame_mask=torch.ones(b, num_frames, dtype=torch.bool),
        audio=_pattern((b, audio_segments, 3, image_size, image_size), 0.7),  # (3, T_A, 3, S, S)
        audio_mask=torch.tensor([[True] * audio_segments, [True] + [False] * (audio_segments - 1),
                                 [True] * audio_segments]),
    )


@torch.no_grad()
def reference_outputs(model) -> dict[str, torch.Tensor]:
    """Named fp32 outputs of a MER-CLIP or LSGMER model (eval mode, CPU) on `fixed_inputs`."""
    model = model.float().eval()
    frames = getattr(model.cfg, "num_frames", 1)
    inputs = fixed_inputs(model.tokenizer, frames)
    out = model(inputs)
    tensors = {"logits": out.logits, "probs": out.probs, "fused": out.fused}
    if hasattr(out, "attribution"):  # LSGMER
        tensors["attribution"] = out.attribution
    else:  # MER-CLIP
        tensors["similarity"] = out.similarity if out.similarity is not None else torch.zeros(0)
        feats = model.encode_modalities(inputs)
        tensors.update({f"pooled_{m}": v for m, v in feats.pooled.items()})  # (3, D) each
        for a in out.attentions:
            tensors[f"cross_attn_{a.layer}_{a.modality}"] = a.cross_attn  # (3, heads, 1, T_m)
    return {k: v.detach().float().contiguous() for k, v in tensors.items()}


def file_sha256(path: str | Path) -> str:
    """Digest of a checkpoint's weights, stored beside the reference so a retrained checkpoint is noticed."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
