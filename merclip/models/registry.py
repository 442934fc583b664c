"""The model families, as open_clip keeps its model configs: one table from a family's name to its parts.

A family is a config class (a `merclip.config.FamilyConfig`: its family's name, JSON form and weight-free fields),
the builder that makes the model from that config, and the predictor that serves one clip from its checkpoint.
`merclip.models.checkpoint` reads and rebuilds every checkpoint through this table, so a new family is one new entry.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..config import ModelConfig
from .lsgmer import LSGMERConfig, build_lsgmer
from .merclip import build_model

AnyConfig = ModelConfig | LSGMERConfig


@dataclass(frozen=True)
class ModelFamily:
    name: str
    config_cls: type[AnyConfig]
    # build(cfg, clip_weights=None, load_clip_weights=True) -> the model; load_clip_weights=False for a checkpoint
    build: Callable[..., nn.Module]
    predictor: str  # "module:Class", imported when asked for: the predictors pull in media decoding

    def predictor_class(self) -> type:
        module, name = self.predictor.split(":")
        return getattr(importlib.import_module(module), name)


FAMILIES: dict[str, ModelFamily] = {
    "merclip": ModelFamily("merclip", ModelConfig, build_model, "merclip.serving.predictor:Predictor"),
    "lsgmer": ModelFamily("lsgmer", LSGMERConfig, build_lsgmer, "merclip.serving.lsgmer_predictor:LSGMERPredictor"),
}
DEFAULT_FAMILY = "merclip"  # a config JSON without a "model" key (MER-CLIP's own never writes one)


def family_of(cfg: AnyConfig) -> ModelFamily:
    return FAMILIES[cfg.family]
