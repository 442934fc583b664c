"""LSGMER: label-signal-guided audio-text emotion recognition. The summary of the LSGMER paper this project has
names the parts (label embeddings, LSE, JOO with APC) and gives no equation; the equations are this project's.

Shares MER-CLIP's parts: the CLIP audio tower (log-mel images) and text tower as sequence encoders, and the
label encoder (frozen text tower + learnable context) for the label embeddings L' (C, D).

Two sets of equations, chosen by LSGMERConfig.equations (docs/lsgmer.md says where each part comes from):

"summary" (default; this project's equations for the parts the LSGMER summary names, docs/lsgmer.md):
  Label embeddings, moving average over training steps:  L_t = alpha L_{t-1} + (1 - alpha) L'     (C, D)
  Label Signal Enhancement (LSE), for each modality m in {A, L} with token features H_m1 (B, T, D), mask M:
      H_m2 = Attn(L_t, H_m1, H_m1) = softmax_T(L_t W_q (H_m1 W_k)^T / sqrt(d)) H_m1 W_v          (B, C, D)
      w_m  = sigmoid(H_m2);   H_m = w_m * H_m0 + H_m2                                            (B, C, D)
      with H_m0 the modality's utterance feature (masked mean of H_m1, broadcast over labels), and
      h_m  = mean over labels of H_m                                                             (B, D)
  Fusion and prediction:  z = W_f [h_A ; h_L] + b (B, D);  p = softmax(W_c z + b_c)              (B, C)
  APC: q = softmax_c(exp(s) cos(z, L_t,c) / tau) (learnable scale s, init log(1/0.07));  APC = JS(q || p)
  L = CE(p, y) + lambda * APC   (lambda = apc_weight, default 0.5)

"v1" (this project's first equations; checkpoints saved before `equations` existed, e.g. the shipped demo):
  S = L' W_q (X W_k)^T / sqrt(d) (B, C, T);  R_m = softmax_T(S) X W_v (B, C, D);
  h_m = sum_t softmax_T(max_c S)_t X_t (B, D);  z = W_f [h_A ; h_L] + b;  p = softmax(exp(s) cos(z, L'_c));
  q = softmax_c(<z, R_A,c + R_L,c> / (sqrt(D) tau));  L = CE(p, y) + lambda * JS(q || p)

Ablations: use_lse=False -> h_m = masked mean of the tokens (no label attention; "v1": R_m,c = L'_c);
use_apc=False -> lambda = 0.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..config import SINGLE_EMOTION, FamilyConfig
from ..labels import MELD_LABELS, validate_labels
from ..pretrained import clip_towers
from .batch import ModalityInputs
from .encoders import ImageSequenceEncoder, masked_mean
from .towers import Towers, clip_for, text_towers


@dataclass
class LSGMERConfig(FamilyConfig):
    family: ClassVar[str] = "lsgmer"
    # Labels are weight-free too with the "v1" equations only: "summary" sizes its classifier and label_ema by them.
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"clip_pretrained", "apc_weight", "apc_temperature", "use_apc"})
    LEGACY_DEFAULTS: ClassVar[dict[str, Any]] = {"equations": "v1"}

    clip_model: str = "ViT-B-32"
    clip_pretrained: str | None = "openai"
    labels: tuple[str, ...] = MELD_LABELS
    n_ctx: int = 8
    attn_dim: int = 256
    apc_weight: float = 0.5
    apc_temperature: float = 1.0
    use_lse: bool = True
    use_apc: bool = True
    logit_scale_init: float = 1 / 0.07
    equations: Literal["summary", "v1"] = "summary"  # see the module docstring
    label_momentum: float = 0.9  # alpha of L_t = alpha L_{t-1} + (1 - alpha) L' ("summary" only; our choice)

    def __post_init__(self) -> None:
        self.labels = tuple(validate_labels(self.labels, "emotion"))
        if self.equations not in ("summary", "v1"):
            raise ValueError(f"equations must be 'summary' or 'v1', got {self.equations!r}")
        if not 0.0 <= self.label_momentum < 1.0:
            raise ValueError(f"label_momentum must be in [0, 1), got {self.label_momentum!r}")

    def runtime_fields(self) -> frozenset[str]:
        return self.RUNTIME_FIELDS | ({"labels"} if self.equations == "v1" else set())

    @property
    def task(self) -> str:
        return SINGLE_EMOTION  # one emotion per utterance (IEMOCAP, MELD)


@dataclass
class LSGMEROutput:
    logits: torch.Tensor  # (B, C)
    probs: torch.Tensor  # (B, C) p, the prediction
    attribution: torch.Tensor  # (B, C) q, APC's distribution from the label embeddings
    fused: torch.Tensor  # (B, D)
    label_attention: dict[str, torch.Tensor]  # m -> (B, C, T) alpha (labels x tokens)
    token_weights: dict[str, torch.Tensor]  # m -> (B, T) beta


def js_divergence(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Jensen-Shannon divergence per row of two (B, C) distributions (natural log)."""
    m = 0.5 * (p + q)
    kl = lambda a, b: (a * ((a + eps).log() - (b + eps).log())).sum(-1)  # noqa: E731
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


