"""Export a split's embeddings for the app's t-SNE / UMAP view.

    python -m merclip.export --checkpoint checkpoints/merclip-tiny-synthetic --dataset synthetic \\
        --root data/synthetic --split test --out assets/test_embeddings.npz

One .npz (read with allow_pickle=False; nothing pickled) holding, per clip: ids, the pooled
embedding of each modality encoder, the fused CMD output, probabilities, targets and the sentiment
score; plus the label names and label embeddings.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..arguments import user_errors_exit
from ..config import MODALITY_NAMES
from ..data.features import to_device
from ..data.loading import build_loaders
from ..device import select_device
from ..files import check_writable
from ..models.checkpoint import load_checkpoint
from ..shipped import DEFAULT_CHECKPOINT
from ..models.merclip import MERCLIP
from .options import add_data_args, data_config_from_args, option_checks


@torch.no_grad()
def collect_embeddings(model: MERCLIP, loader, device, scores: dict[str, float]) -> dict[str, np.ndarray]:
    model.eval()
    parts: dict[str, list] = {"ids": [], "fused": [], "probs": [], "targets": []}
    for inputs, target, ids in tqdm(loader, desc="embedding", leave=False):
        feats = model.encode_modalities(to_device(inputs, loader, device))
        out = model.predict_from_features(feats)
        for m in model.cfg.modality_order:
            parts.setdefault(MODALITY_NAMES[m], []).append(feats.pooled[m].float().cpu().numpy())
        parts["fused"].append(out.fused.float().cpu().numpy())
        parts["probs"].append(out.probs.float().cpu().numpy())
        parts["targets"].append(target.numpy())
        parts["ids"].extend(ids)
    data = {k: (np.array(v) if k == "ids" else np.concatenate(v)) for k, v in parts.items()}
    data["sentiment"] = np.array([scores[i] for i in data["ids"]], dtype=np.float32)
    data["label_names"] = np.array(model.cfg.labels)
    data["label_embeddings"] = (model.label_embeddings().float().cpu().numpy() if model.cfg.use_label_encoder
                                else model.classifier.weight.float().cpu().numpy())
    data["task"] = np.array(model.cfg.task)
    return data


def embeddings_path(path: str | Path) -> Path:
    """Where `save_embeddings` writes `path`: numpy adds '.npz' to a name without it."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def save_embeddings(path: str | Path, data: dict[str, np.ndarray]) -> Path:
    """Write `data` and return the file written (`embeddings_path`), so that what is reported is what exists."""
    path = embeddings_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **data)
    return path


def load_embeddings(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Export per-modality, fused and label embeddings of a split (.npz).")
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT),
                        help="checkpoint directory (model.safetensors + config.json); default: the shipped demo")
    parser.add_argument("--split", default="test", choices=["train", "valid", "test"])
    parser.add_argument("--out", required=True, help="output .npz file")
    add_data_args(parser)
    args = parser.parse_args(argv)
    with user_errors_exit(parser.prog):  # a bad checkpoint, device, dataset folder or --out: its message, exit 2
        # checked before the checkpoint loads and the data decodes (as evaluate): an --out that is a folder or lies
        # under a file would otherwise fail at the end with a traceback, or be written elsewhere as <folder>.npz
        with option_checks(parser):
            data_cfg = data_config_from_args(args)
        device = select_device(args.device)
        check_writable(args.out, "embeddings", make_parents=True)
        check_writable(embeddings_path(args.out), "embeddings", make_parents=True)
        model = load_checkpoint(args.checkpoint, device=device)
        loaders, scores = build_loaders(model, data_cfg, (args.split,), shuffle=False, require_clips=True)
        data = collect_embeddings(model, loaders[args.split], device, scores)
    print(f"wrote {len(data['ids'])} clips to {save_embeddings(args.out, data)}")


if __name__ == "__main__":
    main()
