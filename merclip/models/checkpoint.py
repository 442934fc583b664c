"""Checkpoints: safetensors weights + the JSON ModelConfig that rebuilds the model.

A checkpoint is a directory holding `model.safetensors` and `config.json` (the config is also
embedded in the safetensors metadata, so the weights file alone is enough). Loading never
unpickles: safetensors stores raw tensors only. Writes are atomic (temp file + rename), so a
kill during saving never leaves a half-written checkpoint behind.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import UserError
from ..files import atomic_write
from .registry import DEFAULT_FAMILY, FAMILIES, AnyConfig, family_of

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
FORMAT = "merclip-1"


class CheckpointError(UserError):
    """The checkpoint cannot be used with this model; the message says what differs."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No checkpoint where one was asked for (also a FileNotFoundError, for callers that catch that)."""


def save_checkpoint(
    model: nn.Module, directory: str | Path, dtype: torch.dtype | None = None, extra: dict | None = None
) -> Path:
    """Write weights (optionally cast, e.g. float16 to ship small) and config to `directory`."""
    directory = Path(directory)
    state = {k: v.detach().to("cpu", dtype=dtype or v.dtype).contiguous() for k, v in model.state_dict().items()}
    config_json = model.cfg.to_json()
    metadata = {"format": FORMAT, "config": config_json, "extra": json.dumps(extra or {})}
    atomic_write(directory / WEIGHTS_NAME, lambda tmp: save_file(state, tmp, metadata=metadata))
    atomic_write(directory / CONFIG_NAME, lambda tmp: Path(tmp).write_text(config_json))
    return directory


def _weights_path(path: str | Path) -> Path:
    path = Path(path)
    weights = path / WEIGHTS_NAME if path.is_dir() else path
    if not weights.is_file():
        raise CheckpointNotFoundError(f"no MER-CLIP checkpoint at '{path}' (expected a directory with {WEIGHTS_NAME})")
    if weights.suffix != ".safetensors":
        raise CheckpointError(f"'{weights.name}' is not a .safetensors file; MER-CLIP loads safetensors only")
    return weights


def _corrupt(weights: Path, exc: Exception) -> CheckpointError:
    return CheckpointError(f"checkpoint '{weights}' is corrupt or truncated and was not loaded ({exc})")


def read_metadata(path: str | Path) -> dict[str, str]:
    weights = _weights_path(path)
    try:
        with safe_open(str(weights), framework="pt") as f:
            return f.metadata() or {}
    except Exception as exc:  # SafetensorError / OSError: header unreadable
        raise _corrupt(weights, exc) from exc  # keep the cause: the library's own words on what is wrong


def config_from_json(text: str, source: str = "the checkpoint's config") -> AnyConfig:
    """The config of the family the JSON's "model" key names (absent: MER-CLIP), through its config class.

    Anything that is not such a config (not JSON, not an object, unknown fields or values) is a CheckpointError
    naming `source`, never a JSONDecodeError or TypeError from deep inside."""
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError; also a UnicodeDecodeError from bytes
        raise CheckpointError(f"{source} is not valid JSON ({exc}): the checkpoint is damaged") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{source} is not a model config (a JSON object), but a JSON {type(data).__name__}")
    name = data.pop("model", DEFAULT_FAMILY)
    if name not in FAMILIES:
        raise CheckpointError(f"unknown model family {name!r} in {source} (known: {', '.join(FAMILIES)})")
    try:
        return FAMILIES[name].config_cls.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source} does not describe a {name} model: {exc}") from exc


def _comparable(cfg: AnyConfig) -> dict:
    """A config as JSON values, with its family named, so a saved and a built config compare field by field."""
    return {"model": cfg.family, **json.loads(cfg.to_json())}


def read_config(path: str | Path) -> AnyConfig:
    """The config saved with a checkpoint (config.json beside the weights, else the embedded copy)."""
    weights = _weights_path(path)
    sidecar = weights.parent / CONFIG_NAME
    if sidecar.exists():
        try:
            text = sidecar.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"'{sidecar}' cannot be read ({exc})") from exc
        return config_from_json(text, f"'{sidecar}'")
    text = read_metadata(weights).get("config")
    if not text:
        raise CheckpointError(f"'{weights}' carries no MER-CLIP config (was it written by merclip.models.checkpoint?)")
    return config_from_json(text, f"the config inside '{weights}'")


def check_checkpoint(path: str | Path, family: str | None = None) -> AnyConfig:
    """The config of a checkpoint whose weights file is whole, without reading a tensor: the safetensors header is
    parsed and the file's size checked against it (a truncated copy fails here), then the config is read. What
    a server runs at start, so that a damaged checkpoint stops it with a message instead of failing its first
    request; a weights file whose tensor bytes are altered but whole is only found by `load_weights`."""
    read_metadata(path)
    return _of_family(read_config(path), family, path)


def _of_family(cfg: AnyConfig, family: str | None, path: str | Path) -> AnyConfig:
    """`cfg`, unless `family` names another model family: then the predictor this checkpoint needs is named."""
    if family is not None and cfg.family != family:
        raise CheckpointError(f"'{Path(path).name}' is a {cfg.family} checkpoint, not {family} "
                              f"(its predictor: {family_of(cfg).predictor})")
    return cfg


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load checkpoint weights into an already-built model, failing clearly on any mismatch."""
    weights = _weights_path(path)
    saved_cfg = read_metadata(weights).get("config")
    if saved_cfg:
        # through the config class, so fields an older version did not write compare as what that version built
        saved = _comparable(config_from_json(saved_cfg, f"the config inside '{weights}'"))
        current = _comparable(model.cfg)
        differing = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        if set(differing) - model.cfg.runtime_fields():
            detail = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs model {current.get(k)!r}" for k in differing)
            raise CheckpointError(f"checkpoint '{weights}' was saved from another model config ({detail})")
    try:
        state = load_file(str(weights))
    except Exception as exc:  # truncated data section: nothing has been loaded into the model yet
        raise _corrupt(weights, exc) from exc  # keep the cause: the library's own words on what is wrong
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing tensors (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors (e.g. {unexpected[:3]})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (e.g. {shapes[:3]})")
        raise CheckpointError(f"checkpoint '{weights}' does not fit this model: " + "; ".join(parts))
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    return model


def build_from_config(cfg: AnyConfig, load_clip_weights: bool = True, clip_weights: str | None = None) -> nn.Module:
    """The model a config describes, by its family's builder."""
    return family_of(cfg).build(cfg, clip_weights, load_clip_weights=load_clip_weights)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu", family: str | None = None) -> nn.Module:
    """Rebuild the model from the saved config (no CLIP download) and load its weights.

    `family` (a name in merclip.models.registry): refuse a checkpoint of any other family, naming the predictor it needs.
    """
    cfg = _of_family(read_config(path), family, path)
    model = build_from_config(cfg, load_clip_weights=False)
    return load_weights(model, path).to(device).eval()
