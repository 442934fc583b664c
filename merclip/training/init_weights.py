"""`train --init CHECKPOINT`: start a new model from a trained checkpoint's weights (fine-tuning).

The new model is built from its own config (the command's options, a folder dataset's label names); the
checkpoint's tensors are copied into it where name and shape fit. With the label encoder, labels are text and hold
no weights, so a checkpoint trained on other labels fits whole. Without it, the FC classifier is sized by the label
set: it starts fresh when the label count differs. Anything else that differs (another tower, CMD width, modality
set) is refused with the config fields that differ, since half-loaded towers would train from a silently broken start.
"""
from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file
from torch import nn

from ..models.checkpoint import WEIGHTS_NAME, CheckpointError, read_config

LABEL_SIZED = ("classifier.weight", "classifier.bias")  # the FC classifier of a model without the label encoder


def _differing_fields(saved, current) -> list[str]:
    """The config fields that change weights and differ: 'field: checkpoint X vs new Y'."""
    a, b = json.loads(saved.to_json()), json.loads(current.to_json())
    free = current.runtime_fields() | {"labels", "task"}
    return [f"{k}: checkpoint {a.get(k)!r} vs new {b.get(k)!r}" for k in sorted(set(a) | set(b))
            if k not in free and a.get(k) != b.get(k)]


def init_from_checkpoint(model: nn.Module, path: str | Path) -> list[str]:
    """Copy `path`'s weights into `model`; returns the names of the tensors left at their fresh initialisation."""
    saved_cfg = read_config(path)
    if saved_cfg.family != model.cfg.family:
        raise CheckpointError(f"--init '{path}' is a {saved_cfg.family} checkpoint; this run trains {model.cfg.family}")
    weights = Path(path) / WEIGHTS_NAME if Path(path).is_dir() else Path(path)
    state, expected = load_file(str(weights)), model.state_dict()
    resizable = LABEL_SIZED if not getattr(model.cfg, "use_label_encoder", True) else ()
    misfits = sorted({k for k in set(state) ^ set(expected) if k not in resizable} |
                     {k for k in state if k in expected and k not in resizable and state[k].shape != expected[k].shape})
    if misfits:
        fields = _differing_fields(saved_cfg, model.cfg)
        raise CheckpointError(
            f"--init '{path}' does not fit the model this run builds: {len(misfits)} tensor(s) differ (e.g. "
            f"{misfits[:3]}); config fields that differ: {'; '.join(fields) or 'none'}. Give the options the "
            "checkpoint was trained with (its config.json); only the labels may change")
    fitting = {k: v.to(expected[k].dtype) for k, v in state.items() if k in expected and v.shape == expected[k].shape}
    model.load_state_dict(fitting, strict=False)
    return sorted(set(expected) - set(fitting))
