"""CMU-MOSI and CMU-MOSEI from the CMU-MultimodalSDK raw release (unaligned, raw media).

Layout read (under `root`, or `root/Raw`):
  MOSEI  Videos/Segmented/Combined/<vid>_<seg>.mp4
         Audio/Segmented/Combined/WAV_16000/<vid>_<seg>.wav          (optional: else the mp4's track)
         Transcript/Segmented/Combined/<vid>.txt    lines  vid___seg___start___end___text
         **/CMU_MOSEI_Labels.csd   HDF5: <root>/data/<vid>/{features (N, 7), intervals (N, 2)}
                                   features = [sentiment, happy, sad, anger, surprise, disgust, fear]
  MOSI   Video/Segmented/<vid>_<seg>.mp4
         Audio/WAV_16000/Segmented/<vid>_<seg>.wav                    (optional)
         Transcript/Segmented/<vid>.annotprocessed  lines  <seg>_DELIM_<text>
         **/CMU_MOSI_Opinion_Labels.csd   features (N, 1) = [sentiment]
Folds: `root/folds.json` ({"train": [vid, ...], "valid": [...], "test": [...]}) when present, else the
SDK's standard fold lists read from the installed `cmu-multimodal-sdk` package (parsed, not imported).

Label rows are matched to segments by their interval (MOSEI transcripts carry start/end times);
where no interval matches, row i of a video is its i-th segment in segment-id order.
"""
from __future__ import annotations

import ast
import csv
import importlib.util
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import h5py
import numpy as np

from ..config import EMOTION_LABELS

SPLITS: tuple[str, ...] = ("train", "valid", "test")
NeutralPolicy = Literal["drop", "nonnegative"]

# Segment counts of the standard folds (paper, sec. 4.1), for the check command.
EXPECTED_COUNTS = {"mosi": (1284, 229, 686), "mosei": (16326, 1871, 4659)}


class DatasetFormatError(ValueError):
    """A dataset file does not have the expected format; the message names the file and what is wrong."""


@dataclass
class Sample:
    clip_id: str
    video_id: str
    split: str
    video: Path
    audio: Path | None
    transcript: str
    sentiment: float  # [-3, 3]
    emotions: np.ndarray | None  # (6,) intensities in [0, 3] (MOSEI only)

    def emotion_targets(self) -> np.ndarray:
        """Multi-hot (6,): an emotion is present when its intensity > 0."""
        if self.emotions is None:
            raise ValueError(f"{self.clip_id} has no emotion labels (CMU-MOSI is sentiment-only)")
        return (self.emotions > 0).astype(np.float32)

    def sentiment_class(self, neutral: NeutralPolicy = "drop") -> int | None:
        """0 = positive, 1 = negative (the order of SENTIMENT_LABELS); None for neutral when dropped."""
        if self.sentiment > 0:
            return 0
        if self.sentiment < 0:
            return 1
        return None if neutral == "drop" else 0


