"""Write the segments file of MMSA's standard CMU-MOSI / CMU-MOSEI split, for `--segments`.

    python -m merclip.data.mmsa_segments --from /data/MMSA/MOSEI/Processed/unaligned_50.pkl --out mosei_segments.csv
    python -m merclip.data.mmsa_segments --from /data/MMSA/MOSEI/label.csv --out mosei_segments.csv

The paper trains on the processed release's segments (16,326 / 1,871 / 4,659 for MOSEI, 1,284 / 229 / 686 for
MOSI; sec. 4.1); the SDK's video folds expanded to every labelled raw segment do not give exactly that set. MMSA
(github.com/thuiar/MMSA) ships that split in two forms, and either is read here:
  - its pickled feature files (unaligned_50.pkl, aligned_50.pkl, ...): {split: {"id": ids, ...}} with ids
    "<video>$_$<clip>"; only the ids are kept;
  - its label.csv: columns video_id, clip_id, ..., mode (train / valid / test).
The output is label.csv's own columns (video_id, clip_id, mode), which `--segments` reads with each segment's split.

A pickle can run code while it loads, so the feature file is read by an unpickler that builds numpy arrays and
nothing else: a file that names any other class or function is refused with its name, before anything in it runs.
"""
from __future__ import annotations

import argparse
import csv
import pickle
import sys
from pathlib import Path

import numpy as np

from .mosi_mosei import EXPECTED_COUNTS, SPLITS, DatasetFormatError

MMSA_ID_SEPARATOR = "$_$"  # MMSA joins video_id and clip_id with it ('$' is not allowed in its file names)
OUTPUT_COLUMNS = ("video_id", "clip_id", "mode")


def _latin1_encode(text: str, encoding: str) -> bytes:
    """What a protocol-2 pickle calls (`_codecs.encode`) to rebuild bytes, an array's data among them; any other
    codec is refused, so the name cannot reach more than this one conversion."""
    if encoding.replace("-", "").lower() not in ("latin1", "iso88591"):
        raise DatasetFormatError(f"pickle asks for codec {encoding!r}: only latin-1 bytes are rebuilt")
    return text.encode("latin1")


def _numpy_array_globals() -> dict[tuple[str, str], object]:
    """The only names a feature file may use: numpy's array reconstruction (protocols 2-5), under numpy 1's module
    names (numpy.core) and numpy 2's (numpy._core)."""
    try:
        from numpy._core import multiarray, numeric  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray, numeric
    allowed: dict[tuple[str, str], object] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                              ("_codecs", "encode"): _latin1_encode}
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer  # protocol 5's out-of-band arrays
    return allowed


class ArraysOnlyUnpickler(pickle.Unpickler):
    """Builds dicts, lists, strings, numbers and numpy arrays; refuses every other global before it is imported."""

    def __init__(self, file, name: str):
        super().__init__(file, encoding="latin1")  # Python 2 pickles: numpy's documented setting for their arrays
        self.name = name
        self.allowed = _numpy_array_globals()

    def find_class(self, module: str, name: str):
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        raise DatasetFormatError(
            f"'{self.name}' refers to {module}.{name}: only numpy arrays are read from a feature file, and nothing in "
            "it is run; write the segments file from MMSA's label.csv instead")

    def persistent_load(self, pid):
        raise DatasetFormatError(f"'{self.name}' holds a persistent reference ({pid!r}): not an MMSA feature file")


