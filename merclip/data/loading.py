"""From a `DataConfig` (the data options of `merclip.training.options.add_data_args`) to DataLoaders over the
decoded-media cache.

`build_loaders` loads the dataset's samples, fills the cache where it is missing and hands one DataLoader per
split; training, evaluation, export and the ablations read their data through it.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, DistributedSampler

from ..config import SINGLE_EMOTION, MediaConfig
from ..errors import UserError
from ..model_configs.presets import train_config_for
from ..pretrained import clip_towers
from .erc import iemocap_split, load_meld
from .features import CachedClipDataset, Collate, build_cache
from .folder import fit_model_to_folder, load_folder
from .lexicon import text_corpus_dataset
from .spoken_forms import ITEMS_PER_EMOTION, fewest_items
from .mismatch import MismatchedClips
from .mosi_mosei import DatasetFormatError
from .mosi_mosei import load as load_mosi_mosei

DATASETS = ("mosei", "mosi", "synthetic", "meld", "iemocap", "folder")  # what --dataset names
SINGLE_LABEL_DATASETS = ("meld", "iemocap")  # one emotion per utterance: read by LSGMER (task SINGLE_EMOTION) only


@dataclass
class DataConfig:
    """Which dataset a run reads and how; saved as data_config.json in every training run's folder."""

    root: Path  # the dataset folder
    dataset: str = "synthetic"  # mosei, mosi, synthetic, meld, iemocap or folder
    cache_dir: Path | None = None  # decoded-media cache; None: <root>/.merclip_cache
    segments: Path | None = None  # MOSI/MOSEI: a file of the segment ids to use exactly; None: every labelled one
    neutral: str = "drop"  # sentiment 0 in training: "drop" or "nonnegative" (evaluation keeps them: neutral_policy_for)
    limit: int | None = None  # at most this many clips per split
    workers: int = 2  # processes that decode media into the cache
    loader_workers: int | None = None  # DataLoader worker processes; None: loader_options decides
    batch_size: int | None = None  # None: the dataset preset's
    iemocap_setup: str = "4class"  # IEMOCAP label set: 4class or 6class
    fold: int = 1  # IEMOCAP leave-one-session-out fold: test on Session<fold>
    valid_fraction: float | None = None  # folder: share of split-less rows held out (folder.splits_of)
    on_error: str = "stop"  # folder: a bad metadata row stops the run, or "skip" leaves it out, counted
    audio_segments: int | str = 12  # 2-s segments the audio tower reads: 12 regularly selected (sec. 4.3), or "all"
    text_corpus: str | None = None  # "nrc": add the lexicon's words to the train split as text-only items (ours)
    mismatched: float = 0.0  # add this share of train clips again, each with another clip's face and voice (ours)
    mismatched_swap: str = "face+voice"  # what they take from elsewhere: "face+voice", "face" or "photo" (a real face)
    spoken_per_emotion: int = ITEMS_PER_EMOTION  # text_corpus "speech": spoken-form items per emotion (ours)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.cache_dir = Path(self.cache_dir) if self.cache_dir else None
        self.segments = Path(self.segments) if self.segments else None
        if self.spoken_per_emotion != ITEMS_PER_EMOTION:  # checked here, before any run folder is written
            if "speech" not in (self.text_corpus or "").split("+"):
                raise ValueError("spoken_per_emotion sets how many spoken-form items each emotion gets: it needs "
                                 "text_corpus speech (or nrc+speech, nrc-single+speech)")
            _, most = fewest_items()
            if not 1 <= self.spoken_per_emotion <= most:
                raise ValueError(f"spoken_per_emotion is between 1 and {most} (the spoken forms make {most} items per "
                                 f"emotion); got {self.spoken_per_emotion}")

    @property
    def cache_path(self) -> Path:
        return self.cache_dir or self.root / ".merclip_cache"

    def to_dict(self) -> dict:
        """The fields, paths as strings (JSON-ready)."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def load_dataset_samples(cfg: DataConfig, splits: tuple[str, ...]):
    """The samples (mosi_mosei.Sample, erc.Utterance or folder.FolderSample) of `splits`; IEMOCAP's splits are its
    leave-one-session-out fold (`cfg.fold`, `cfg.iemocap_setup`); a folder's rows without a split follow
    `cfg.valid_fraction` (merclip.data.folder.splits_of), and its bad rows `cfg.on_error`."""
    if cfg.dataset == "folder":
        return load_folder(cfg.root, splits, cfg.valid_fraction, cfg.on_error)
    if cfg.dataset == "meld":
        return load_meld(cfg.root, splits)
    if cfg.dataset == "iemocap":
        return [u for u in iemocap_split(cfg.root, cfg.iemocap_setup, cfg.fold) if u.split in splits]
    return load_mosi_mosei(cfg.dataset, cfg.root, splits, segments=cfg.segments)


def media_config_for(model: nn.Module, pp: dict, audio_segments: int | str = 12) -> MediaConfig:
    """What the cache must hold for this model, given its image preprocessing `pp` (LSGMER reads no frames).

    Training and evaluation keep clips longer than the 60-s media cap (long_clip='window': their first 60 s),
    so no labelled segment is dropped for its length; the app still refuses long uploads.
    """
    face_crop = getattr(model.cfg, "vision_backbone", "clip") == "fer"  # the FER tower reads face crops
    return MediaConfig(num_frames=getattr(model.cfg, "num_frames", 1), image_size=pp["image_size"],
                       long_clip="window", face_crop=face_crop, audio_segments=audio_segments)


def loader_options(workers: int | None, device: torch.device) -> dict:
    """DataLoader settings for batches bound for `device`: on a GPU, worker processes and pinned memory keep the next
    batches ready while the current step runs (bench/throughput.py measures how busy that keeps the GPU); on a CPU
    the main process reads the cache itself, since workers would only compete with the model for the same cores.
    `workers` None picks by device: min(8, cores) on a GPU, 0 on a CPU."""
    cuda = device.type == "cuda"
    if workers is None:
        workers = min(8, os.cpu_count() or 1) if cuda else 0
    options: dict = {"num_workers": workers, "pin_memory": cuda}
    if workers > 0:
        options |= {"persistent_workers": True, "prefetch_factor": 4}
    return options


def neutral_policy_for(split: str, train_policy: str) -> str:
    """Zero-score clips: training follows --neutral; evaluation always keeps them (as 'non-negative').

    Acc2 is reported both ways (metrics.sentiment_metrics): has0 needs every test clip, zeros included, and non0
    removes the zeros itself from the clip scores. Dropping them from the evaluation splits would make the two
    columns identical.
    """
    return train_policy if split == "train" else "nonnegative"


def build_loaders(model: nn.Module, cfg: DataConfig, splits=("train", "valid"), shuffle: bool = True,
                  distributed: bool = False, seed: int = 0, batch_size: int | None = None,
                  require_clips: bool = False) -> tuple[dict[str, DataLoader], dict[str, float]]:
    """DataLoaders per split over the decoded-media cache (built here when missing), and the clips' sentiment
    scores (clip id -> score, for Acc2; empty for datasets without scores). Batches are made for the device the
    model is on; `batch_size` overrides `cfg.batch_size`. `require_clips` (training, evaluate, export, ablate)
    refuses a split without clips before any decoding; without it an empty split is an empty loader (a caller that
    reads every split of a small set skips those)."""
    check_dataset_for_task(model.cfg.task, cfg.dataset)
    samples = load_dataset_samples(cfg, tuple(splits))
    if cfg.dataset == "folder":  # the folder names its own labels: the model scores those
        fit_model_to_folder(model, samples)
    if cfg.limit:
        samples = [s for split in splits for s in [x for x in samples if x.split == split][: cfg.limit]]
    if require_clips:
        refuse_empty_splits(samples, splits, cfg)
    pp = clip_towers.image_preprocess_config(model.audio.visual)
    media_cfg = media_config_for(model, pp, cfg.audio_segments)
    if not distributed or dist.get_rank() == 0:
        _fill_cache(samples, cfg, media_cfg)
    if distributed:
        dist.barrier()
    batch_size = batch_size or cfg.batch_size or train_config_for(cfg.dataset).batch_size
    options = loader_options(cfg.loader_workers, next(model.parameters()).device)
    loaders = {}
    for split in splits:
        ds = CachedClipDataset([s for s in samples if s.split == split], cfg.cache_path, media_cfg, model.cfg.task,
                               pp["mean"], pp["std"], neutral_policy_for(split, cfg.neutral), labels=model.cfg.labels)
        if split == "train" and (cfg.text_corpus or cfg.mismatched):
            ds = ClipsAndExtras(ds, _extras(ds, cfg, model.cfg.labels))
        sampler = DistributedSampler(ds, shuffle=shuffle, seed=seed) if distributed and split == "train" else None
        loaders[split] = DataLoader(ds, batch_size=batch_size, shuffle=shuffle and sampler is None and split == "train",
                                    sampler=sampler, collate_fn=Collate(model.tokenizer), **options)
    scores = {s.clip_id: s.sentiment for s in samples if isinstance(getattr(s, "sentiment", None), float)}
    return loaders, scores


def refuse_empty_splits(samples, splits, cfg: DataConfig) -> None:
    """A DatasetFormatError naming the splits of `splits` without a sample. Why: an empty split fails late otherwise
    (training ran a whole epoch, then validation's torch.cat raised on nothing; an ablation trained a cell, then found
    no test clip)."""
    empty = [split for split in splits if not any(s.split == split for s in samples)]
    if empty:
        raise DatasetFormatError(f"the {' and '.join(empty)} split{'s' if len(empty) > 1 else ''} of the {cfg.dataset} "
                                 f"dataset at '{cfg.root}' {'have' if len(empty) > 1 else 'has'} no clips")


def check_dataset_for_task(task: str, dataset: str) -> None:
    """Refuse a model on a dataset whose samples it cannot read, before any clip is decoded: LSGMER (one emotion per
    utterance) reads MELD and IEMOCAP only, MER-CLIP (multi-label emotion, sentiment) every other dataset. Without
    this the first batch failed with an AttributeError ('Sample' object has no attribute 'label'), after the cache
    was filled and, in training, the run folder written."""
    single = task == SINGLE_EMOTION
    if single != (dataset in SINGLE_LABEL_DATASETS):
        wants = ", ".join(d for d in DATASETS if (d in SINGLE_LABEL_DATASETS) == single)
        family = "LSGMER (--model lsgmer)" if single else "MER-CLIP"
        raise UserError(f"--dataset {dataset} cannot be read by a {family} model: it reads --dataset {wants}")


def _extras(clips: CachedClipDataset, cfg: DataConfig, labels: tuple[str, ...]) -> list:
    """The demo recipe's extra training items (this project's): a text corpus's words, mismatched clips."""
    extras = []
    if cfg.text_corpus:
        extras.append(text_corpus_dataset(cfg.text_corpus, labels, cfg.spoken_per_emotion))
    if cfg.mismatched:
        extras.append(MismatchedClips(clips, cfg.mismatched, swap=cfg.mismatched_swap))
    return extras


class ClipsAndExtras(ConcatDataset):
    """A split's clips followed by extra items (text-only words, mismatched clips); it answers for the clips where
    the loop and `to_device` ask the dataset (normalisation, skipped and cut clips)."""

    def __init__(self, clips: CachedClipDataset, extras: list):
        super().__init__([clips, *extras])
        self.clips = clips
        self.mean, self.std, self.uncached = clips.mean, clips.std, clips.uncached

    @property
    def cut(self) -> list[str]:
        return self.clips.cut


def _fill_cache(samples: list, cfg: DataConfig, media_cfg: MediaConfig) -> None:
    """Decode the samples missing from the cache; say how many could not be decoded, and the first 10 of them."""
    errors = build_cache(samples, cfg.cache_path, media_cfg, workers=cfg.workers, progress=True)
    if errors:
        print(f"skipped {len(errors)} of {len(samples)} clips whose media could not be decoded "
              f"(the count per split goes into metrics.json as *_skipped_clips); the first 10:")
    for e in errors[:10]:
        print(f"  skipped {e}")
