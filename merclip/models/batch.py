"""A batch of model inputs (`ModalityInputs`), and how decoded clips (`decoded.ClipInputs`) become one.

Shared by the predictors (batch of one) and the training data loaders, so inference and training
see exactly the same tensors. Torch alone: the data code imports it without pulling in open_clip
(the tokenizer is handed in).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from ..media.decoded import ClipInputs, normalise_uint8


@dataclass
class ModalityInputs:
    """A batch of raw model inputs; an entire modality may be None, single samples are masked."""

    text_ids: torch.Tensor | None = None  # (B, T_L) token ids
    text_present: torch.Tensor | None = None  # (B,) bool
    frames: torch.Tensor | None = None  # (B, T_V, 3, S, S)
    frame_mask: torch.Tensor | None = None  # (B, T_V) bool
    audio: torch.Tensor | None = None  # (B, T_A, 3, S, S)
    audio_mask: torch.Tensor | None = None  # (B, T_A) bool

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "ModalityInputs":
        return ModalityInputs(**{k: (v.to(device, non_blocking=non_blocking) if v is not None else None)
                                 for k, v in self.__dict__.items()})

    def pin_memory(self) -> "ModalityInputs":
        """Page-locked copies, so that the host-to-GPU copy can overlap compute (DataLoader(pin_memory=True))."""
        return ModalityInputs(**{k: (v.pin_memory() if v is not None else None) for k, v in self.__dict__.items()})

    def normalised(self, mean: Sequence[float], std: Sequence[float]) -> "ModalityInputs":
        """Images stored as uint8 in [0, 255] (the training cache) -> CLIP-normalised float, where they live.

        The data loaders ship uint8 media: a quarter of the bytes through collation, pinning and the host-to-GPU
        copy, and the normalisation runs on the GPU. Audio images are cached with one channel and expanded here.
        Float media are returned unchanged, so the same loop serves both.
        """
        def convert(images: torch.Tensor | None) -> torch.Tensor | None:
            if images is None or images.dtype != torch.uint8:
                return images
            return normalise_uint8(images, mean, std)

        return replace(self, frames=convert(self.frames), audio=convert(self.audio))

    @property
    def batch_size(self) -> int:
        for v in (self.text_ids, self.frames, self.audio):
            if v is not None:
                return v.shape[0]
        raise ValueError("empty batch: no modality given")


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


def trim_token_padding(ids: torch.Tensor) -> torch.Tensor:
    """(N, T) token ids -> (N, n): drop the all-padding columns after the longest row's EOS, on the host.

    Why here and not in the text tower: the towers are causal, so those columns never change an output, and cutting
    them saves most of the text tower's work; but finding n on a GPU tensor is a host sync that stalls the
    pipeline once per batch. On the host it is free. Both tokenizers put EOS at the largest id.
    """
    if ids.numel() == 0:
        return ids
    n = int(ids.argmax(dim=-1).max()) + 1
    return ids[:, :n].contiguous()


def collate_clips(clips: Sequence[ClipInputs], tokenizer) -> ModalityInputs:
    ids = trim_token_padding(tokenizer([c.transcript for c in clips]))  # (B, n <= context): CLIP truncates long ones
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
