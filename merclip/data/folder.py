"""A dataset as a folder of clips beside one metadata file (the Hugging Face "folder" convention).

    DIR/metadata.csv  (or DIR/metadata.jsonl: one JSON object a line)
    DIR/<file_name>   the clips, in subfolders or not

Columns: `file_name` (required: a path relative to DIR), `transcript` (text), `transcript_file` (a .txt / .srt
path), `audio_file` (a separate audio track), `emotions` (labels separated by ";", any names; an empty cell means
none), `sentiment` (a number in [-3, 3]), `split` (train / valid / test). All but `file_name` are optional.
A row without a split is in every split a command reads; training asks for `valid_fraction`, which holds a
stable share of those rows out (in 'valid' and 'test').

The emotion targets follow the folder's own label names, sorted (case-insensitively) over every row of the
metadata whatever the split, so train, valid and test agree on one order; a model trained here saves them in its
config. A bad row (missing file, unknown column, a path that leaves the folder, an unreadable clip) is reported
with its row number; on_error="skip" leaves it out and counts it, the default stops.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np

from ..config import SINGLE_EMOTION
from ..labels import validate_labels
from .mosi_mosei import SPLITS, DatasetFormatError, DatasetNotFoundError, NeutralPolicy

METADATA_FILES = ("metadata.csv", "metadata.jsonl")
COLUMNS = ("file_name", "transcript", "transcript_file", "audio_file", "emotions", "sentiment", "split")
SPLIT_ALIASES = {"validation": "valid"}  # the name Hugging Face datasets use
LABEL_SEPARATOR = ";"
OnError = Literal["stop", "skip"]
PROBE_THREADS = 8


class FolderFormatError(DatasetFormatError):
    """The metadata file as a whole cannot be read (no file_name column, an unknown CSV column, no usable row)."""


class BadRowError(FolderFormatError):
    """Rows the loader refused; the message names each one's row number and problem."""


@dataclass(frozen=True)
class MetadataRow:
    """One row of the metadata file as written: its cells as text."""

    number: int  # 1-based among the data rows
    line: int  # line of the file where it starts (CSV: the header is line 1)
    cells: dict[str, str]


@dataclass(frozen=True)
class ClipRow:
    """One valid row, its paths resolved inside the folder and its transcript file read."""

    number: int
    file_name: str  # as written in the metadata (POSIX separators): the clip's id
    video: Path
    audio: Path | None
    transcript: str
    emotions: tuple[str, ...]
    sentiment: float  # nan when the row has none
    split: str | None  # None: in every split


@dataclass
class FolderRead:
    """What `read_folder` found, row by row in the metadata's order: each row's file_name as written, and the
    valid row or the message naming its problem; plus the folder's label names and the metadata's columns."""

    metadata: Path
    entries: list[tuple[str, ClipRow | str]]
    label_names: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def rows(self) -> list[ClipRow]:
        return [e for _, e in self.entries if isinstance(e, ClipRow)]

    @property
    def problems(self) -> list[str]:
        return [e for _, e in self.entries if isinstance(e, str)]


@dataclass
class FolderSample:
    """A clip of a folder dataset, read like `mosi_mosei.Sample` by the feature cache and the Dataset."""

    clip_id: str
    split: str
    video: Path
    audio: Path | None
    transcript: str
    sentiment: float  # nan when the row has none
    labels: tuple[str, ...]  # this clip's emotions
    label_names: tuple[str, ...] = field(repr=False)  # the folder's, in the order of the targets
    row: int = 0

    @property
    def video_id(self) -> str:
        return self.clip_id

    def emotion_targets(self) -> np.ndarray:
        """Multi-hot (len(label_names),) over the folder's label names."""
        return np.array([name in self.labels for name in self.label_names], dtype=np.float32)

    def sentiment_class(self, neutral: NeutralPolicy = "drop") -> int | None:
        """0 = positive, 1 = negative (SENTIMENT_LABELS' order); None for a zero score when dropped."""
        if math.isnan(self.sentiment):
            raise FolderFormatError(f"row {self.row} ('{self.clip_id}') has no sentiment: the sentiment task needs a "
                                    "number in the sentiment column of every row")
        if self.sentiment > 0:
            return 0
        if self.sentiment < 0:
            return 1
        return None if neutral == "drop" else 0


