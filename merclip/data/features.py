"""Decoded-media cache and the training Dataset.

Decoding video, resampling audio and computing log-mel images is CPU work that does not change
between epochs; the towers that consume them are fine-tuned, so their *inputs* are what we cache.
`build_cache` runs once per dataset (parallel worker processes, a progress bar), writing one
safetensors file per clip with uint8 frames and log-mel images, so epochs are bound by the model.
"""
from __future__ import annotations

import concurrent.futures as cf
import functools
import hashlib
import multiprocessing as mp
import sys
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils.data import Dataset
from tqdm import tqdm

from ..config import SINGLE_EMOTION, MediaConfig
from ..media.decoded import ClipInputs, normalise_uint8
from ..models.batch import collate_clips
from .mosi_mosei import NeutralPolicy, Sample

_UNIT = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))  # mean/std that leave images in [0, 1]
# How media.load_clip says it kept only the first cfg.max_seconds of a longer clip (long_clip="window"): the note is
# its one record of the cut, so the cache stores it as a flag (tests/test_data.py pins the wording).
_CUT_NOTE = "s long: only its first"


def cache_path(cache_dir: Path, sample: Sample, cfg: MediaConfig) -> Path:
    fields = {k: v for k, v in asdict(cfg).items() if not (k == "face_crop" and not v)}  # #15: old cache keys hold
    key = hashlib.sha1(f"{sample.clip_id}|{sample.video}|{sorted(fields.items())}".encode()).hexdigest()[:16]
    name = sample.clip_id.replace("/", "__")  # a folder dataset's ids are paths with subfolders
    return cache_dir / f"{name}.{key}.safetensors"


def one_thread_per_worker() -> None:
    """Initializer of build_cache's worker processes: each owns one core, so every library in it gets one thread.

    Why: on the 16-core GPU machine, 12 workers cached only 3.8-7.5 clips/s (docs/benchmarks.md), where one
    process on the 2-core build machine caches ~25/s. Each worker had FFmpeg's decoder and two OpenBLAS pools
    (numpy's and scipy's, used by the log-mel step) sized to all 16 cores: hundreds of threads on 16 cores."""
    from threadpoolctl import threadpool_limits  # a requirement (media's log-mel step uses it too)

    from .. import media

    torch.set_num_threads(1)
    media.set_threads(1)
    threadpool_limits(1)


def extract_to_cache(sample: Sample, cfg: MediaConfig, path: Path) -> str | None:
    """Decode one clip into `path`; returns an error message instead of raising (one bad clip must not stop a run)."""
    from ..media import AUDIO_SUFFIXES, MediaError, load_clip  # decoding libraries: needed to fill the cache only

    try:
        clip = load_clip(sample.video, sample.transcript, cfg, *_UNIT, audio=sample.audio,
                         require_video=Path(sample.video).suffix.lower() not in AUDIO_SUFFIXES)
    except MediaError as exc:
        return f"{sample.clip_id}: {exc}"
    tensors = {}
    if clip.frames is not None:
        tensors["frames"] = (clip.frames * 255).round().clamp(0, 255).to(torch.uint8).contiguous()
    if clip.audio is not None:
        tensors["audio"] = (clip.audio[:, :1] * 255).round().clamp(0, 255).to(torch.uint8).contiguous()
    cut = any(_CUT_NOTE in note for note in clip.notes)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"transcript": clip.transcript, "duration": str(clip.duration),
                                           "cut": "1" if cut else "0"})
    tmp.replace(path)
    return None


def cut_clip_ids(cached: list[tuple[str, Path]]) -> tuple[list[str], list[str]]:
    """(clip ids whose cache holds only the first max_seconds of a longer clip, clip ids cached without the flag)
    for (clip id, cache file) pairs; reads the files' headers only."""
    cut, unknown = [], []
    for clip_id, path in cached:
        with safe_open(str(path), framework="pt") as f:
            flag = (f.metadata() or {}).get("cut")
        if flag == "1":
            cut.append(clip_id)
        elif flag is None:
            unknown.append(clip_id)
    return cut, unknown


def _report_cut(samples: list[Sample], cache_dir: Path, cfg: MediaConfig) -> None:
    """Print on stderr how many of the cached clips were cut at cfg.max_seconds (never a silent truncation)."""
    cached = [(s.clip_id, p) for s in samples if (p := cache_path(cache_dir, s, cfg)).is_file()]
    cut, unknown = cut_clip_ids(cached)
    if cut:
        print(f"{len(cut)} of {len(cached)} cached clips are longer than {cfg.max_seconds:.0f} s: only their first "
              f"{cfg.max_seconds:.0f} s are used (per split: CachedClipDataset.cut): {', '.join(cut[:10])}"
              + (" ..." if len(cut) > 10 else ""), file=sys.stderr)
    if unknown:
        print(f"{len(unknown)} cached clips predate the cut flag: whether they were cut is unknown (rebuild the "
              f"cache to count them)", file=sys.stderr)


