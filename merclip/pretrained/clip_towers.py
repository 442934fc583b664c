"""CLIP towers from open_clip.

One job: turn (architecture name, weights source) into an open_clip CLIP model and its tokenizer.
Weights come from, in order of preference:
  * an explicit local file (`--clip-weights PATH` or the `MERCLIP_CLIP_WEIGHTS` environment variable),
  * an open_clip pretrained tag such as 'openai' (works offline when the weights are already cached),
  * nothing (random init) — used by the tiny test config and the offline demo.
A local file is loaded into the built architecture by open_clip's own loader (weights_only=True), so nothing here
unpickles arbitrary objects. `clip_architecture` builds the architecture alone, for a checkpoint's weights.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import open_clip
from torch import nn

MODEL_CONFIG_DIR = Path(__file__).parents[1] / "model_configs"
WEIGHTS_ENV_VAR = "MERCLIP_CLIP_WEIGHTS"
LOCAL_WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
RANDOM_INIT_WARNING = "No pretrained weights loaded for model"  # how open_clip's create_model says it loaded none


class MissingWeightsError(FileNotFoundError):
    """Raised when CLIP weights were asked for but cannot be found."""


@lru_cache(maxsize=1)
def register_model_configs() -> None:
    """Make the JSON configs shipped in merclip/model_configs visible to open_clip's registry."""
    open_clip.add_model_config(MODEL_CONFIG_DIR)


def _how_to_provide(arch: str) -> str:
    return (
        f"Provide CLIP {arch} weights in one of two ways: pass a local open_clip weights file with "
        f"--clip-weights PATH, or set the environment variable {WEIGHTS_ENV_VAR}=PATH. "
        "(Or use --clip-model merclip-tiny with no weights for a random-init offline model.)"
    )


def resolve_weights_source(pretrained: str | None, explicit_path: str | None = None) -> str | None:
    """Decide where weights come from; an explicit path or the environment variable wins over a tag.

    With no tag and no explicit path the model is random-init on purpose (tiny config), so the
    environment variable is not consulted then.
    """
    if explicit_path:
        return explicit_path
    if pretrained is None:
        return None
    return os.environ.get(WEIGHTS_ENV_VAR) or pretrained


def _looks_like_path(source: str) -> bool:
    return os.sep in source or source.endswith(LOCAL_WEIGHT_SUFFIXES) or source.startswith(".")


def _known_architecture(arch: str) -> str:
    register_model_configs()
    if arch not in open_clip.list_models():
        raise ValueError(f"unknown CLIP architecture {arch!r}; known ones include ViT-B-32 and merclip-tiny")
    return arch


class _NoRandomInitWarning(logging.Filter):
    """Drops open_clip's "Model initialized randomly" warning, and nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(RANDOM_INIT_WARNING)


@contextmanager
def _weights_follow():
    """Hold back open_clip's "initialized randomly" warning while building an architecture whose weights come next.

    open_clip's factory logs it (through the root logger) whenever it loaded no weights itself: a false alarm when
    the caller loads a file or a checkpoint right after."""
    root, quiet = logging.getLogger(), _NoRandomInitWarning()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


def clip_architecture(arch: str) -> nn.Module:
    """An open_clip model with random weights, for weights that are loaded into it next (a file, a checkpoint)."""
    with _weights_follow():
        return open_clip.create_model(_known_architecture(arch), pretrained=None)


def create_clip(arch: str, pretrained: str | None = None, weights_path: str | None = None) -> nn.Module:
    """Build an open_clip CLIP model with its weights (once: the architecture is never built twice).

    `pretrained` is an open_clip tag ('openai') or a local file; `weights_path` (or $MERCLIP_CLIP_WEIGHTS)
    overrides it; neither: random init on purpose (open_clip says so in its log). Raises MissingWeightsError naming
    the path and the two ways to provide weights.
    """
    arch = _known_architecture(arch)
    source = resolve_weights_source(pretrained, weights_path)
    if source is None:
        return open_clip.create_model(arch, pretrained=None)
    if _looks_like_path(source):
        path = Path(source).expanduser()
        if not path.is_file():
            raise MissingWeightsError(f"CLIP weights file not found: {path}. {_how_to_provide(arch)}")
        model = clip_architecture(arch)
        open_clip.load_checkpoint(model, str(path), weights_only=True)
        return model
    try:
        return open_clip.create_model(arch, pretrained=source, require_pretrained=True)
    except Exception as exc:  # open_clip raises RuntimeError/OSError/HF errors when offline and uncached
        raise MissingWeightsError(
            f"could not load pretrained CLIP weights {arch}/{source!r} (not cached and not downloadable here: "
            f"{type(exc).__name__}). {_how_to_provide(arch)}"
        ) from exc


@lru_cache(maxsize=4)
def get_tokenizer(arch: str):
    """open_clip's tokenizer for `arch` (the BPE vocabulary ships with open_clip, so this is offline)."""
    register_model_configs()
    return open_clip.get_tokenizer(arch)


def image_preprocess_config(visual: nn.Module) -> dict:
    """Image size, mean and std an image tower expects (open_clip stores them on the tower)."""
    cfg = getattr(visual, "preprocess_cfg", {}) or {}
    size = cfg.get("size", visual.image_size)
    size = size if isinstance(size, int) else size[0]
    return {
        "image_size": int(size),
        "mean": tuple(cfg.get("mean", open_clip.OPENAI_DATASET_MEAN)),
        "std": tuple(cfg.get("std", open_clip.OPENAI_DATASET_STD)),
    }


def embed_dim(clip: nn.Module) -> int:
    """Width of the joint CLIP embedding space (512 for ViT-B-32)."""
    proj = clip.text_projection
    return int(proj.out_features) if isinstance(proj, nn.Linear) else int(proj.shape[1])
