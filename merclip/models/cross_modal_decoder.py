"""Cross-modal decoder (CMD).

A stack of layers, each: self-attention over the query, cross-attention to one modality's
features, feed-forward (pre-norm residual blocks). The paper's CMD has |m| layers, one per modality in the
given order (Algorithm 1; L, V, A by default: language, then vision, then audio, Fig. 2); a subset such as VL
has 2 layers (V then L). An explicit larger layer count (ModelConfig.cmd_layers, e.g. checkpoints saved before
the count could follow the order) cycles: layer i attends to order[i % len(order)].

Keys/values come in two modes (ModelConfig.cmd_mode): `pooled` (the paper's: one vector per modality) or
`sequence` (this project's extension: per-token, per-frame, per-audio-segment features, so attention maps show
which items the query used). With one pooled key the attention weight is 1, so each layer adds a learned map of
that modality's vector to the query.
Every layer's attention weights are returned. A modality absent for a sample (no audio track, say)
leaves that sample's query unchanged in that layer's cross-attention.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LayerAttention:
    layer: int
    modality: str
    self_attn: torch.Tensor  # (B, heads, Q, Q)
    cross_attn: torch.Tensor  # (B, heads, Q, T_m)
    key_mask: torch.Tensor  # (B, T_m) True where a key exists


class CMDLayer(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.norm_self = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_cross = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.cross_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, q: torch.Tensor, kv: torch.Tensor, kv_mask: torch.Tensor):
        # q (B, Q, H); kv (B, T, H); kv_mask (B, T) True = valid key
        h = self.norm_self(q)
        sa, sa_w = self.self_attn(h, h, h, need_weights=True, average_attn_weights=False)
        q = q + self.drop(sa)
        has_keys = kv_mask.any(dim=1)  # (B,)
        safe_mask = kv_mask.clone()
        safe_mask[:, 0] |= ~has_keys  # avoid all-masked rows (NaN); their update is zeroed below. (Boolean-mask
        # indexing, safe_mask[~has_keys, 0] = True, would be a host sync on a GPU.)
        h = self.norm_cross(q)
        kv = self.norm_kv(kv)
        ca, ca_w = self.cross_attn(h, kv, kv, key_padding_mask=~safe_mask, need_weights=True, average_attn_weights=False)
        q = q + self.drop(ca) * has_keys.to(q.dtype)[:, None, None]
        q = q + self.drop(self.ffn(self.norm_ffn(q)))
        return q, sa_w, ca_w * has_keys.to(ca_w.dtype)[:, None, None, None]


class CrossModalDecoder(nn.Module):
    def __init__(self, embed_dim: int, hidden: int, heads: int, layers: int, order: tuple[str, ...], dropout: float):
        super().__init__()
        self.order = tuple(order)
        self.query_in = nn.Linear(embed_dim, hidden)
        self.modality_in = nn.ModuleDict({m: nn.Linear(embed_dim, hidden) for m in self.order})
        self.layers = nn.ModuleList(CMDLayer(hidden, heads, dropout) for _ in range(layers))
        self.out_norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, embed_dim)

    def layer_modalities(self) -> list[str]:
        return [self.order[i % len(self.order)] for i in range(len(self.layers))]

    def forward(
        self, query: torch.Tensor, memory: dict[str, tuple[torch.Tensor, torch.Tensor]]
    ) -> tuple[torch.Tensor, list[LayerAttention]]:
        """query (B, D) or (D,); memory[m] = (features (B, T, D), mask (B, T)). Returns (B, D) and attentions."""
        batch = next(iter(memory.values()))[0].shape[0]
        if query.dim() == 1:
            query = query.unsqueeze(0).expand(batch, -1)
        q = self.query_in(query).unsqueeze(1)  # (B, 1, H)
        attentions: list[LayerAttention] = []
        for i, (layer, m) in enumerate(zip(self.layers, self.layer_modalities())):
            feats, mask = memory[m]
            q, sa_w, ca_w = layer(q, self.modality_in[m](feats), mask)
            attentions.append(LayerAttention(layer=i, modality=m, self_attn=sa_w, cross_attn=ca_w, key_mask=mask))
        return self.out(self.out_norm(q[:, 0])), attentions  # (B, D)
