"""Label encoder (LE): text labels and the emotion query as embeddings.

The LE is CLIP's text tower, frozen, with 8 learnable context vectors spliced in front of each
label: the prompt "{ctx_1 .. ctx_8} {label}", read out at EOS. Because labels are text, any
label set works at inference: words, phrases, sentences, or a user's own labels (`merclip.labels`).
The emotion query Z^E is the same frozen tower with its own learnable context followed by a query
word ("Emotion", "Sentiment", any word) or by nothing at all.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .encoders import TextTower

CTX_PLACEHOLDER = "X"


class LabelEncoder(nn.Module):
    """Frozen CLIP text tower + learnable label context + learnable query context."""

    def __init__(self, tower: TextTower, tokenizer, n_ctx: int = 8):
        super().__init__()
        self.tower = tower
        for p in self.tower.parameters():
            p.requires_grad_(False)
        self.tokenizer = tokenizer
        self.n_ctx = n_ctx
        width = tower.width
        self.label_ctx = nn.Parameter(torch.randn(n_ctx, width) * 0.02)
        self.query_ctx = nn.Parameter(torch.randn(n_ctx, width) * 0.02)

    def train(self, mode: bool = True) -> "LabelEncoder":
        super().train(mode)
        self.tower.eval()  # the frozen tower never switches to training behaviour
        return self

    def _prompt_ids(self, texts: Sequence[str]) -> torch.Tensor:
        prefix = " ".join([CTX_PLACEHOLDER] * self.n_ctx)
        return self.tokenizer([f"{prefix} {t}".strip() for t in texts])

    def encode(self, texts: Sequence[str], ctx: torch.Tensor) -> torch.Tensor:
        """EOS embeddings (N, D) of "{ctx} {text}" prompts."""
        device = ctx.device
        ids = self._prompt_ids(texts).to(device)  # (N, T)
        emb = self.tower.token_embedding(ids)  # (N, T, W)
        ctx = ctx.to(emb.dtype).unsqueeze(0).expand(len(texts), -1, -1)
        emb = torch.cat([emb[:, :1], ctx, emb[:, 1 + self.n_ctx :]], dim=1)  # SOS, ctx, label tokens, EOS
        _, eos = self.tower.forward_embeddings(emb, ids.argmax(dim=-1))
        return eos

    def labels(self, labels: Sequence[str]) -> torch.Tensor:
        return self.encode(labels, self.label_ctx)  # (C, D)

    def query(self, word: str | None) -> torch.Tensor:
        return self.encode([word or ""], self.query_ctx)[0]  # (D,)