def read_csd(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{video_id: (features (N, F), intervals (N, 2))} from a computational-sequence HDF5 file."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            if len(f.keys()) != 1:
                raise DatasetFormatError(f"'{path.name}': expected one root group, found {list(f.keys())}")
            root = f[next(iter(f.keys()))]
            if "data" not in root:
                raise DatasetFormatError(f"'{path.name}': no 'data' group under '{root.name}'")
            out = {}
            for vid, group in root["data"].items():
                if "features" not in group or "intervals" not in group:
                    raise DatasetFormatError(f"'{path.name}': video '{vid}' lacks features or intervals")
                feats, intervals = np.asarray(group["features"]), np.asarray(group["intervals"])
                if feats.shape[0] != intervals.shape[0] or intervals.ndim != 2 or intervals.shape[1] != 2:
                    raise DatasetFormatError(
                        f"'{path.name}': video '{vid}' has {feats.shape[0]} feature rows but intervals {intervals.shape}"
                    )
                out[vid] = (feats, intervals)
            return out
    except OSError as exc:
        raise DatasetFormatError(f"'{path}' is not a readable HDF5 .csd file ({exc})") from exc


def read_mosei_transcripts(directory: Path) -> dict[tuple[str, str], tuple[float, float, str]]:
    out = {}
    for path in sorted(directory.glob("*.txt")):
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("___", 4)
            if len(parts) != 5:
                raise DatasetFormatError(
                    f"'{path.name}' line {n}: expected 'vid___seg___start___end___text', got {line[:80]!r}"
                )
            vid, seg, start, end, text = parts
            try:
                out[(vid, seg)] = (float(start), float(end), text.strip())
            except ValueError:
                raise DatasetFormatError(f"'{path.name}' line {n}: start/end are not numbers: {line[:80]!r}") from None
    return out


def read_mosi_transcripts(directory: Path) -> dict[tuple[str, str], str]:
    out = {}
    for path in sorted(directory.glob("*.annotprocessed")):
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            if "_DELIM_" not in line:
                raise DatasetFormatError(f"'{path.name}' line {n}: expected '<seg>_DELIM_<text>', got {line[:80]!r}")
            seg, text = line.split("_DELIM_", 1)
            out[(path.stem, seg.strip())] = text.strip()
    return out


def sdk_fold_file(dataset: str) -> Path | None:
    spec = importlib.util.find_spec("mmsdk")
    if spec is None or not spec.submodule_search_locations:
        return None
    name = {"mosei": ("CMU_MOSEI", "cmu_mosei_std_folds.py"), "mosi": ("CMU_MOSI", "cmu_mosi_std_folds.py")}[dataset]
    path = Path(list(spec.submodule_search_locations)[0]) / "mmdatasdk" / "dataset" / "standard_datasets" / name[0] / name[1]
    return path if path.is_file() else None


def standard_folds(dataset: str, root: Path | None = None) -> dict[str, set[str]]:
    """Video-level folds: root/folds.json if present, else the SDK's standard lists."""
    if root is not None and (root / "folds.json").is_file():
        data = json.loads((root / "folds.json").read_text())
        return {s: set(data[s]) for s in SPLITS}
    path = sdk_fold_file(dataset)
    if path is None:
        raise FileNotFoundError(
            f"no folds for {dataset}: install the SDK's fold lists with `pip install cmu-multimodal-sdk`, "
            "or put a folds.json with train/valid/test video ids in the dataset folder"
        )
    tree = ast.parse(path.read_text())
    lists = {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)}
    return {s: set(lists[f"standard_{s}_fold"]) for s in SPLITS}


def _check_fold_coverage(root: Path, folds: dict[str, set[str]], labels: dict, splits, label_file: str) -> None:
    """A user-supplied folds.json must only name videos that exist; list the missing ones if not.

    (The SDK's standard lists are not held to this: a partial local copy of a dataset is legitimate, and
    `merclip.data.check` reports how many segments each split has.)
    """
    if not (root / "folds.json").is_file():
        return
    missing = sorted(v for s in splits for v in folds[s] if v not in labels)
    if missing:
        raise DatasetFormatError(
            f"folds.json names {len(missing)} video(s) absent from {label_file}: {missing[:10]}"
            + (" ..." if len(missing) > 10 else "")
        )


def _base(root: Path, marker: str) -> Path:
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder '{root}' does not exist")
    for candidate in (root, root / "Raw"):
        if (candidate / marker).is_dir():
            return candidate
    raise FileNotFoundError(f"'{root}' does not look like the raw release: no '{marker}' folder in it or in Raw/")


def _find_one(root: Path, name: str) -> Path:
    hits = sorted(root.rglob(name))
    if not hits:
        raise FileNotFoundError(f"label file {name} not found under '{root}'")
    return hits[0]