# ---- reading the metadata file ---------------------------------------------------------------------------------
def find_metadata(path: str | Path) -> Path:
    """The metadata file of a folder (or `path` itself when it is a .csv / .jsonl manifest)."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in (".csv", ".jsonl"):
            raise FolderFormatError(f"'{path.name}' is not a metadata file: expected a .csv or .jsonl manifest")
        return path
    if not path.is_dir():
        raise DatasetNotFoundError(f"dataset folder '{path}' does not exist")
    found = [path / name for name in METADATA_FILES if (path / name).is_file()]
    if len(found) != 1:
        what = "both " + " and ".join(METADATA_FILES) if found else "no " + " or ".join(METADATA_FILES)
        raise FolderFormatError(f"'{path}' holds {what}: a folder dataset has exactly one metadata file")
    return found[0]


def read_metadata(path: Path) -> tuple[list[MetadataRow], tuple[str, ...]]:
    """The rows of a metadata file as text cells, and its columns; a CSV header with an unknown column is refused."""
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    rows, columns = [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            record = {"": f"not a JSON object ({exc.msg})"}
        if not isinstance(record, dict):
            record = {"": "not a JSON object"}
        cells = {str(k): _cell_text(v) for k, v in record.items()}
        columns |= set(cells)
        rows.append(MetadataRow(len(rows) + 1, n, cells))
    return rows, tuple(c for c in COLUMNS if c in columns)


def _read_csv(path: Path) -> tuple[list[MetadataRow], tuple[str, ...]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        unknown = [h for h in header if h not in COLUMNS]
        if unknown:
            raise FolderFormatError(f"{path.name} line 1 (header): unknown column(s) {unknown}; the columns are "
                                    f"{', '.join(COLUMNS)}")
        if "file_name" not in header:
            raise FolderFormatError(f"{path.name} line 1 (header): no file_name column (header: {header})")
        rows, line = [], reader.line_num + 1
        for values in reader:
            if any(v.strip() for v in values):
                cells = dict(zip(header, values))
                if len(values) > len(header):
                    cells[""] = f"{len(values) - len(header)} cell(s) more than the header has columns"
                rows.append(MetadataRow(len(rows) + 1, line, cells))
            line = reader.line_num + 1
    return rows, tuple(header)


def _cell_text(value) -> str:
    """A JSON value as the cell text a CSV would hold (a list of emotions joined by the separator)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return LABEL_SEPARATOR.join(str(v) for v in value)
    return str(value)


def split_labels(cell: str) -> tuple[str, ...]:
    """The labels of an `emotions` cell: separated by ';', blanks dropped, each once, in the order written."""
    return tuple(dict.fromkeys(" ".join(p.split()) for p in cell.split(LABEL_SEPARATOR) if p.strip()))


def label_names_of(rows: list[MetadataRow]) -> tuple[str, ...]:
    """Every label the rows name, sorted case-insensitively: the targets' order, the same for every split."""
    names = {label for r in rows for label in split_labels(r.cells.get("emotions", ""))}
    return tuple(sorted(names, key=lambda s: (s.casefold(), s)))


def folder_label_names(root: str | Path) -> tuple[str, ...]:
    """The label names of a folder dataset, from its metadata alone (no clip is opened)."""
    return label_names_of(read_metadata(find_metadata(root))[0])


# ---- checking one row ------------------------------------------------------------------------------------------
class _RowProblem(Exception):
    """What is wrong with one row (the caller adds the row number)."""


def _inside(folder: Path, name: str, column: str) -> Path:
    """`folder/name`, refused when it leaves the folder (absolute, '..', or a link pointing outside)."""
    pure = PurePosixPath(name.replace("\\", "/"))
    path = (folder / pure).resolve()
    if pure.is_absolute() or not path.is_relative_to(folder.resolve()):
        raise _RowProblem(f"{column} '{name}' leaves the dataset folder")
    if not path.is_file():
        raise _RowProblem(f"{column} '{name}' does not exist" + (" (it is a folder)" if path.is_dir() else ""))
    return path


def _sentiment(cell: str) -> float:
    if not cell.strip():
        return math.nan
    try:
        value = float(cell)
    except ValueError:
        raise _RowProblem(f"sentiment {cell!r} is not a number") from None
    if not -3.0 <= value <= 3.0:
        raise _RowProblem(f"sentiment {cell!r} is outside [-3, 3]")
    return value


def _split(cell: str) -> str | None:
    name = SPLIT_ALIASES.get(cell.strip().lower(), cell.strip().lower())
    if name and name not in SPLITS:
        raise _RowProblem(f"split {cell!r} is not one of {', '.join(SPLITS)}")
    return name or None


def _probe(path: Path, column: str) -> None:
    """Open the file's header (no decoding): an unreadable clip is a bad row, found before any training starts."""
    from ..media import MediaError, probe  # decoding libraries: needed to check the clips only

    try:
        probe(path)
    except MediaError as exc:
        raise _RowProblem(f"{column} '{path.name}' is unreadable: {exc}") from None