class _LabelAttention(nn.Module):
    """Labels as queries over one modality's items: the scoring both LSE variants share (same parameter names)."""

    def __init__(self, dim: int, attn_dim: int):
        super().__init__()
        self.q = nn.Linear(dim, attn_dim)
        self.k = nn.Linear(dim, attn_dim)
        self.v = nn.Linear(dim, dim)
        self.scale = 1 / math.sqrt(attn_dim)

    def scores(self, tokens: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor):
        """(B, C, T) scaled label-item scores, masked items at -inf, and (B,) whether the modality has any item;
        rows without any item (absent modality) score 0 everywhere, so their softmax stays finite."""
        s = torch.einsum("cd,btd->bct", self.q(labels), self.k(tokens)) * self.scale  # (B, C, T)
        s = s.masked_fill(~mask[:, None, :], float("-inf"))
        has = mask.any(1)
        return torch.where(has[:, None, None], s, torch.zeros_like(s)), has


class LabelSignalEnhancement(_LabelAttention):
    """Two-way label/token attention for one modality (equations in the module docstring)."""

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor):
        # tokens (B, T, D); mask (B, T); labels (C, D)
        s, has = self.scores(tokens, mask, labels)  # absent modalities get zero summaries below
        alpha = s.softmax(-1)  # labels attend to the modality
        summaries = alpha @ self.v(tokens)  # (B, C, D)
        beta = s.max(dim=1).values.softmax(-1)  # (B, T) token relevance to the most relevant label
        pooled = (beta.unsqueeze(-1) * tokens).sum(1)  # (B, D)
        keep = has.to(tokens.dtype)
        return pooled * keep[:, None], summaries * keep[:, None, None], alpha, beta


class LabelGuidedGate(_LabelAttention):
    """LSE of `equations="summary"` (this project's equations): labels query the modality, a sigmoid gate mixes the
    answer into the utterance feature.

    H2 = Attn(L_t, H1, H1) (B, C, D); w = sigmoid(H2); H = w * H0 + H2, H0 = masked mean of H1 broadcast over labels
    (one utterance vector per modality: our reading of H0's shape); h = mean_c H (B, D).
    """

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor):
        # tokens H1 (B, T, D); mask (B, T); labels L_t (C, D)
        s, has = self.scores(tokens, mask, labels)  # (B, C, T), (B,): absent modalities contribute zeros
        alpha = s.softmax(-1)  # (B, C, T) each label's attention over the items
        h2 = alpha @ self.v(tokens)  # (B, C, D)
        h0 = masked_mean(tokens, mask).unsqueeze(1)  # (B, 1, D)
        h = torch.sigmoid(h2) * h0 + h2  # (B, C, D)
        keep = has.to(tokens.dtype)
        return h.mean(1) * keep[:, None], h * keep[:, None, None], alpha, alpha.mean(1)  # (B, D), (B, C, D), .., (B, T)


