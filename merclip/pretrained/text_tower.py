"""CLIP's text transformer as a text tower, and the interface every text tower of this package has.

A text tower (this one; `wordllama_text.WordLlamaTextTower`) maps token ids, or ready-made token embeddings, to
per-token outputs (B, n, D) and a sentence embedding (B, D) read at EOS. It has `token_embedding`, `width` (the
embedding width), `trim_padding`, `forward_embeddings(x, eos_index)`, `forward(ids)` and
`set_grad_checkpointing(enabled)`. The models wing wraps such towers (`LanguageEncoder`, `LabelEncoder`); taking
embeddings, not only ids, lets the label encoder splice learnable context vectors into a prompt, CoOp-style.
"""
from __future__ import annotations

import torch
from torch import nn


def trimmed_length(x: torch.Tensor, eos_index: torch.Tensor, trim: bool) -> int:
    """How many positions a causal text tower must run: up to the longest row's EOS where that is free to find
    (a CPU tensor), all of them elsewhere (the callers trim GPU ids on the host before the copy; reading
    eos_index.max() from the GPU would wait for every kernel queued before it)."""
    if trim and eos_index.device.type == "cpu":
        return int(eos_index.max()) + 1
    return x.shape[1]


class TextTower(nn.Module):
    """The text half of an open_clip CLIP model as a standalone module that also accepts token embeddings."""

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

    def set_grad_checkpointing(self, enabled: bool = True) -> None:
        """Recompute the transformer's activations in backward instead of keeping them (open_clip's own switch)."""
        self.transformer.grad_checkpointing = enabled

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
        tokens = self._project(x)  # (B, n, D)
        eos = tokens[torch.arange(x.shape[0], device=x.device), eos_index]  # (B, D)
        return tokens, eos

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # ids (B, T); CLIP's EOS has the largest id, so argmax finds it
        return self.forward_embeddings(self.token_embedding(ids), ids.argmax(dim=-1))
