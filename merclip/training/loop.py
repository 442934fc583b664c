"""Train MER-CLIP with the paper's recipe.

    python -m merclip.train --dataset synthetic --root data/synthetic --out runs/demo --clip-model merclip-tiny
    python -m merclip.train --dataset mosei --root /data/CMU_MOSEI --out runs/mosei --task emotion
    torchrun --nproc_per_node 4 -m merclip.train ...        # data parallel (NCCL on GPU, gloo on CPU)

Defaults per dataset: MOSEI / MOSI the paper's (AdamW, lr 8e-6 / 2.2e-5, wd 1e-3, batch 16 / 8, 20 epochs,
LE frozen), MELD / IEMOCAP this project's. Each epoch: train, validate, write `ckpt-epochNNN/` atomically and point
`latest.json` at it, keep the best (by micro-F1 for emotion, Acc2 for sentiment) in `best/`.
`--resume` continues after the last complete epoch and reproduces an uninterrupted run exactly
(per-epoch seeds for shuffling and dropout). Metrics go to metrics.csv / metrics.json and to
TensorBoard when it is installed; the run's configs to model_config.json, train_config.json and data_config.json.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from ..arguments import user_errors_exit
from ..config import SINGLE_EMOTION, TrainConfig
from ..data.features import to_device
from ..data.loading import DataConfig, build_loaders
from ..device import select_device
from ..files import atomic_write, check_folder_writable
from ..model_configs.presets import train_config_for
from ..models.checkpoint import build_from_config, save_checkpoint
from ..models.registry import AnyConfig
from ..models.speed import SpeedConfig, apply_speed
from .evaluate import evaluate_model
from .init_weights import init_from_checkpoint
from .optim import build_optimizer, lr_factor, set_lr
from .options import (add_data_args, add_model_args, add_training_args, data_config_from_args, model_config_from_args,
                      option_checks, run_config_from_args, train_config_from_args)
from .runtime import RunConfig, TrainingHooks
from .state import load_training_state, save_training_state


class _Loss(nn.Module):
    """forward(inputs, targets) -> the training loss, so DDP sees one plain tensor for either model family."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs, targets):
        return self.model.training_loss(inputs, targets)


def selection_metric(task: str) -> str:
    """The validation metric that picks the best epoch."""
    return {"emotion": "micro_f1", "sentiment": "acc2_non0", SINGLE_EMOTION: "weighted_f1"}[task]


def _check_ranks_in_sync(model: nn.Module, seen: list[str], out: Path, epoch: int, rank: int) -> None:
    """DDP: after an epoch on different data, every rank must hold the same weights (the gradients were averaged).

    Gathers a float64 checksum of the trainable weights and the clip ids each rank trained on (a barrier, too);
    rank 0 records them in ddp_sync.json, and a divergence is an error, not a silently wrong model.
    """
    checksum = float(sum(p.detach().double().sum().item() for p in model.parameters() if p.requires_grad))
    gathered: list = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, {"checksum": checksum, "ids": sorted(seen)})
    if rank == 0:
        path = out / "ddp_sync.json"
        log = json.loads(path.read_text()) if path.is_file() else {}
        log[str(epoch + 1)] = gathered
        path.write_text(json.dumps(log))
    if len({g["checksum"] for g in gathered}) != 1:
        raise RuntimeError(f"DDP ranks' weights diverged after epoch {epoch + 1}: checksums "
                           f"{[g['checksum'] for g in gathered]}")


