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
where no interval matches, row i of a video is its i-th segment in segment-id order. A MOSEI row matched by
position is counted on stderr, and two rows landing on one segment stop the load with their ids.
"""
from __future__ import annotations

import ast
import csv
import importlib.util
import io
import json
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import h5py
import numpy as np

from ..config import EMOTION_LABELS
from ..errors import UserError

SPLITS: tuple[str, ...] = ("train", "valid", "test")
NeutralPolicy = Literal["drop", "nonnegative"]

# Segment counts of the standard folds (paper, sec. 4.1), for the check command.
EXPECTED_COUNTS = {"mosi": (1284, 229, 686), "mosei": (16326, 1871, 4659)}


class DatasetFormatError(UserError):
    """A dataset file does not have the expected format; the message names the file and what is wrong. A
    `UserError` (a ValueError too), so that every command ends with the message instead of a traceback."""


class DatasetNotFoundError(UserError, FileNotFoundError):
    """A dataset folder or one of its files is missing. Still a FileNotFoundError for callers that catch one, and a
    `UserError` so that a command given a wrong --root says so in one line instead of a traceback."""


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
        return _read_folds_json(root / "folds.json")
    path = sdk_fold_file(dataset)
    if path is None:
        raise DatasetNotFoundError(
            f"no folds for {dataset}: install the SDK's fold lists with `pip install cmu-multimodal-sdk`, "
            "or put a folds.json with train/valid/test video ids in the dataset folder"
        )
    tree = ast.parse(path.read_text())
    lists = {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)}
    return {s: set(lists[f"standard_{s}_fold"]) for s in SPLITS}


def _read_folds_json(path: Path) -> dict[str, set[str]]:
    """A folds.json's splits; a damaged one is named with what is wrong (it was a JSONDecodeError or KeyError)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetFormatError(f"'{path}' is not valid JSON ({exc})") from None
    ok = isinstance(data, dict) and all(isinstance(data.get(s), list) and all(isinstance(v, str) for v in data[s])
                                        for s in SPLITS)
    if not ok:
        raise DatasetFormatError(f"'{path}' must be a JSON object with lists of video ids under "
                                 f"{', '.join(repr(s) for s in SPLITS)}")
    return {s: set(data[s]) for s in SPLITS}


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
        raise DatasetNotFoundError(f"'{root}' is a file, not a dataset folder" if root.exists()
                                   else f"dataset folder '{root}' does not exist")
    for candidate in (root, root / "Raw"):
        if (candidate / marker).is_dir():
            return candidate
    raise DatasetNotFoundError(f"'{root}' does not look like the raw release: no '{marker}' folder in it or in Raw/")


def _find_one(root: Path, name: str) -> Path:
    hits = sorted(root.rglob(name))
    if not hits:
        raise DatasetNotFoundError(f"label file {name} not found under '{root}'")
    return hits[0]


def _match_rows(intervals: np.ndarray, segments: list[tuple[str, float | None, float | None]]
                ) -> list[tuple[str | None, bool]]:
    """(segment id, matched by time) for each label row: by interval when times are known, else by order."""
    ordered = sorted(segments, key=lambda s: (int(s[0]) if s[0].isdigit() else s[0]))
    out: list[tuple[str | None, bool]] = []
    for i, (start, end) in enumerate(intervals):
        timed = [s for s in segments if s[1] is not None and abs(s[1] - start) < 0.05 and abs(s[2] - end) < 0.05]
        out.append((timed[0][0], True) if timed else ((ordered[i][0] if i < len(ordered) else None), False))
    return out


def _check_one_row_per_segment(video: str, matched: list[tuple[str | None, bool]], label_file: str) -> None:
    """Refuse two label rows on one segment: the positional fallback has then shifted this video's labels."""
    rows: dict[str, list[int]] = {}
    for row, (seg, _) in enumerate(matched):
        if seg is not None:
            rows.setdefault(seg, []).append(row)
    twice = {seg: r for seg, r in rows.items() if len(r) > 1}
    if twice:
        named = "; ".join(f"{video}_{seg} <- rows {r}" for seg, r in sorted(twice.items()))
        raise DatasetFormatError(
            f"{label_file}: video '{video}' has label rows that match one segment more than once ({named}): rows "
            "whose interval matches no transcript line fall back to their position, and here that gives a segment "
            "two labels; fix the intervals or leave the video out (folds.json / --segments)")


