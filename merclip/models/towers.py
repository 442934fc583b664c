"""The CLIP towers that both model families (MER-CLIP, LSGMER) are made from, set up in one place.

`clip_for` builds the open_clip model a config names (with its pretrained weights, or bare before a checkpoint
is loaded) and its tokenizer; `text_encoders` makes the trainable language encoder on the model's own text tower
and the label encoder on a frozen copy of it. The image towers differ per family and stay with each model.
"""
from __future__ import annotations

import copy

from torch import nn

from ..pretrained import clip_towers
from .encoders import LanguageEncoder, TextTower
from .label_encoder import LabelEncoder


def clip_for(clip_model: str, clip_pretrained: str | None, clip_weights: str | None = None,
             load_clip_weights: bool = True) -> tuple[nn.Module, object]:
    """(open_clip model, tokenizer); `load_clip_weights=False` builds the architecture only (random init)."""
    if load_clip_weights:
        clip = clip_towers.create_clip(clip_model, clip_pretrained, clip_weights)
    else:
        clip = clip_towers.create_clip(clip_model, None, None)
    return clip, clip_towers.get_tokenizer(clip_model)


def text_encoders(clip: nn.Module, tokenizer, n_ctx: int) -> tuple[LanguageEncoder, LabelEncoder]:
    """The transcript encoder (trainable, on `clip`'s text tower) and the LE (frozen copy, `n_ctx` learnable contexts)."""
    frozen = TextTower(copy.deepcopy(clip))
    return LanguageEncoder(TextTower(clip)), LabelEncoder(frozen, tokenizer, n_ctx)