def _write_logs(out: Path, history: list[dict]) -> None:
    """The history so far as metrics.csv (one row per epoch) and metrics.json."""
    keys = sorted({k for row in history for k in row}, key=lambda k: (k != "epoch", k))
    with open(out / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    (out / "metrics.json").write_text(json.dumps(history, indent=1))


@dataclass
class _Process:
    """Where this process trains: its device, and its rank among the DDP processes (torchrun), if any."""

    device: torch.device
    distributed: bool = False
    rank: int = 0

    @property
    def world_size(self) -> int:
        return dist.get_world_size() if self.distributed else 1


@dataclass
class _Run:
    """What every epoch of one run shares: its folder, processes, length, precision, output, the caller's hooks and
    the learning-rate schedule."""

    out: Path
    proc: _Process
    epochs: int
    amp: bool  # bf16 autocast (GPU only)
    progress: bool  # progress bar and a printed row per epoch
    hooks: TrainingHooks
    lr_schedule: str = "constant"  # optim.lr_factor's schedule over the run's optimiser steps
    total_steps: int = 1


@dataclass
class _Progress:
    """What a run has done so far; saved with every epoch, so that --resume continues after the last complete one."""

    history: list[dict] = field(default_factory=list)
    best: float = float("-inf")
    best_epoch: int = -1
    next_epoch: int = 0


def train(model_cfg: AnyConfig, train_cfg: TrainConfig, data_cfg: DataConfig, out_dir: str | Path, *,
          run: RunConfig = RunConfig(), resume: bool = False, progress: bool = True,
          hooks: TrainingHooks = TrainingHooks()) -> dict:
    """Train, validate each epoch, keep the best; returns {'history', 'best', 'best_epoch', 'model'}.

    `resume` continues after the last complete epoch in `out_dir`; `hooks` are called after every optimiser step
    and at each stage of every epoch's save.
    """
    proc = _join_processes(run.device)
    torch.manual_seed(train_cfg.seed)
    model = _build_model(model_cfg, train_cfg, run.clip_weights, proc.device)
    loaders, scores = build_loaders(model, data_cfg, ("train", "valid"), shuffle=True, distributed=proc.distributed,
                                    seed=train_cfg.seed, batch_size=train_cfg.batch_size, require_clips=True)
    # fused: one kernel for the whole parameter update on a GPU instead of several per parameter tensor
    optimizer = build_optimizer(model, train_cfg, fused=proc.device.type == "cuda")
    ctx = _Run(Path(out_dir), proc, train_cfg.epochs, train_cfg.amp and proc.device.type == "cuda", progress, hooks,
               train_cfg.lr_schedule, len(loaders["train"]) * train_cfg.epochs)
    state = _start_or_resume(ctx.out, model, optimizer, resume, proc)
    if proc.rank == 0:
        _save_configs(ctx.out, model_cfg, train_cfg, data_cfg)
    writer = _tensorboard(ctx.out) if proc.rank == 0 else None
    net = _wrap_for_ddp(_Loss(model), proc)
    steps = len(loaders["train"]) * state.next_epoch
    for epoch in range(state.next_epoch, train_cfg.epochs):
        torch.manual_seed(train_cfg.seed * 1000 + epoch)  # dropout and shuffling depend only on (seed, epoch)
        row, steps, seen = _train_epoch(net, optimizer, loaders["train"], epoch, steps, ctx)
        if proc.distributed:
            _check_ranks_in_sync(model, seen, ctx.out, epoch, proc.rank)
        if proc.rank == 0:
            _validate_and_save(model, optimizer, loaders, scores, epoch, row, state, ctx)
            _log(ctx.out, row, state.history, writer, progress)
        if proc.distributed:
            dist.barrier()
    if writer is not None:
        writer.close()
    if proc.distributed:
        dist.destroy_process_group()
    return {"history": state.history, "best": state.best, "best_epoch": state.best_epoch, "model": model}


def _save_configs(out: Path, model_cfg: AnyConfig, train_cfg: TrainConfig, data_cfg: DataConfig) -> None:
    """The run's model, recipe and data, as JSON in its folder: what it takes to repeat the run."""
    (out / "train_config.json").write_text(json.dumps(asdict(train_cfg), indent=1))
    (out / "model_config.json").write_text(model_cfg.to_json())
    (out / "data_config.json").write_text(json.dumps(data_cfg.to_dict(), indent=1))


def _join_processes(device_name: str | None) -> _Process:
    """The device to train on; under torchrun (WORLD_SIZE > 1) also the process group (NCCL on GPU, gloo on CPU)."""
    device = select_device(device_name)
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return _Process(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    return _Process(device, distributed=True, rank=dist.get_rank())


def _build_model(model_cfg: AnyConfig, train_cfg: TrainConfig, clip_weights: str | None,
                 device: torch.device) -> nn.Module:
    """The model on `device`, with the recipe's gradient checkpointing and compilation."""
    model = build_from_config(model_cfg, clip_weights=clip_weights)
    if train_cfg.init:  # fine-tuning: a trained checkpoint's weights, this run's labels
        fresh = init_from_checkpoint(model, train_cfg.init)
        print(f"started from {train_cfg.init}" + (f"; fresh: {', '.join(fresh)}" if fresh else ""))
    model = model.to(device)
    if train_cfg.grad_checkpointing and hasattr(model, "set_grad_checkpointing"):
        model.set_grad_checkpointing(True)
    return apply_speed(model, SpeedConfig(compile=train_cfg.compile))


def _start_or_resume(out: Path, model: nn.Module, optimizer: torch.optim.Optimizer, resume: bool,
                     proc: _Process) -> _Progress:
    """A fresh start, or (`resume`) the weights, optimiser and progress of the checkpoint `latest.json` names."""
    out.mkdir(parents=True, exist_ok=True)
    if not (resume and (out / "latest.json").is_file()):
        return _Progress()
    latest = json.loads((out / "latest.json").read_text())
    meta = load_training_state(out / latest["path"], model, optimizer)
    if proc.rank == 0:
        print(f"resuming after epoch {meta['epoch']} from {out / latest['path']}")
    return _Progress(meta["history"], meta["best"], meta["best_epoch"], meta["epoch"] + 1)


def _wrap_for_ddp(net: nn.Module, proc: _Process) -> nn.Module:
    if not proc.distributed:
        return net
    return nn.parallel.DistributedDataParallel(net, device_ids=[proc.device.index] if proc.device.type == "cuda" else None,
                                               find_unused_parameters=True)


def _train_epoch(net: nn.Module, optimizer: torch.optim.Optimizer, loader: DataLoader, epoch: int, steps: int,
                 ctx: _Run) -> tuple[dict, int, list[str]]:
    """One pass over the training split: (the epoch's log row so far, the optimiser steps taken in all, the clip ids
    this rank saw)."""
    if isinstance(loader.sampler, DistributedSampler):
        loader.sampler.set_epoch(epoch)
    net.train()
    device = ctx.proc.device
    t0, total, count = time.perf_counter(), torch.zeros((), device=device), 0
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{ctx.epochs}", disable=not ctx.progress or ctx.proc.rank != 0)
    seen: list[str] = []  # this rank's clip ids this epoch (DDP: the sync check shows they differ per rank)
    for inputs, target, ids in bar:
        seen.extend(map(str, ids))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=ctx.amp):
            loss = net(to_device(inputs, loader, device), target.to(device, non_blocking=True)).float()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        set_lr(optimizer, lr_factor(ctx.lr_schedule, steps, ctx.total_steps))
        optimizer.step()
        steps += 1
        total += loss.detach() * len(ids)  # summed on the device: no host sync per step
        count += len(ids)
        if steps % 25 == 0:
            bar.set_postfix(loss=f"{total.item() / count:.4f}")
        ctx.hooks.after_step(steps)
    epoch_loss = total.item() / max(1, count)  # the epoch's one host sync, before the clock stops
    train_time = time.perf_counter() - t0
    row = {"epoch": epoch + 1, "train_loss": epoch_loss, "lr": optimizer.param_groups[0]["lr"],  # at its last step
           "train_seconds": train_time,
           "clips_per_second": count / train_time * ctx.proc.world_size,
           "train_skipped_clips": len(getattr(loader.dataset, "uncached", ()))}
    return row, steps, seen


def _validate_and_save(model: nn.Module, optimizer: torch.optim.Optimizer, loaders: dict[str, DataLoader],
                       scores: dict[str, float], epoch: int, row: dict, state: _Progress, ctx: _Run) -> None:
    """Validate; write the epoch's checkpoint and training state, `best/` when it improved, then `latest.json`."""
    out, metric_name = ctx.out, selection_metric(model.cfg.task)
    val = evaluate_model(model, loaders["valid"], ctx.proc.device, scores, amp=ctx.amp)
    row.update({"valid_loss": val.loss, **{f"valid_{k}": v for k, v in val.metrics.items()},
                "valid_skipped_clips": val.skipped})
    state.history.append(row)
    improved = val.metrics[metric_name] > state.best
    if improved:
        state.best, state.best_epoch = val.metrics[metric_name], epoch + 1
    ckpt = out / f"ckpt-epoch{epoch + 1:03d}"
    save_training_state(ckpt, model, optimizer, {"epoch": epoch, "history": state.history, "best": state.best,
                                                 "best_epoch": state.best_epoch}, ctx.hooks)
    if improved:
        tmp = out / "best.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        save_checkpoint(model, tmp, extra={"epoch": epoch + 1, metric_name: state.best})
        shutil.rmtree(out / "best", ignore_errors=True)
        tmp.rename(out / "best")
    ctx.hooks.during_save(epoch, "before-latest")
    atomic_write(out / "latest.json", lambda p: Path(p).write_text(json.dumps({"path": ckpt.name, "epoch": epoch})))
    ctx.hooks.during_save(epoch, "after-latest")
    ctx.hooks.after_epoch(epoch, ckpt)
    for old in out.glob("ckpt-epoch*"):
        if old != ckpt:
            shutil.rmtree(old, ignore_errors=True)


def _log(out: Path, row: dict, history: list[dict], writer, progress: bool) -> None:
    """The epoch's row into the logs (and TensorBoard when there is one), and printed with `progress`."""
    _write_logs(out, history)
    if writer is not None:
        for k, v in row.items():
            if k != "epoch":
                writer.add_scalar(k, v, row["epoch"])
    if progress:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))


def _tensorboard(out: Path):
    """A TensorBoard writer into <out>/tb, or None when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard not installed: CSV/JSON logs only (any other failure is a bug: raise it)
        return None
    return SummaryWriter(str(out / "tb"))


def build_parser() -> argparse.ArgumentParser:
    """The options of `python -m merclip.train`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Defaults: " + json.dumps({"mosei": asdict(train_config_for("mosei")),
                                                                       "mosi": asdict(train_config_for("mosi"))}))
    add_data_args(parser)
    add_model_args(parser)
    add_training_args(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    with user_errors_exit(parser.prog):
        with option_checks(parser):
            model_cfg, train_cfg, data_cfg = (model_config_from_args(args), train_config_from_args(args),
                                              data_config_from_args(args))
        check_folder_writable(args.out, "run folder")  # a file there was found only after the data was decoded
        result = train(model_cfg, train_cfg, data_cfg, args.out, run=run_config_from_args(args), resume=args.resume)
    if result["history"]:
        print(f"best valid {selection_metric(model_cfg.task)} {result['best']:.4f} at epoch {result['best_epoch']}")


if __name__ == "__main__":
    main()