def _match_rows(intervals: np.ndarray, segments: list[tuple[str, float | None, float | None]]) -> list[str | None]:
    """Segment id for each label row: by interval when times are known, else by order."""
    ordered = sorted(segments, key=lambda s: (int(s[0]) if s[0].isdigit() else s[0]))
    out: list[str | None] = []
    for i, (start, end) in enumerate(intervals):
        timed = [s for s in segments if s[1] is not None and abs(s[1] - start) < 0.05 and abs(s[2] - end) < 0.05]
        out.append(timed[0][0] if timed else (ordered[i][0] if i < len(ordered) else None))
    return out


def load_mosei(root: str | Path, splits: tuple[str, ...] = SPLITS) -> list[Sample]:
    root = Path(root)
    base = _base(root, "Videos")
    labels = read_csd(_find_one(root, "CMU_MOSEI_Labels.csd"))
    transcripts = read_mosei_transcripts(base / "Transcript" / "Segmented" / "Combined")
    folds = standard_folds("mosei", root)
    _check_fold_coverage(root, folds, labels, splits, "CMU_MOSEI_Labels.csd")
    videos = base / "Videos" / "Segmented" / "Combined"
    wavs = base / "Audio" / "Segmented" / "Combined" / "WAV_16000"
    segs_by_video: dict[str, list] = {}
    for (vid, seg), (start, end, _) in transcripts.items():
        segs_by_video.setdefault(vid, []).append((seg, start, end))
    for vid, (feats, _) in labels.items():
        if feats.shape[1] != 7 and any(vid in folds[s] for s in splits):
            raise DatasetFormatError(f"CMU_MOSEI_Labels.csd: video '{vid}' has {feats.shape[1]} label columns, expected 7")
    samples = []
    for vid, split, feats, row, seg in _labelled_segments(labels, folds, splits, segs_by_video):
        clip = f"{vid}_{seg}"
        wav = wavs / f"{clip}.wav"
        samples.append(Sample(clip, vid, split, videos / f"{clip}.mp4", wav if wav.is_file() else None,
                              transcripts[(vid, seg)][2], float(feats[row, 0]), feats[row, 1:].astype(np.float32)))
    return samples


def _labelled_segments(labels: dict, folds: dict, splits: tuple[str, ...], segs_by_video: dict):
    """(video id, split, label rows, row index, segment id) for every labelled segment of a video in `splits`."""
    for vid, (feats, intervals) in labels.items():
        split = next((s for s in splits if vid in folds[s]), None)
        if split is None:
            continue
        for row, seg in enumerate(_match_rows(intervals, segs_by_video.get(vid, []))):
            if seg is not None:
                yield vid, split, feats, row, seg


def load_mosi(root: str | Path, splits: tuple[str, ...] = SPLITS) -> list[Sample]:
    root = Path(root)
    base = _base(root, "Video")
    labels = read_csd(_find_one(root, "CMU_MOSI_Opinion_Labels.csd"))
    transcripts = read_mosi_transcripts(base / "Transcript" / "Segmented")
    folds = standard_folds("mosi", root)
    _check_fold_coverage(root, folds, labels, splits, "CMU_MOSI_Opinion_Labels.csd")
    segs_by_video: dict[str, list] = {}
    for vid, seg in transcripts:
        segs_by_video.setdefault(vid, []).append((seg, None, None))
    samples = []
    for vid, split, feats, row, seg in _labelled_segments(labels, folds, splits, segs_by_video):
        clip = f"{vid}_{seg}"
        wav = base / "Audio" / "WAV_16000" / "Segmented" / f"{clip}.wav"
        samples.append(Sample(clip, vid, split, base / "Video" / "Segmented" / f"{clip}.mp4",
                              wav if wav.is_file() else None, transcripts[(vid, seg)], float(feats[row, 0]), None))
    return samples


