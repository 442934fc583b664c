"""The optimiser and its learning rate over the run.

The paper (sec. 4.3) gives AdamW one learning rate (8e-6 on CMU-MOSEI) and names no schedule; a constant rate,
this project's reading of that, is the default here. Two options are this
project's, for the demo's small CPU runs (docs/design.md, "Learning-rate options"):
  - `lr_schedule="cosine"`: the rate falls from `lr` to 0 along a half cosine over the run's optimiser steps, so the
    last epochs settle instead of jumping between minima at the full rate;
  - `language_lr_scale`: the language tower and the label encoder learn at `lr * scale`. With pretrained word
    embeddings underneath (the demo's wordllama), these parts start out as a good reader of real sentences; a
    smaller rate lets the faces, voices and the CMD learn the generated clips without the words forgetting what the
    pretrained embeddings knew.
The rate is a pure function of the step count, so `--resume` (which restores the step count) continues it exactly
without saving a scheduler.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..config import TrainConfig

# parameter-name prefixes of the parts that read words: the language tower and the label encoder (LE)
LANGUAGE_PREFIXES = ("language.", "label_encoder.")


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """The share of the base rate for optimiser step `step` (0-based) of `total_steps`."""
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(1, total_steps)))
    raise ValueError(f"unknown lr_schedule {schedule!r}: use 'constant' or 'cosine'")


def build_optimizer(model: nn.Module, cfg: TrainConfig, *, fused: bool = False) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; with `language_lr_scale` != 1 the language parts are their own group.

    Each group keeps its full rate as `base_lr`, which `set_lr` scales step by step.
    """
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if cfg.language_lr_scale == 1.0:  # one group in the model's order: the layout of earlier runs' optimiser states
        groups = [{"params": [p for _, p in named], "base_lr": cfg.lr}]
    else:
        language = [p for name, p in named if name.startswith(LANGUAGE_PREFIXES)]
        rest = [p for name, p in named if not name.startswith(LANGUAGE_PREFIXES)]
        if not language:  # a model family without these parts: say so rather than train at one rate silently
            raise ValueError(f"language_lr_scale={cfg.language_lr_scale} needs trainable parameters named "
                             f"{' or '.join(p + '*' for p in LANGUAGE_PREFIXES)}; this model has none")
        groups = [{"params": rest, "base_lr": cfg.lr},
                  {"params": language, "base_lr": cfg.lr * cfg.language_lr_scale}]
    groups = [dict(g, lr=g["base_lr"]) for g in groups if g["params"]]
    return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)


def set_lr(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Every group's rate to its base rate times `factor`."""
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