class LSGMER(nn.Module):
    MODALITIES = ("A", "L")

    def __init__(self, cfg: LSGMERConfig, towers: Towers):
        super().__init__()
        self.cfg = cfg
        self.tokenizer = towers.tokenizer
        dim = towers.embed_dim
        self.embed_dim = dim
        self.label_encoder = towers.label_encoder
        self.audio = towers.audio  # audio tower initialised from the image weights
        self.language = towers.language
        lse = LabelGuidedGate if cfg.equations == "summary" else LabelSignalEnhancement
        if cfg.use_lse:
            self.lse = nn.ModuleDict({m: lse(dim, cfg.attn_dim) for m in self.MODALITIES})
        self.fusion = nn.Linear(2 * dim, dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(cfg.logit_scale_init)))
        if cfg.equations == "summary":
            self.classifier = nn.Linear(dim, len(cfg.labels))  # p = softmax(W_c z + b_c)
            self.register_buffer("label_ema", torch.zeros(len(cfg.labels), dim))  # L_{t-1} (C, D)
            self.register_buffer("label_ema_steps", torch.zeros((), dtype=torch.long))

    def encode(self, inputs: ModalityInputs) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        tokens, _, mask = self.language(inputs.text_ids)
        if inputs.text_present is not None:
            mask = mask & inputs.text_present[:, None]
        out = {"L": (tokens, mask)}
        if inputs.audio is not None:
            a_mask = inputs.audio_mask if inputs.audio_mask is not None else torch.ones(inputs.audio.shape[:2], dtype=torch.bool, device=inputs.audio.device)
            out["A"] = (self.audio(inputs.audio, a_mask)[0], a_mask)
        else:
            B = tokens.shape[0]
            out["A"] = (tokens.new_zeros(B, 1, self.embed_dim), torch.zeros(B, 1, dtype=torch.bool, device=tokens.device))
        return out

    def smoothed_labels(self, current: torch.Tensor) -> torch.Tensor:
        """L_t = alpha L_{t-1} + (1 - alpha) L' (C, D); gradients reach the label context through (1 - alpha) L'.

        The average starts at L' on the first step and advances once per training forward; evaluation reads it
        without moving it.
        """
        alpha = self.cfg.label_momentum
        previous = self.label_ema if bool(self.label_ema_steps > 0) else current.detach()
        smoothed = alpha * previous + (1 - alpha) * current
        if self.training:
            with torch.no_grad():
                self.label_ema.copy_(smoothed)
                self.label_ema_steps += 1
        return smoothed

    def forward(self, inputs: ModalityInputs, labels: Sequence[str] | None = None) -> LSGMEROutput:
        if self.cfg.equations == "summary":
            return self._forward_summary(inputs, labels)
        return self._forward_v1(inputs, labels)

    def _forward_summary(self, inputs: ModalityInputs, labels: Sequence[str] | None) -> LSGMEROutput:
        if labels is not None and tuple(labels) != self.cfg.labels:
            raise ValueError(f"this LSGMER predicts with an FC layer over its trained labels {list(self.cfg.labels)}")
        label_emb = self.smoothed_labels(self.label_encoder.labels(list(self.cfg.labels)))  # L_t (C, D)
        feats = self.encode(inputs)
        pooled, alphas, weights = [], {}, {}
        for m in self.MODALITIES:
            tokens, mask = feats[m]  # (B, T, D), (B, T)
            if self.cfg.use_lse:
                h, _, alphas[m], weights[m] = self.lse[m](tokens, mask, label_emb)
            else:
                h = masked_mean(tokens, mask)
            pooled.append(h)
        z = self.fusion(torch.cat(pooled, dim=-1))  # (B, D)
        logits = self.classifier(z)  # (B, C)
        sims = F.normalize(z, dim=-1) @ F.normalize(label_emb, dim=-1).T  # (B, C)
        q = (sims * self.logit_scale.exp().clamp(max=100.0) / self.cfg.apc_temperature).softmax(-1)
        return LSGMEROutput(logits=logits, probs=logits.softmax(-1), attribution=q, fused=z,
                            label_attention=alphas, token_weights=weights)

    def _forward_v1(self, inputs: ModalityInputs, labels: Sequence[str] | None) -> LSGMEROutput:
        labels = list(labels) if labels is not None else list(self.cfg.labels)
        label_emb = self.label_encoder.labels(labels)  # (C, D)
        feats = self.encode(inputs)
        pooled, summaries, alphas, betas = [], [], {}, {}
        for m in self.MODALITIES:
            tokens, mask = feats[m]
            if self.cfg.use_lse:
                h, r, alphas[m], betas[m] = self.lse[m](tokens, mask, label_emb)
            else:
                h = masked_mean(tokens, mask)
                r = label_emb.unsqueeze(0).expand(tokens.shape[0], -1, -1)
            pooled.append(h)
            summaries.append(r)
        z = self.fusion(torch.cat(pooled, dim=-1))  # (B, D)
        sims = F.normalize(z, dim=-1) @ F.normalize(label_emb, dim=-1).T
        logits = sims * self.logit_scale.exp().clamp(max=100.0)
        affinity = torch.einsum("bd,bcd->bc", z, sum(summaries)) / (math.sqrt(self.embed_dim) * self.cfg.apc_temperature)
        return LSGMEROutput(logits=logits, probs=logits.softmax(-1), attribution=affinity.softmax(-1), fused=z,
                            label_attention=alphas, token_weights=betas)

    def loss(self, out: LSGMEROutput, targets: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Joint objective: cross-entropy of the prediction + apc_weight * JS(q || p)."""
        ce = F.cross_entropy(out.logits, targets)
        apc = js_divergence(out.attribution, out.probs).mean()
        total = ce + (self.cfg.apc_weight * apc if self.cfg.use_apc else 0.0)
        return total, {"ce": ce.item(), "apc": apc.item()}

    def training_loss(self, inputs: ModalityInputs, targets: torch.Tensor) -> torch.Tensor:
        return self.loss(self(inputs), targets)[0]


def build_lsgmer(cfg: LSGMERConfig, clip_weights: str | None = None, load_clip_weights: bool = True) -> LSGMER:
    """Construct LSGMER; `load_clip_weights=False` builds the architecture only (before loading a checkpoint)."""
    clip, tokenizer = clip_for(cfg.clip_model, cfg.clip_pretrained, clip_weights, load_clip_weights)
    language, label_encoder, tokenizer = text_towers("clip", clip, tokenizer, cfg.n_ctx)
    audio = ImageSequenceEncoder(clip.visual)  # LSGMER hears and reads: no vision tower
    return LSGMER(cfg, Towers(tokenizer, clip_towers.embed_dim(clip), language, label_encoder, audio))