def read_pickle_ids(path: str | Path) -> dict[str, list[tuple[str, str]]]:
    """{split: [(video_id, clip_id), ...]} from an MMSA feature pickle, read with ArraysOnlyUnpickler."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = ArraysOnlyUnpickler(f, path.name).load()
    except DatasetFormatError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise DatasetFormatError(f"'{path.name}' is not a readable pickle ({exc})") from exc
    if not isinstance(data, dict) or any(not isinstance(data.get(s), dict) or "id" not in data[s] for s in SPLITS):
        found = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise DatasetFormatError(f"'{path.name}': expected MMSA's layout {{split: {{'id': ..., ...}}}} with splits "
                                 f"{SPLITS}; found {found}")
    return {s: [_split_id(path.name, s, i) for i in _id_list(path.name, s, data[s]["id"])] for s in SPLITS}


def _id_list(name: str, split: str, ids) -> list:
    """A split's `id` field as a flat list; rows of several values (MulT's [video, start, end]) are refused."""
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise DatasetFormatError(f"'{name}': {split}['id'] has shape {arr.shape}; expected one '<video>$_$<clip>' "
                                 "per segment (rows such as [video, start, end] name times, not segments)")
    return arr.tolist()


def _split_id(name: str, split: str, segment) -> tuple[str, str]:
    """'<video>$_$<clip>' -> (video, clip)."""
    text = segment.decode("utf-8") if isinstance(segment, bytes) else str(segment)
    if MMSA_ID_SEPARATOR not in text:
        raise DatasetFormatError(f"'{name}': {split} id {text!r} is not '<video>{MMSA_ID_SEPARATOR}<clip>'")
    video, clip = text.split(MMSA_ID_SEPARATOR, 1)
    return video.strip(), clip.strip()


def read_label_csv_ids(path: str | Path) -> dict[str, list[tuple[str, str]]]:
    """{split: [(video_id, clip_id), ...]} from MMSA's label.csv (its `mode` column names the split)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in OUTPUT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetFormatError(f"'{path.name}' lacks MMSA label.csv columns {missing}")
        out: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
        for n, row in enumerate(reader, 2):
            mode = row["mode"].strip().lower()
            if mode not in out:
                raise DatasetFormatError(f"'{path.name}' row {n}: mode {row['mode']!r} is not one of {SPLITS}")
            out[mode].append((row["video_id"].strip(), row["clip_id"].strip()))
    return out


def read_mmsa_ids(path: str | Path) -> dict[str, list[tuple[str, str]]]:
    """The split of an MMSA feature pickle (.pkl) or label.csv (.csv)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MMSA file '{path}' does not exist")
    if path.suffix.lower() in (".pkl", ".pickle"):
        return read_pickle_ids(path)
    if path.suffix.lower() == ".csv":
        return read_label_csv_ids(path)
    raise DatasetFormatError(f"'{path.name}': expected an MMSA feature pickle (.pkl) or label.csv")


def write_segments(by_split: dict[str, list[tuple[str, str]]], out: str | Path) -> Path:
    """One row per segment, columns video_id, clip_id, mode; a segment named in two splits is refused."""
    seen: dict[tuple[str, str], str] = {}
    for split in SPLITS:
        for segment in by_split[split]:
            if seen.setdefault(segment, split) != split:
                raise DatasetFormatError(
                    f"segment {segment[0]}_{segment[1]} is in two splits ({seen[segment]}, {split})")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(OUTPUT_COLUMNS)
        writer.writerows((video, clip, split) for split in SPLITS for video, clip in by_split[split])
    return out


def counts_line(by_split: dict[str, list]) -> str:
    """'train / valid / test: a / b / c', and which of the paper's sets (sec. 4.1) those counts are, if any."""
    got = tuple(len(by_split[s]) for s in SPLITS)
    line = f"train / valid / test: {' / '.join(map(str, got))} ({sum(got)} in all)"
    same = [name for name, expected in EXPECTED_COUNTS.items() if got == expected]
    if same:
        return line + f": the paper's CMU-{same[0].upper()} counts"
    return line + "; the paper's: " + ", ".join(f"CMU-{n.upper()} {' / '.join(map(str, e))}"
                                                for n, e in EXPECTED_COUNTS.items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the segments file (--segments) of MMSA's standard split from "
                                                 "its feature pickle or label.csv; only the segment ids are read.")
    parser.add_argument("--from", dest="source", required=True,
                        help="MMSA feature pickle (unaligned_50.pkl, ...) or MMSA label.csv")
    parser.add_argument("--out", required=True, help="segments file to write (CSV: video_id, clip_id, mode)")
    args = parser.parse_args(argv)
    try:
        by_split = read_mmsa_ids(args.source)
        out = write_segments(by_split, args.out)
    except (DatasetFormatError, FileNotFoundError) as exc:
        sys.exit(f"error: {exc}")
    print(f"wrote {out}: {counts_line(by_split)}")


if __name__ == "__main__":
    main()