def build_cache(samples: list[Sample], cache_dir: str | Path, cfg: MediaConfig, workers: int = 2,
                progress: bool = True) -> list[str]:
    """Fill the cache for every sample not cached yet; returns the per-clip errors (clips skipped). The number of
    cached clips cut at cfg.max_seconds is printed on stderr."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    todo = [(s, cache_path(cache_dir, s, cfg)) for s in samples]
    todo = list({p: (s, p) for s, p in todo if not p.is_file()}.values())  # a clip in two splits: decoded once
    errors = _fill(todo, cfg, workers, progress) if todo else []
    _report_cut(samples, cache_dir, cfg)
    return errors


def _fill(todo: list[tuple[Sample, Path]], cfg: MediaConfig, workers: int, progress: bool) -> list[str]:
    """Decode each (sample, cache file) pair, in worker processes when workers > 1; returns the per-clip errors."""
    errors: list[str] = []
    bar = tqdm(total=len(todo), desc="caching media", disable=not progress)
    if workers <= 1:
        for s, p in todo:
            if (err := extract_to_cache(s, cfg, p)) is not None:
                errors.append(err)
            bar.update()
    else:
        with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                    initializer=one_thread_per_worker) as pool:
            futures = [pool.submit(extract_to_cache, s, cfg, p) for s, p in todo]
            for fut in cf.as_completed(futures):
                if (err := fut.result()) is not None:
                    errors.append(err)
                bar.update()
    bar.close()
    return errors


def read_cached(path: Path, mean=None, std=None) -> ClipInputs:
    """One cached clip. Without mean/std its images stay uint8 (frames (T, 3, S, S), audio (T, 1, S, S)), for
    `ModalityInputs.normalised` to convert on the GPU; with them, CLIP-normalised float as `load_clip` gives."""
    with safe_open(str(path), framework="pt") as f:  # one open for tensors and metadata (per-item hot path)
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    frames, audio = tensors.get("frames"), tensors.get("audio")
    if mean is not None:
        frames = normalise_uint8(frames, mean, std) if frames is not None else None
        audio = normalise_uint8(audio, mean, std) if audio is not None else None
    return ClipInputs(frames=frames, audio=audio, transcript=meta["transcript"], duration=float(meta["duration"]))


class CachedClipDataset(Dataset):
    """(ClipInputs, target) pairs from the cache; target is multi-hot (emotion) or a class id (sentiment).

    Images come out as uint8; consumers call `inputs.normalised(dataset.mean, dataset.std)` after moving a batch
    to its device (`to_device` below does both).
    """

    def __init__(self, samples: list[Sample], cache_dir: str | Path, cfg: MediaConfig, task: str, mean, std,
                 neutral: NeutralPolicy = "drop", labels: tuple[str, ...] = ()):
        cache_dir = Path(cache_dir)
        self.task, self.mean, self.std = task, mean, std
        kept = []
        self.uncached: list[str] = []  # clip ids left out because no cached media exist (decoding failed)
        for s in samples:
            path = cache_path(cache_dir, s, cfg)
            if not path.is_file():
                self.uncached.append(s.clip_id)  # failed to decode: counted in logs and metrics JSON, never silent
                continue
            if task == "sentiment" and s.sentiment_class(neutral) is None:
                continue
            kept.append((s, path))
        self.items = kept
        self.neutral = neutral
        self.labels = tuple(labels)

    @functools.cached_property
    def cut(self) -> list[str]:
        """Clip ids whose cached media are only the first max_seconds of the clip, read from the cache headers on
        first use: the training log and metrics JSON count them beside `uncached`, as *_cut_clips."""
        return cut_clip_ids([(s.clip_id, path) for s, path in self.items])[0]

    def __len__(self) -> int:
        return len(self.items)

    def target(self, sample):
        if self.task == "emotion":
            return torch.from_numpy(sample.emotion_targets())
        if self.task == SINGLE_EMOTION:  # one emotion per utterance (MELD / IEMOCAP): class index in the label set
            return torch.tensor(self.labels.index(sample.label))
        return torch.tensor(sample.sentiment_class(self.neutral))

    def __getitem__(self, i: int):
        sample, path = self.items[i]
        return read_cached(path), self.target(sample), sample.clip_id


class Collate:
    """Batch (ClipInputs, target, id) triples; a class, not a closure, so DataLoader workers can pickle it."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, batch):
        clips, targets, ids = zip(*batch)
        return collate_clips(clips, self.tokenizer), torch.stack(targets), list(ids)


def to_device(inputs, loader, device: torch.device):
    """A collated batch from a CachedClipDataset loader, on `device`, normalised there (no host sync)."""
    dataset = loader.dataset
    return inputs.to(device, non_blocking=True).normalised(dataset.mean, dataset.std)