def parse_row(row: MetadataRow, folder: Path, check_media: bool = True) -> ClipRow:
    """One metadata row as a ClipRow; raises _RowProblem naming what is wrong."""
    cells = row.cells
    if "" in cells:
        raise _RowProblem(cells[""])
    unknown = sorted(set(cells) - set(COLUMNS))
    if unknown:
        raise _RowProblem(f"unknown column(s) {unknown}; the columns are {', '.join(COLUMNS)}")
    name = cells.get("file_name", "").strip()
    if not name:
        raise _RowProblem("no file_name")
    video = _inside(folder, name, "file_name")
    audio = _inside(folder, cells["audio_file"].strip(), "audio_file") if cells.get("audio_file", "").strip() else None
    text, text_file = cells.get("transcript", ""), cells.get("transcript_file", "").strip()
    if text.strip() and text_file:
        raise _RowProblem("has both transcript and transcript_file: give one")
    if text_file:
        from ..media import MediaError, read_transcript_file

        try:
            text = read_transcript_file(_inside(folder, text_file, "transcript_file"))
        except MediaError as exc:
            raise _RowProblem(str(exc)) from None
    sentiment, split = _sentiment(cells.get("sentiment", "")), _split(cells.get("split", ""))
    if check_media:
        for path, column in ((video, "file_name"), (audio, "audio_file")):
            if path is not None:
                _probe(path, column)
    return ClipRow(row.number, str(PurePosixPath(name.replace("\\", "/"))), video, audio, " ".join(text.split()),
                   split_labels(cells.get("emotions", "")), sentiment, split)


def row_where(metadata: Path, row: MetadataRow) -> str:
    if row.line == 0:  # a folder without metadata: the n-th clip found in it
        return f"clip {row.number} of {metadata.name}/"
    return f"{metadata.name} row {row.number} (line {row.line})"


def scan_clips(folder: Path) -> list[MetadataRow]:
    """A folder without metadata, as rows: every clip in it (subfolders too), sorted by path; a .srt or .txt of the
    same name beside a clip is its transcript_file."""
    from ..media import AUDIO_SUFFIXES, VIDEO_SUFFIXES

    clips = sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES + AUDIO_SUFFIXES and p.is_file())
    rows = []
    for path in clips:
        cells = {"file_name": path.relative_to(folder).as_posix()}
        text = next((t for t in (path.with_suffix(".srt"), path.with_suffix(".txt")) if t.is_file()), None)
        if text is not None:
            cells["transcript_file"] = text.relative_to(folder).as_posix()
        rows.append(MetadataRow(len(rows) + 1, 0, cells))
    return rows


def read_folder(root: str | Path, check_media: bool = True, scan: bool = False) -> FolderRead:
    """Every row of a folder dataset, checked (paths, columns, values; with check_media, that each clip opens).
    `scan`: a folder without a metadata file is read as its clips (`scan_clips`), for prediction."""
    root = Path(root)
    if scan and root.is_dir() and not any((root / name).is_file() for name in METADATA_FILES):
        metadata, rows, columns = root, scan_clips(root), ("file_name", "transcript_file")
    else:
        metadata = find_metadata(root)
        rows, columns = read_metadata(metadata)
    folder = metadata if metadata.is_dir() else metadata.parent

    def checked(row: MetadataRow) -> ClipRow | str:
        try:
            return parse_row(row, folder, check_media)
        except _RowProblem as exc:
            return f"{row_where(metadata, row)}: {exc}"

    with ThreadPoolExecutor(PROBE_THREADS) as pool:  # opening headers waits on the disk: overlap the waits
        results = list(pool.map(checked, rows))
    entries: list[tuple[str, ClipRow | str]] = []
    seen: dict[str, int] = {}
    for row, result in zip(rows, results):
        if isinstance(result, ClipRow) and result.file_name in seen:
            result = f"{row_where(metadata, row)}: file_name '{result.file_name}' is also row {seen[result.file_name]}"
        if isinstance(result, ClipRow):
            seen[result.file_name] = row.number
        entries.append((result.file_name if isinstance(result, ClipRow) else row.cells.get("file_name", ""), result))
    return FolderRead(metadata, entries, label_names_of(rows), columns)