def load_mosei(root: str | Path, splits: tuple[str, ...] = SPLITS,
               folds: dict[str, set[str]] | None = None) -> list[Sample]:
    """Every labelled segment of the videos in `splits` (folds: the standard ones unless given)."""
    root = Path(root)
    base = _base(root, "Videos")
    labels = read_csd(_find_one(root, "CMU_MOSEI_Labels.csd"))
    transcripts = read_mosei_transcripts(base / "Transcript" / "Segmented" / "Combined")
    if folds is None:
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
    samples, by_position = [], []
    for vid, split, feats, row, seg, by_time in _labelled_segments(labels, folds, splits, segs_by_video,
                                                                    "CMU_MOSEI_Labels.csd"):
        clip = f"{vid}_{seg}"
        wav = wavs / f"{clip}.wav"
        samples.append(Sample(clip, vid, split, videos / f"{clip}.mp4", wav if wav.is_file() else None,
                              transcripts[(vid, seg)][2], float(feats[row, 0]), feats[row, 1:].astype(np.float32)))
        if not by_time:
            by_position.append(clip)
    if by_position:
        print(f"CMU-MOSEI: {len(by_position)} label row(s) matched no transcript interval and were given to a segment "
              f"by position: {', '.join(by_position[:10])}" + (" ..." if len(by_position) > 10 else ""),
              file=sys.stderr)
    return samples


def _labelled_segments(labels: dict, folds: dict, splits: tuple[str, ...], segs_by_video: dict, label_file: str):
    """(video id, split, label rows, row index, segment id, matched by time) for every labelled segment of a video
    in `splits`."""
    for vid, (feats, intervals) in labels.items():
        split = next((s for s in splits if vid in folds[s]), None)
        if split is None:
            continue
        matched = _match_rows(intervals, segs_by_video.get(vid, []))
        _check_one_row_per_segment(vid, matched, label_file)
        for row, (seg, by_time) in enumerate(matched):
            if seg is not None:
                yield vid, split, feats, row, seg, by_time


def load_mosi(root: str | Path, splits: tuple[str, ...] = SPLITS,
              folds: dict[str, set[str]] | None = None) -> list[Sample]:
    """Every labelled segment of the videos in `splits`; MOSI transcripts carry no times, so rows match by order."""
    root = Path(root)
    base = _base(root, "Video")
    labels = read_csd(_find_one(root, "CMU_MOSI_Opinion_Labels.csd"))
    transcripts = read_mosi_transcripts(base / "Transcript" / "Segmented")
    if folds is None:
        folds = standard_folds("mosi", root)
        _check_fold_coverage(root, folds, labels, splits, "CMU_MOSI_Opinion_Labels.csd")
    segs_by_video: dict[str, list] = {}
    for vid, seg in transcripts:
        segs_by_video.setdefault(vid, []).append((seg, None, None))
    samples = []
    for vid, split, feats, row, seg, _ in _labelled_segments(labels, folds, splits, segs_by_video,
                                                             "CMU_MOSI_Opinion_Labels.csd"):
        clip = f"{vid}_{seg}"
        wav = base / "Audio" / "WAV_16000" / "Segmented" / f"{clip}.wav"
        samples.append(Sample(clip, vid, split, base / "Video" / "Segmented" / f"{clip}.mp4",
                              wav if wav.is_file() else None, transcripts[(vid, seg)], float(feats[row, 0]), None))
    return samples


