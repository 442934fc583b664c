"""From label similarities to probabilities, decisions and losses (paper, Algorithm 1 and eqs. 2-3).

Sentiment: cosine x learnable logit scale -> softmax / cross-entropy, decision = argmax.
Emotion (multi-label): cosine standardised across the labels of each sample -> sigmoid / BCE,
a label is present when its probability >= threshold (0.6 in the paper).
Standardising makes the sigmoid see *relative* similarity, so a clip's labels compete a little
without being forced to sum to one.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

STANDARDISE_EPS = 1e-6
MAX_LOGIT_SCALE = 100.0


def standardise(sims: torch.Tensor, eps: float = STANDARDISE_EPS) -> torch.Tensor:
    """(x - mean) / std over the label dim (population std), per sample: (B, C) -> (B, C)."""
    mean = sims.mean(dim=-1, keepdim=True)
    std = sims.std(dim=-1, unbiased=False, keepdim=True)
    return (sims - mean) / (std + eps)


def scale_logits(sims: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """CLIP-style temperature: cosine x exp(log_scale), clamped like CLIP at 100."""
    return sims * log_scale.exp().clamp(max=MAX_LOGIT_SCALE)


def probabilities(task: str, logits: torch.Tensor) -> torch.Tensor:
    """logits are what the loss sees: standardised cosines (emotion) or scaled cosines / FC logits."""
    return torch.sigmoid(logits) if task == "emotion" else logits.softmax(dim=-1)


def decisions(task: str, probs: torch.Tensor, threshold: float = 0.6) -> torch.Tensor:
    """Boolean (B, C): thresholded for multi-label emotion, one-hot argmax for sentiment."""
    if task == "emotion":
        return probs >= threshold
    return F.one_hot(probs.argmax(dim=-1), probs.shape[-1]).bool()


def task_loss(task: str, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BCE for multi-hot emotion targets (B, C); cross-entropy for sentiment class ids (B,)."""
    if task == "emotion":
        return F.binary_cross_entropy_with_logits(logits, targets.float())
    return F.cross_entropy(logits, targets.long())