def report_problems(read: FolderRead, total: int, on_error: OnError) -> None:
    """Stop on bad rows (naming them), or with on_error='skip' say how many were left out and why."""
    if not read.problems:
        return
    listed = "\n  ".join(read.problems[:10]) + ("\n  ..." if len(read.problems) > 10 else "")
    if on_error != "skip":
        raise BadRowError(f"{len(read.problems)} bad row(s) of {total} in {read.metadata} (--on-error skip leaves "
                          f"them out):\n  {listed}")
    print(f"skipped {len(read.problems)} bad row(s) of {total} in {read.metadata.name}:\n  {listed}", file=sys.stderr)


# ---- splits and samples ----------------------------------------------------------------------------------------
def held_out(names: list[str], fraction: float) -> set[str]:
    """A stable `fraction` of the names (at least one): the first by SHA-1 of the name, so adding rows or reordering
    the metadata moves no other row between train and valid."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"--valid-fraction must be between 0 and 1, got {fraction}")
    ranked = sorted(names, key=lambda n: hashlib.sha1(n.encode()).hexdigest())
    return set(ranked[: max(1, round(fraction * len(ranked)))]) if ranked else set()


def splits_of(rows: list[ClipRow], wanted: tuple[str, ...], valid_fraction: float | None) -> list[tuple[ClipRow, str]]:
    """(row, split) pairs for the `wanted` splits; a row without a split is in every wanted split, or with
    `valid_fraction` in 'train', or when held out in 'valid' and 'test'."""
    unsplit = [r.file_name for r in rows if r.split is None]
    if unsplit and valid_fraction is None and {"train", "valid"} <= set(wanted):
        raise FolderFormatError(f"{len(unsplit)} row(s) have no split (e.g. '{unsplit[0]}'): training needs rows held "
                                "out for validation: pass --valid-fraction F (e.g. 0.2), or fill the split column")
    held = held_out(unsplit, valid_fraction) if valid_fraction is not None else set()
    out = []
    for r in rows:
        if r.split is not None:
            own = (r.split,)
        elif valid_fraction is None:
            own = SPLITS
        else:
            own = ("valid", "test") if r.file_name in held else ("train",)
        out.extend((r, s) for s in wanted if s in own)
    return out


def load_folder(root: str | Path, splits: tuple[str, ...] = SPLITS, valid_fraction: float | None = None,
                on_error: OnError = "stop", check_media: bool = True) -> list[FolderSample]:
    """The samples of `splits` (a row without a split: see `splits_of`), in metadata order within each split."""
    read = read_folder(root, check_media)
    report_problems(read, len(read.rows) + len(read.problems), on_error)
    if not read.rows:
        raise FolderFormatError(f"{read.metadata} has no usable row")
    pairs = splits_of(read.rows, tuple(splits), valid_fraction)
    return [FolderSample(r.file_name, split, r.video, r.audio, r.transcript, r.sentiment, r.emotions,
                         read.label_names, r.number)
            for split in splits for r, s in pairs if s == split]


def fit_model_to_folder(model, samples: list[FolderSample]) -> None:
    """Make an emotion model score the folder's own labels: with the label encoder a label set is text (free),
    so its config takes the folder's label names; an FC classifier is sized by its labels, so it must match.
    A sentiment model needs a sentiment score on every row."""
    cfg = model.cfg
    if cfg.task == SINGLE_EMOTION:
        raise FolderFormatError("a folder dataset is for MER-CLIP (emotions as labels, or sentiment), not LSGMER")
    if not samples:
        return
    if cfg.task == "sentiment":
        missing = [s.row for s in samples if math.isnan(s.sentiment)]
        if missing:
            raise FolderFormatError(f"{len(missing)} row(s) have no sentiment (rows {missing[:10]}): the sentiment "
                                    "task needs a number in the sentiment column of every row")
        return
    names = samples[0].label_names
    if names == cfg.labels:
        return
    if not names:
        raise FolderFormatError("the folder names no emotions (no emotions column, or every cell empty): an emotion "
                                "model has nothing to score; fill the emotions column, or use --task sentiment")
    if not cfg.use_label_encoder:
        raise FolderFormatError(f"the model's FC classifier was trained for the labels {list(cfg.labels)}, the folder "
                                f"names {list(names)}: only a model with the label encoder takes new labels")
    model.cfg = replace(cfg, labels=validate_labels(names, "emotion"))


# ---- writing ---------------------------------------------------------------------------------------------------
def write_metadata(folder: str | Path, rows: list[dict], kind: Literal["csv", "jsonl"] = "csv") -> Path:
    """Write `rows` (dicts keyed by COLUMNS) as DIR/metadata.csv or DIR/metadata.jsonl."""
    path = Path(folder) / f"metadata.{kind}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path
    columns = [c for c in COLUMNS if any(c in r for r in rows)]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path