def load(dataset: str, root: str | Path, splits: tuple[str, ...] = SPLITS,
         segments: str | Path | None = None) -> list[Sample]:
    """Every labelled segment of the videos in `splits`; with `segments` (a file of ids), exactly those segments.

    The SDK's folds expanded to every labelled segment do not give the processed releases' 16,326 / 1,871 / 4,659
    MOSEI segments exactly; a segments file (the processed release's ids, `python -m merclip.data.mmsa_segments`)
    pins the set, and where it names each segment's split (MMSA's `mode`), that split is used instead of the
    folds'. Ids of the file the raw copy lacks are reported on stderr, never dropped silently.
    """
    loaders = {"mosei": load_mosei, "mosi": load_mosi, "synthetic": load_mosei}
    if dataset not in loaders:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {sorted(loaders)}")
    if segments is None:
        return loaders[dataset](root, splits)
    wanted = read_segment_file(segments)
    if None in wanted.values():  # ids only: the folds decide each segment's split
        kept, absent = select_segments(loaders[dataset](root, splits), set(wanted))
    else:
        samples = loaders[dataset](root, splits, folds=_folds_reaching(wanted))
        kept = [replace(s, split=wanted[s.clip_id]) for s in samples if wanted.get(s.clip_id) in splits]
        absent = {i for i, split in wanted.items() if split in splits} - {s.clip_id for s in kept}
    if absent:
        print(f"{len(absent)} segment id(s) of '{Path(segments).name}' are not in the labelled raw data of splits "
              f"{list(splits)} (e.g. {sorted(absent)[:5]})", file=sys.stderr)
    return kept


def _folds_reaching(wanted: dict[str, str]) -> dict[str, set[str]]:
    """Video-level folds that reach every segment of a file with splits (a segment id is `<video>_<segment>`, and
    segment numbers hold no underscore); a video with segments in two splits is in both."""
    folds: dict[str, set[str]] = {s: set() for s in SPLITS}
    for segment_id, split in wanted.items():
        folds[split].add(segment_id.rsplit("_", 1)[0])
    return folds


def _normalise_id(video_id: str, clip_id: str) -> str:
    """`<video>_<segment>`, the loader's clip id (MMSA's label.csv splits it into video_id and clip_id)."""
    return f"{video_id.strip()}_{clip_id.strip()}"


def read_segment_file(path: str | Path) -> dict[str, str | None]:
    """{segment id: its split, or None where the file names none} from a segments file: one `<video>_<segment>`
    per line (blank lines and lines starting with '#' ignored), or a CSV with a header holding `video_id` and
    `clip_id` (MMSA's label.csv) or an `id` / `segment_id` column, and optionally a `mode` or `split` column
    (train / valid / test)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"'{path}' is a folder, not a segments file" if path.is_dir()
                                   else f"segments file '{path}' does not exist")
    text = path.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        raise DatasetFormatError(f"segments file '{path}' holds no ids")
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    if len(header) == 1 and header[0] not in ("id", "segment_id"):
        return dict.fromkeys(ln.strip() for ln in lines)
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)][1:]  # quoted fields may span lines
    padded = [{h: (r[i] if i < len(r) else "") for i, h in enumerate(header)} for r in rows]
    return _segment_rows(path, header, padded)


def _segment_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> dict[str, str | None]:
    """A segments CSV's rows -> {segment id: split or None}; an unknown split or an id in two splits is refused."""
    if {"video_id", "clip_id"} <= set(header):
        ids = [_normalise_id(r["video_id"], r["clip_id"]) for r in rows]
    else:
        column = next((c for c in ("segment_id", "id") if c in header), None)
        if column is None:
            raise DatasetFormatError(
                f"segments file '{path}': a CSV needs video_id and clip_id columns (MMSA label.csv) or an id column; "
                f"got {header}")
        ids = [r[column].strip() for r in rows]
    split_column = next((c for c in ("mode", "split") if c in header), None)
    if split_column is None:
        return dict.fromkeys(ids)
    out: dict[str, str | None] = {}
    for n, (segment_id, row) in enumerate(zip(ids, rows), 2):
        split = (row.get(split_column) or "").strip().lower()
        if split not in SPLITS:
            raise DatasetFormatError(f"segments file '{path}' row {n}: {split_column} {split!r} is not one of {SPLITS}")
        if out.setdefault(segment_id, split) != split:
            raise DatasetFormatError(f"segments file '{path}': '{segment_id}' is in two splits ({out[segment_id]}, "
                                     f"{split})")
    return out


def read_segment_ids(path: str | Path) -> set[str]:
    """The segment ids of a segments file (read_segment_file), without their splits."""
    return set(read_segment_file(path))


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
