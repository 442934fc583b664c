"""LSGMER: label-signal-guided audio-text emotion recognition (seeds/002, a summary; equations ours).

Shares MER-CLIP's parts: the CLIP audio tower (log-mel images) and text tower as sequence encoders, and the
label encoder (frozen text tower + learnable context) for the label embeddings E (C, D).

Label Signal Enhancement (LSE), for each modality m in {A, L} with token features X (B, T, D), mask M:
    Q = E W_q,  K = X W_k,  V = X W_v                                       (projections per modality)
    S = Q K^T / sqrt(d)                          (B, C, T)  label-token affinity, masked where M = 0
    label -> modality:  alpha = softmax_T(S),   R_m = alpha V              (B, C, D)  label-specific summaries
    modality re-weighted by label relevance:
                        beta  = softmax_T(max_c S),  h_m = sum_t beta_t X_t  (B, D)
Fusion and classifier:
    z   = W_f [h_A ; h_L] + b                                               (B, D)
    logits_c = exp(s) * cos(z, e_c)             (learnable scale s, init log(1/0.07)), p_pred = softmax(logits)
Joint objective (JOO) with the Attribution-Prediction Consistency constraint (APC):
    attribution over classes from the fused features' affinity to each label-specific summary:
        p_attr(c) = softmax_c( <z, R_A,c + R_L,c> / (sqrt(D) * tau) )
    APC = JS(p_attr || p_pred)   (Jensen-Shannon: 0 exactly when the two agree, > 0 otherwise, symmetric, bounded)
    L   = CE(p_pred, y) + lambda * APC      (lambda = apc_weight, default 0.5)
Ablations: use_lse=False -> h_m = masked mean of X (no label attention) and R_m,c = e_c (attribution from the
label embeddings themselves); use_apc=False -> lambda = 0.
"""
from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from . import backbone
from .encoders import ImageSequenceEncoder, LanguageEncoder, TextTower, masked_mean
from .labels import LabelEncoder, validate_labels
from .model import ModalityInputs

MELD_LABELS = ("neutral", "joy", "sadness", "anger", "surprise", "fear", "disgust")


@dataclass
class LSGMERConfig:
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

    def __post_init__(self) -> None:
        self.labels = tuple(validate_labels(self.labels, "emotion"))

    def to_json(self) -> str:
        return json.dumps({"model": "lsgmer", **asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "LSGMERConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"model"})
        if unknown:
            raise ValueError(f"unknown LSGMERConfig fields {unknown}: was this config written by another version?")
        return cls(**{k: v for k, v in data.items() if k != "model"})

    @property
    def task(self) -> str:
        return "single"  # one emotion per utterance (IEMOCAP, MELD)


@dataclass
class LSGMEROutput:
    logits: torch.Tensor  # (B, C)
    probs: torch.Tensor  # (B, C) p_pred
    attribution: torch.Tensor  # (B, C) p_attr
    fused: torch.Tensor  # (B, D)
    label_attention: dict[str, torch.Tensor]  # m -> (B, C, T) alpha (labels x tokens)
    token_weights: dict[str, torch.Tensor]  # m -> (B, T) beta


def js_divergence(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Jensen-Shannon divergence per row of two (B, C) distributions (natural log)."""
    m = 0.5 * (p + q)
    kl = lambda a, b: (a * ((a + eps).log() - (b + eps).log())).sum(-1)  # noqa: E731
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


class LabelSignalEnhancement(nn.Module):
    """Two-way label/token attention for one modality (equations in the module docstring)."""

    def __init__(self, dim: int, attn_dim: int):
        super().__init__()
        self.q = nn.Linear(dim, attn_dim)
        self.k = nn.Linear(dim, attn_dim)
        self.v = nn.Linear(dim, dim)
        self.scale = 1 / math.sqrt(attn_dim)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor):
        # tokens (B, T, D); mask (B, T); labels (C, D)
        s = torch.einsum("cd,btd->bct", self.q(labels), self.k(tokens)) * self.scale  # (B, C, T)
        s = s.masked_fill(~mask[:, None, :], float("-inf"))
        has = mask.any(1)  # rows without any token (absent modality) get zero summaries
        s = torch.where(has[:, None, None], s, torch.zeros_like(s))
        alpha = s.softmax(-1)  # labels attend to the modality
        summaries = alpha @ self.v(tokens)  # (B, C, D)
        beta = s.max(dim=1).values.softmax(-1)  # (B, T) token relevance to the most relevant label
        pooled = (beta.unsqueeze(-1) * tokens).sum(1)  # (B, D)
        keep = has.to(tokens.dtype)
        return pooled * keep[:, None], summaries * keep[:, None, None], alpha, beta


class LSGMER(nn.Module):
    MODALITIES = ("A", "L")

    def __init__(self, cfg: LSGMERConfig, clip: nn.Module, tokenizer):
        super().__init__()
        self.cfg = cfg
        self.tokenizer = tokenizer
        dim = backbone.embed_dim(clip)
        self.embed_dim = dim
        self.label_encoder = LabelEncoder(TextTower(copy.deepcopy(clip)), tokenizer, cfg.n_ctx)
        self.audio = ImageSequenceEncoder(clip.visual)  # audio tower initialised from the image weights
        self.language = LanguageEncoder(TextTower(clip))
        if cfg.use_lse:
            self.lse = nn.ModuleDict({m: LabelSignalEnhancement(dim, cfg.attn_dim) for m in self.MODALITIES})
        self.fusion = nn.Linear(2 * dim, dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(cfg.logit_scale_init)))

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

    def forward(self, inputs: ModalityInputs, labels: Sequence[str] | None = None) -> LSGMEROutput:
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
        """Joint objective: cross-entropy + apc_weight * JS(p_attr || p_pred)."""
        ce = F.cross_entropy(out.logits, targets)
        apc = js_divergence(out.attribution, out.probs).mean()
        total = ce + (self.cfg.apc_weight * apc if self.cfg.use_apc else 0.0)
        return total, {"ce": ce.item(), "apc": apc.item()}

    def training_loss(self, inputs: ModalityInputs, targets: torch.Tensor) -> torch.Tensor:
        return self.loss(self(inputs), targets)[0]


def build_lsgmer(cfg: LSGMERConfig, clip_weights: str | None = None, load_clip_weights: bool = True) -> LSGMER:
    """Construct LSGMER; `load_clip_weights=False` builds the architecture only (before loading a checkpoint)."""
    if load_clip_weights:
        clip = backbone.create_clip(cfg.clip_model, cfg.clip_pretrained, clip_weights)
    else:
        clip = backbone.create_clip(cfg.clip_model, None, None)
    return LSGMER(cfg, clip, backbone.get_tokenizer(cfg.clip_model))
