"""From the data options (`merclip.training.options.add_data_args`) to DataLoaders over the decoded-media cache.

`build_loaders` loads the dataset's samples, fills the cache where it is missing and hands one DataLoader per
split; training, evaluation, export and the ablations read their data through it.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from ..config import MediaConfig
from ..device import select_device
from ..model_configs.presets import train_config_for
from ..pretrained import clip_towers
from .erc import iemocap_split, load_meld
from .features import CachedClipDataset, Collate, build_cache
from .folder import fit_model_to_folder, load_folder
from .mosi_mosei import load as load_mosi_mosei


def load_dataset_samples(dataset: str, root: Path, splits: tuple[str, ...], args: argparse.Namespace | None = None):
    """The samples (mosi_mosei.Sample, erc.Utterance or folder.FolderSample) of `splits`; IEMOCAP's splits are its
    leave-one-session-out fold (`--fold`, `--iemocap-setup`); a folder's rows without a split follow
    `--valid-fraction` (merclip.data.folder.splits_of), and its bad rows `--on-error`."""
    if dataset == "folder":
        return load_folder(root, splits, getattr(args, "valid_fraction", None), getattr(args, "on_error", "stop"))
    if dataset == "meld":
        return load_meld(root, splits)
    if dataset == "iemocap":
        return [u for u in iemocap_split(root, getattr(args, "iemocap_setup", "4class"), getattr(args, "fold", 1))
                if u.split in splits]
    return load_mosi_mosei(dataset, root, splits, segments=getattr(args, "segments", None))


def media_config_for(model: nn.Module, pp: dict) -> MediaConfig:
    """What the cache must hold for this model, given its image preprocessing `pp` (LSGMER reads no frames).

    Training and evaluation keep clips longer than the 60-s media cap (long_clip='window': their first 60 s),
    so no labelled segment is dropped for its length; the app still refuses long uploads.
    """
    face_crop = getattr(model.cfg, "vision_backbone", "clip") == "fer"  # issue #15: the FER tower reads face crops
    return MediaConfig(num_frames=getattr(model.cfg, "num_frames", 1), image_size=pp["image_size"],
                       long_clip="window", face_crop=face_crop)


def loader_options(args: argparse.Namespace) -> dict:
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


def build_loaders(model: nn.Module, args: argparse.Namespace, splits=("train", "valid"), shuffle: bool = True,
                  distributed: bool = False, seed: int = 0,
                  batch_size: int | None = None) -> tuple[dict[str, DataLoader], dict[str, float]]:
    """DataLoaders per split over the decoded-media cache (built here when missing), and the clips' sentiment
    scores (clip id -> score, for Acc2; empty for datasets without scores)."""
    root = Path(args.root)
    cache_dir = Path(args.cache_dir) if args.cache_dir else root / ".merclip_cache"
    samples = load_dataset_samples(args.dataset, root, tuple(splits), args)
    if args.dataset == "folder":  # the folder names its own labels: the model scores those
        fit_model_to_folder(model, samples)
    if args.limit:
        samples = [s for split in splits for s in [x for x in samples if x.split == split][: args.limit]]
    pp = clip_towers.image_preprocess_config(model.audio.visual)
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