def load(dataset: str, root: str | Path, splits: tuple[str, ...] = SPLITS,
         segments: str | Path | None = None) -> list[Sample]:
    """Every labelled segment of the videos in `splits`; with `segments` (a file of ids), exactly those segments.

    The SDK's folds expanded to every labelled segment do not give the processed releases' 16,326 / 1,871 / 4,659
    MOSEI segments exactly; a segments file (the processed release's ids) pins the set. Ids of the file the raw
    copy lacks are reported on stderr, never dropped silently.
    """
    loaders = {"mosei": load_mosei, "mosi": load_mosi, "synthetic": load_mosei}
    if dataset not in loaders:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {sorted(loaders)}")
    samples = loaders[dataset](root, splits)
    if segments is None:
        return samples
    kept, absent = select_segments(samples, read_segment_ids(segments))
    if absent:
        print(f"{len(absent)} segment id(s) of '{Path(segments).name}' are not in the labelled raw data of splits "
              f"{list(splits)} (e.g. {sorted(absent)[:5]})", file=sys.stderr)
    return kept


def _normalise_id(video_id: str, clip_id: str) -> str:
    """`<video>_<segment>`, the loader's clip id (MMSA's label.csv splits it into video_id and clip_id)."""
    return f"{video_id.strip()}_{clip_id.strip()}"


def read_segment_ids(path: str | Path) -> set[str]:
    """Segment ids from a file: one `<video>_<segment>` per line (e.g. the `id` field of the processed MulT/MMSA
    pickles, written out), or a CSV with a header holding `video_id` and `clip_id` (MMSA's label.csv) or an `id`
    / `segment_id` column. Blank lines and lines starting with '#' are ignored."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"segments file '{path}' does not exist")
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        raise DatasetFormatError(f"segments file '{path}' holds no ids")
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    if len(header) > 1 or header[0] in ("id", "segment_id"):
        rows = list(csv.DictReader(lines, fieldnames=header))[1:]
        if {"video_id", "clip_id"} <= set(header):
            return {_normalise_id(r["video_id"], r["clip_id"]) for r in rows}
        column = next((c for c in ("segment_id", "id") if c in header), None)
        if column is None:
            raise DatasetFormatError(
                f"segments file '{path}': a CSV needs video_id and clip_id columns (MMSA label.csv) or an id column; "
                f"got {header}")
        return {r[column].strip() for r in rows}
    return {ln.strip() for ln in lines}


def select_segments(samples: list[Sample], ids: set[str]) -> tuple[list[Sample], set[str]]:
    """(the samples whose clip id is in `ids`, the ids no sample has)."""
    kept = [s for s in samples if s.clip_id in ids]
    return kept, ids - {s.clip_id for s in kept}


def unlabelled_fold_videos(dataset: str, root: str | Path) -> dict[str, list[str]]:
    """Fold videos with no row in the label file, per split (e.g. MOSEI's test videos 7l3BNtSE0xc, dZFV0lyedX4):
    they contribute no segments, and `merclip.data.check` names them."""
    root = Path(root)
    name = "CMU_MOSI_Opinion_Labels.csd" if dataset == "mosi" else "CMU_MOSEI_Labels.csd"
    labels = read_csd(_find_one(root, name))
    folds = standard_folds("mosi" if dataset == "mosi" else "mosei", root)
    return {s: sorted(v for v in folds[s] if v not in labels) for s in SPLITS}


def summarise(samples: list[Sample]) -> dict[str, dict[str, int]]:
    """Counts per split: segments, videos, missing media, positive/negative/neutral, per emotion."""
    out: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        ss = [s for s in samples if s.split == split]
        c: Counter = Counter()
        c["segments"] = len(ss)
        c["videos"] = len({s.video_id for s in ss})
        c["missing_video_files"] = sum(not s.video.is_file() for s in ss)
        c["positive"] = sum(s.sentiment > 0 for s in ss)
        c["negative"] = sum(s.sentiment < 0 for s in ss)
        c["neutral"] = sum(s.sentiment == 0 for s in ss)
        for s in ss:
            if s.emotions is not None:
                for name, on in zip(EMOTION_LABELS, s.emotions > 0):
                    c[name] += int(on)
        out[split] = dict(c)
    return out
