"""Evaluate a MER-CLIP checkpoint with the paper's metrics.

    python -m merclip.evaluate --checkpoint runs/x/best --dataset synthetic --root data/synthetic --split test

Prints a markdown table in the paper's format and writes JSON (--out).
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..arguments import user_errors_exit
from ..config import SINGLE_EMOTION
from ..data.features import to_device
from ..data.loading import build_loaders
from ..device import select_device
from ..files import check_writable
from ..models.checkpoint import load_checkpoint
from ..shipped import DEFAULT_CHECKPOINT
from ..models.losses import decisions
from ..models.speed import SpeedConfig, apply_speed
from .metrics import emotion_metrics, markdown_table, sentiment_metrics, single_label_metrics
from .options import add_data_args, data_config_from_args, option_checks


@dataclass
class EvalResult:
    metrics: dict[str, float]
    probs: np.ndarray  # (N, C)
    targets: np.ndarray
    ids: list[str]
    loss: float
    skipped: int = 0  # clips of the split left out because their media could not be decoded


@torch.no_grad()
def evaluate_model(model: nn.Module, loader: DataLoader, device: torch.device, scores: dict[str, float] | None = None,
                   progress: bool = False, amp: bool = False) -> EvalResult:
    """Run the model over a loader; `scores` maps clip id -> sentiment score (for Acc2 conventions).

    Sentiment: has0 is over every clip of the loader and non0 over those with a non-zero score, so the loader
    must keep zero-score clips (data.loading.build_loaders does for every split but train).
    """
    model.eval()
    task = model.cfg.task
    probs, targets, ids = [], [], []
    loss_sum = torch.zeros((), device=device)
    for inputs, target, clip_ids in tqdm(loader, desc="evaluating", disable=not progress, leave=False):
        inputs = to_device(inputs, loader, device)
        target_d = target.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
            out = model(inputs)
            loss = model.loss(out, target_d)[0]
        loss_sum += loss.detach().float() * len(clip_ids)  # kept on the device: no host sync per batch
        probs.append(out.probs.float())
        targets.append(target)
        ids.extend(clip_ids)
    mean_loss = loss_sum.item() / max(1, len(ids))
    skipped = len(getattr(loader.dataset, "uncached", ()))
    P = torch.cat(probs).cpu()
    T = torch.cat(targets).numpy()
    if task == SINGLE_EMOTION:
        metrics = single_label_metrics(T, P.argmax(-1).numpy(), list(model.cfg.labels))
        return EvalResult(metrics, P.numpy(), T, ids, mean_loss, skipped)
    pred = decisions(task, P, model.cfg.emotion_threshold).numpy()
    if task == "emotion":
        metrics = emotion_metrics(T, pred)
    else:
        truth_scores = np.array([scores[i] for i in ids]) if scores else np.where(T == 1, -1.0, 1.0)
        metrics = sentiment_metrics(pred[:, 1], truth_scores)
    return EvalResult(metrics, P.numpy(), T, ids, mean_loss, skipped)


EMOTION_COLUMNS = ["model", "accuracy", "precision", "recall", "micro_f1"]
SENTIMENT_COLUMNS = ["model", "acc2_non0", "f1_non0", "acc2_has0", "f1_has0"]


SINGLE_COLUMNS = ["model", "accuracy", "ua", "weighted_f1"]  # accuracy = IEMOCAP's WA


def columns_for(task: str) -> list[str]:
    return {"emotion": EMOTION_COLUMNS, "sentiment": SENTIMENT_COLUMNS, SINGLE_EMOTION: SINGLE_COLUMNS}[task]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Evaluate a MER-CLIP checkpoint with the paper's metrics.")
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT),
                        help="checkpoint directory (model.safetensors + config.json); default: the shipped demo")
    parser.add_argument("--split", default="test", choices=["train", "valid", "test"])
    parser.add_argument("--out", help="write metrics JSON here")
    parser.add_argument("--fast", action="store_true",
                        help="bf16 autocast and compiled towers on a GPU (SpeedConfig.throughput); no effect on a CPU")
    add_data_args(parser)
    args = parser.parse_args(argv)
    with user_errors_exit(parser.prog):  # a bad checkpoint, device, dataset folder or --out: its message, exit 2
        # checked before the checkpoint loads and the data decodes: a bad combination of data options, an unknown
        # device and an --out that cannot be written would otherwise end the run with a traceback, the last at its end
        with option_checks(parser):
            data_cfg = data_config_from_args(args)
        device = select_device(args.device)
        if args.out:
            check_writable(args.out, "metrics JSON")
        speed = SpeedConfig.throughput(device) if args.fast else SpeedConfig()
        model = apply_speed(load_checkpoint(args.checkpoint, device=device), speed)
        loaders, scores = build_loaders(model, data_cfg, splits=(args.split,), shuffle=False,
                                        require_clips=True)
        result = evaluate_model(model, loaders[args.split], device, scores, progress=True, amp=speed.bf16)
    row = {"model": Path(args.checkpoint).name, **result.metrics}
    print(markdown_table([row], columns_for(model.cfg.task), title=f"{args.dataset} {args.split} ({len(result.ids)} clips)"))
    if args.out:
        Path(args.out).write_text(json.dumps({"split": args.split, "n": len(result.ids), "skipped_clips": result.skipped,
                                              **result.metrics}, indent=2))
    if result.skipped:
        print(f"{result.skipped} clip(s) of the {args.split} split were left out: their media could not be decoded")


if __name__ == "__main__":
    main()
