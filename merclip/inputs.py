"""Batching: decoded clips (media.ClipInputs) -> padded model inputs (model.ModalityInputs).

Shared by the Predictor (batch of one) and the training data loaders, so inference and training
see exactly the same tensors.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from .decoded import ClipInputs
from .model import ModalityInputs


def truncation_note(tokenizer, text: str) -> str | None:
    """A note for the user when CLIP's context length cuts the transcript (a second tokenisation: inference only)."""
    context = getattr(tokenizer, "context_length", 77)
    if hasattr(tokenizer, "encode") and len(tokenizer.encode(text)) > context - 2:
        return f"transcript longer than CLIP's {context}-token context: only its start was used"
    return None


def _pad_stack(items: list[torch.Tensor | None]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Stack (T_i, ...) tensors into (B, T_max, ...) with a (B, T_max) validity mask; None items are absent."""
    real = [x for x in items if x is not None]
    if not real:
        return None, None
    t_max = max(x.shape[0] for x in real)
    shape = real[0].shape[1:]
    out = torch.zeros(len(items), t_max, *shape, dtype=real[0].dtype)
    mask = torch.zeros(len(items), t_max, dtype=torch.bool)
    for i, x in enumerate(items):
        if x is not None:
            out[i, : x.shape[0]] = x
            mask[i, : x.shape[0]] = True
    return out, mask


def collate_clips(clips: Sequence[ClipInputs], tokenizer) -> ModalityInputs:
    ids = tokenizer([c.transcript for c in clips])  # (B, context): CLIP truncates long transcripts
    frames, frame_mask = _pad_stack([c.frames for c in clips])
    audio, audio_mask = _pad_stack([c.audio for c in clips])
    return ModalityInputs(
        text_ids=ids,
        text_present=torch.tensor([bool(c.transcript.strip()) for c in clips]),
        frames=frames,
        frame_mask=frame_mask,
        audio=audio,
        audio_mask=audio_mask,
    )
