"""Modality encoders built from CLIP towers.

Vision and audio share one shape of computation: a CLIP image tower applied to each frame
(or each log-mel segment image), giving one CLS embedding per item plus their masked average.
Language is the CLIP text tower: per-token outputs and the EOS embedding as the global one.
"""
from __future__ import annotations

import torch
from torch import nn


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of (B, T, D) counting only mask==True items; rows with no valid item give 0."""
    w = mask.to(x.dtype).unsqueeze(-1)  # (B, T, 1)
    return (x * w).sum(1) / w.sum(1).clamp_min(1.0)


def trimmed_length(x: torch.Tensor, eos_index: torch.Tensor, trim: bool) -> int:
    """How many positions a causal text tower must run: up to the longest row's EOS where that is free to find
    (a CPU tensor), all of them elsewhere (the callers trim GPU ids on the host before the copy; reading
    eos_index.max() from the GPU would wait for every kernel queued before it)."""
    if trim and eos_index.device.type == "cpu":
        return int(eos_index.max()) + 1
    return x.shape[1]


class ImageSequenceEncoder(nn.Module):
    """A CLIP image tower run over a sequence of images: per-item CLS embeddings + average pool."""

    def __init__(self, visual: nn.Module):
        super().__init__()
        self.visual = visual

    def forward(self, images: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # images (B, T, 3, S, S); mask (B, T) True where the item exists
        B, T = images.shape[:2]
        tokens = self.visual(images.flatten(0, 1)).view(B, T, -1)  # (B, T, D)
        return tokens, masked_mean(tokens, mask)  # (B, T, D), (B, D)


class TextTower(nn.Module):
    """The CLIP text transformer as a standalone module that also accepts ready-made token embeddings.

    Taking embeddings (not only ids) lets the label encoder splice learnable context vectors into
    the prompt, CoOp-style, while the tower's own weights stay frozen.
    """

    def __init__(self, clip: nn.Module):
        super().__init__()
        self.token_embedding = clip.token_embedding
        self.positional_embedding = clip.positional_embedding
        self.transformer = clip.transformer
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.register_buffer("attn_mask", clip.attn_mask, persistent=False)
        # CLIP's text attention is causal, so positions after the last EOS never influence earlier ones:
        # running only up to the longest sequence in the batch gives the same outputs, several times faster.
        # On an accelerator the ids arrive already trimmed on the host (batch.trim_token_padding): finding the
        # longest row there would be a host sync per call.
        self.trim_padding = True

    @property
    def width(self) -> int:
        return int(self.token_embedding.weight.shape[1])

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.text_projection, nn.Linear):
            return self.text_projection(x)
        return x @ self.text_projection

    def forward_embeddings(self, x: torch.Tensor, eos_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x (B, T, W) token embeddings; eos_index (B,)
        n = trimmed_length(x, eos_index, self.trim_padding)
        x = x[:, :n] + self.positional_embedding[:n].to(x.dtype)  # (B, n, W)
        mask = self.attn_mask[:n, :n] if self.attn_mask is not None else None
        x = self.transformer(x, attn_mask=mask)
        x = self.ln_final(x)
        tokens = self._project(x)  # (B, T, D)
        eos = tokens[torch.arange(x.shape[0], device=x.device), eos_index]  # (B, D)
        return tokens, eos

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # ids (B, T); CLIP's EOS has the largest id, so argmax finds it
        return self.forward_embeddings(self.token_embedding(ids), ids.argmax(dim=-1))


class LanguageEncoder(nn.Module):
    """Transcript encoder: per-token features (up to and including EOS) and the EOS embedding."""

    def __init__(self, tower: TextTower):
        super().__init__()
        self.tower = tower

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        tokens, eos = self.tower(ids)  # (B, n, D) with n <= T (padding past the longest text trimmed), (B, D)
        positions = torch.arange(tokens.shape[1], device=ids.device)
        mask = positions[None, :] <= ids.argmax(dim=-1, keepdim=True)  # (B, n)
        return tokens, eos, mask
