"""What a decoded clip is, as tensors: the boundary between media decoding and the model.

Kept apart from `media` (which needs PyAV and librosa to decode files) so that code which only reads decoded
clips (the training cache, the GPU benchmarks) imports torch alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from PIL import Image


@dataclass
class ClipInputs:
    """Model-ready tensors for one clip; a modality that is absent is None."""

    frames: torch.Tensor | None  # (T_V, 3, S, S) float; uint8 in [0, 255] when read raw from the training cache
    audio: torch.Tensor | None  # (T_A, 3, S, S) float; (T_A, 1, S, S) uint8 when read raw from the cache
    transcript: str
    duration: float
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    thumbnails: list[Image.Image] = field(default_factory=list)  # small copies of the sampled frames, for display

    @property
    def present(self) -> dict[str, bool]:
        return {"V": self.frames is not None, "A": self.audio is not None, "L": bool(self.transcript.strip())}


def normalise_images(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """CLIP normalisation of (..., 3, S, S) images in [0, 1], on whatever device they live."""
    m = torch.tensor(mean, dtype=images.dtype, device=images.device).view(3, 1, 1)
    s = torch.tensor(std, dtype=images.dtype, device=images.device).view(3, 1, 1)
    return (images - m) / s


def normalise_uint8(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """Cached uint8 images (..., 1 or 3, S, S) in [0, 255] -> CLIP-normalised float (..., 3, S, S).

    The one conversion of the training cache's images: `read_cached` uses it on the host, and
    `ModalityInputs.normalised` on the device after the copy. Audio images are cached with one channel.
    """
    unit = images.float().expand(*images.shape[:-3], 3, *images.shape[-2:]) / 255
    return normalise_images(unit, mean, std)


def normalise_into_channels(images: torch.Tensor, mean, std, value_range: float = 1.0,
                            out: torch.Tensor | None = None) -> torch.Tensor:
    """(T, C, S, S) images (C = 1 or 3; any dtype) with values in [0, value_range], CLIP-normalised into a new
    (T, 3, S, S) float32, or into `out` (a float32 tensor of that shape: one frame's slot of the clip's tensor).

    One allocation and three passes over it, instead of a full new tensor for each of the float conversion,
    division, channel copy and normalisation (page faults on fresh memory cost the front end much on small
    machines). (x - r m) / (r s) is (x / r - m) / s to within a float rounding (tests/test_media.py holds it to
    open_clip's own transform), and exactly x / r for mean 0 and std 1.
    """
    t, _, h, w = images.shape
    out = torch.empty((t, 3, h, w), dtype=torch.float32) if out is None else out
    out.copy_(images.expand(t, 3, h, w))
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1) * value_range
    s = torch.tensor(std, dtype=torch.float32).view(3, 1, 1) * value_range
    return out.sub_(m).div_(s)
