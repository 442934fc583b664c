"""Label encoder (LE): text labels and the emotion query as embeddings.

The LE is CLIP's text tower (wordllama's in this project's offline option), frozen, with 8 learnable context
vectors spliced in front of each label: the prompt "{ctx_1 .. ctx_8} {label}", read out at EOS. Because labels
are text, any label set works at inference: words, phrases, sentences, or a user's own labels (`merclip.labels`).
The emotion query Z^E is the same frozen tower with its own learnable context followed by a query
word ("Emotion", "Sentiment", any word) or by nothing at all.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..memo import LockedLRU
from .batch import trim_token_padding

CTX_PLACEHOLDER = "X"
PROMPT_IDS_MEMO_SIZE = 256  # distinct label sets and query words (the app's users bring their own)


class LabelEncoder(nn.Module):
    """Frozen text tower + learnable label context + learnable query context."""

    def __init__(self, tower: nn.Module, tokenizer, n_ctx: int = 8):  # tower: merclip.pretrained.text_tower's interface
        super().__init__()
        self.tower = tower
        for p in self.tower.parameters():
            p.requires_grad_(False)
        self.tokenizer = tokenizer
        self.n_ctx = n_ctx
        self._ids_memo: LockedLRU[torch.Tensor] = LockedLRU(PROMPT_IDS_MEMO_SIZE)  # token ids only: no weights
        width = tower.width
        self.label_ctx = nn.Parameter(torch.randn(n_ctx, width) * 0.02)
        self.query_ctx = nn.Parameter(torch.randn(n_ctx, width) * 0.02)

    def train(self, mode: bool = True) -> "LabelEncoder":
        super().train(mode)
        self.tower.eval()  # the frozen tower never switches to training behaviour
        return self

    def _prompt_ids(self, texts: Sequence[str], device: torch.device) -> torch.Tensor:
        """Token ids (N, n) of the prompts on `device`, padding trimmed on the host, memoised per label set.

        Why memoised: training asks for the same label set and query every step, and tokenising then copying from
        pageable host memory would cost a host sync per step on a GPU."""
        def make() -> torch.Tensor:
            prefix = " ".join([CTX_PLACEHOLDER] * self.n_ctx)
            return trim_token_padding(self.tokenizer([f"{prefix} {t}".strip() for t in texts])).to(device)

        return self._ids_memo.get_or_compute((tuple(texts), str(device)), make)

    def encode(self, texts: Sequence[str], ctx: torch.Tensor) -> torch.Tensor:
        """EOS embeddings (N, D) of "{ctx} {text}" prompts."""
        ids = self._prompt_ids(texts, ctx.device)  # (N, n)
        emb = self.tower.token_embedding(ids)  # (N, T, W)
        ctx = ctx.to(emb.dtype).unsqueeze(0).expand(len(texts), -1, -1)
        emb = torch.cat([emb[:, :1], ctx, emb[:, 1 + self.n_ctx :]], dim=1)  # SOS, ctx, label tokens, EOS
        _, eos = self.tower.forward_embeddings(emb, ids.argmax(dim=-1))
        return eos

    def labels(self, labels: Sequence[str]) -> torch.Tensor:
        return self.encode(labels, self.label_ctx)  # (C, D)

    def query(self, word: str | None) -> torch.Tensor:
        return self.encode([word or ""], self.query_ctx)[0]  # (D,)
