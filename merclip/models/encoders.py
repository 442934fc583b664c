"""Modality encoders wrapped around pretrained towers (merclip.pretrained).

Vision and audio share one shape of computation: an image tower applied to each frame (or each log-mel segment
image), giving one embedding per item plus their masked average. Language is a text tower
(`merclip.pretrained.text_tower`): per-token outputs and the EOS embedding as the global one.
"""
from __future__ import annotations

import torch
from torch import nn


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of (B, T, D) counting only mask==True items; rows with no valid item give 0."""
    w = mask.to(x.dtype).unsqueeze(-1)  # (B, T, 1)
    return (x * w).sum(1) / w.sum(1).clamp_min(1.0)


class ImageSequenceEncoder(nn.Module):
    """An image tower run over a sequence of images: per-item embeddings + average pool."""

    def __init__(self, visual: nn.Module):
        super().__init__()
        self.visual = visual

    def forward(self, images: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # images (B, T, 3, S, S); mask (B, T) True where the item exists
        B, T = images.shape[:2]
        tokens = self.visual(images.flatten(0, 1)).view(B, T, -1)  # (B, T, D)
        return tokens, masked_mean(tokens, mask)  # (B, T, D), (B, D)


class LanguageEncoder(nn.Module):
    """Transcript encoder: per-token features (up to and including EOS) and the EOS embedding."""

    def __init__(self, tower: nn.Module):  # a text tower (merclip.pretrained.text_tower describes the interface)
        super().__init__()
        self.tower = tower

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        tokens, eos = self.tower(ids)  # (B, n, D) with n <= T (padding past the longest text trimmed), (B, D)
        positions = torch.arange(tokens.shape[1], device=ids.device)
        mask = positions[None, :] <= ids.argmax(dim=-1, keepdim=True)  # (B, n)
        return tokens, eos, mask
