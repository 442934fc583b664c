"""From label similarities to probabilities, decisions and losses (paper, Algorithm 1 and eqs. 2-3).

Sentiment: cosine x learnable logit scale -> softmax / cross-entropy, decision = argmax.
Emotion (multi-label): cosine standardised across the labels of each sample (unbiased std, n - 1) -> sigmoid /
BCE, a label is present when its probability is strictly greater than the threshold (0.6; Algorithm 1: "values
greater than the threshold"). The unbiased std is read off Fig. 5: inverting its probabilities
0.239/0.647/0.781/0.303/0.680/0.342 gives logits with mean ~0 and sum of squares 5.01 over 6 labels = n - 1.
Standardising makes the sigmoid see *relative* similarity, so a clip's labels compete a little
without being forced to sum to one.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

STANDARDISE_EPS = 1e-6
MAX_LOGIT_SCALE = 100.0


def standardise(sims: torch.Tensor, eps: float = STANDARDISE_EPS) -> torch.Tensor:
    """(x - mean) / std over the label dim, per sample: (B, C) -> (B, C).

    The unbiased std (torch's default, n - 1) is what the paper's Fig. 5 numbers imply (sum of squared logits
    = n - 1, not n); eps keeps a clip whose similarities are all equal finite (all logits 0).
    """
    mean = sims.mean(dim=-1, keepdim=True)  # (B, 1)
    std = sims.std(dim=-1, unbiased=True, keepdim=True)  # (B, 1)
    return (sims - mean) / (std + eps)


def scale_logits(sims: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """CLIP-style temperature: cosine x exp(log_scale), clamped like CLIP at 100."""
    return sims * log_scale.exp().clamp(max=MAX_LOGIT_SCALE)


def probabilities(task: str, logits: torch.Tensor) -> torch.Tensor:
    """logits are what the loss sees: standardised cosines (emotion) or scaled cosines / FC logits."""
    return torch.sigmoid(logits) if task == "emotion" else logits.softmax(dim=-1)


def decisions(task: str, probs: torch.Tensor, threshold: float = 0.6) -> torch.Tensor:
    """Boolean (B, C): strictly above the threshold for multi-label emotion (Algorithm 1, line 6), one-hot
    argmax for sentiment."""
    if task == "emotion":
        return probs > threshold
    return F.one_hot(probs.argmax(dim=-1), probs.shape[-1]).bool()


def task_loss(task: str, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BCE for multi-hot emotion targets (B, C); cross-entropy for sentiment class ids (B,)."""
    if task == "emotion":
        return F.binary_cross_entropy_with_logits(logits, targets.float())
    return F.cross_entropy(logits, targets.long())
