"""The batch-prediction table and the journal it is assembled from.

The table has one row per clip: `file_name`, `predicted` (the labels decided, joined by ';'), one column per label
holding its probability, and `error` (empty, or why the clip gave no prediction). Its format follows the output's
suffix: .csv, .jsonl, or .parquet (with pyarrow). While a run goes, each rank appends its rows (JSON lines) and
embeddings (one .npz a batch) to a journal folder beside the output, flushed batch by batch, so that `--resume`
after a crash finds every row written; the table itself is written once, at the end, in the manifest's order.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..files import atomic_write

SUFFIXES = (".csv", ".jsonl", ".parquet")
RESERVED = ("file_name", "predicted", "error")
LABEL_SEPARATOR = ";"


def table_columns(labels: list[str]) -> list[str]:
    clash = [label for label in labels if label in RESERVED]
    if clash:
        raise UserError(f"label(s) {clash} would clash with the table's own columns ({', '.join(RESERVED)}): rename them")
    return ["file_name", "predicted", *labels, "error"]


def check_output(path: Path) -> None:
    """Refuse an output this run could not write, before any clip is decoded."""
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"--out '{path.name}': the table is written as {', '.join(SUFFIXES)}, chosen by the suffix")
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UserError("writing .parquet needs pyarrow, which is not installed (pip install pyarrow); "
                            "or write .csv or .jsonl") from None


def write_table(path: Path, rows: list[dict], columns: list[str]) -> None:
    """The rows (dicts keyed by `columns`; a probability is None on an error row) in the format of the suffix."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([(c, pa.float64() if c not in RESERVED else pa.string()) for c in columns])
        atomic_write(path, lambda tmp: pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp))
    elif suffix == ".jsonl":
        atomic_write(path, lambda tmp: Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in rows)))
    else:
        def write_csv(tmp):
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=columns)
                writer.writeheader()
                writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
        atomic_write(path, write_csv)


def read_table(path: Path) -> tuple[list[str], list[dict]]:
    """(columns, rows) of a table `write_table` wrote: probabilities back as floats (None where empty)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return list(table.column_names), table.to_pylist()
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return (list(rows[0]) if rows else []), rows
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = [{k: (v if k in RESERVED else (float(v) if v else None)) for k, v in r.items()} for r in reader]
        return list(reader.fieldnames or []), rows


def result_row(file_name: str, result) -> dict:
    """A PredictionResult as a table row."""
    return {"file_name": file_name, "predicted": LABEL_SEPARATOR.join(result.predicted), **result.probabilities,
            "error": ""}


def error_row(file_name: str, message: str, labels: list[str]) -> dict:
    return {"file_name": file_name, "predicted": "", **dict.fromkeys(labels), "error": message}


class Journal:
    """One rank's rows and embeddings under `directory`, flushed after every batch."""

    def __init__(self, directory: Path, rank: int):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.rank, self.batches = directory, rank, 0
        self._rows = open(directory / f"rank{rank}.jsonl", "a", encoding="utf-8")

    def add(self, rows: list[dict], embeddings: dict[str, np.ndarray] | None) -> None:
        """Embeddings first, so that a row in the journal always has its vectors (`embeddings` keyed as `EMBEDDED`,
        plus 'ids': the rows' file names)."""
        if embeddings is not None and len(embeddings["ids"]):
            np.savez(self.directory / f"rank{self.rank}-{os.getpid()}-{self.batches}.npz", **embeddings)
        self.batches += 1
        self._rows.write("".join(json.dumps(r) + "\n" for r in rows))
        self._rows.flush()
        os.fsync(self._rows.fileno())

    def close(self) -> None:
        self._rows.close()


EMBEDDED = ("language", "vision", "audio", "fused", "probs", "targets", "sentiment")  # per-clip arrays of the .npz


def read_journal(directory: Path) -> tuple[dict[str, dict], dict[str, dict[str, np.ndarray]]]:
    """Every rank's journalled rows by file name (the latest wins), and their embeddings by file name."""
    rows: dict[str, dict] = {}
    vectors: dict[str, dict[str, np.ndarray]] = {}
    if not directory.is_dir():
        return rows, vectors
    for path in sorted(directory.glob("rank*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows[row["file_name"]] = row
    for path in sorted(directory.glob("rank*.npz")):
        vectors.update(split_embeddings(dict(np.load(path, allow_pickle=False))))
    return rows, vectors


def split_embeddings(data: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """An embeddings file's per-clip arrays, by clip id."""
    keys = [k for k in EMBEDDED if k in data]
    return {str(i): {k: data[k][n] for k in keys} for n, i in enumerate(data["ids"])}


def stack_embeddings(ids: list[str], vectors: dict[str, dict[str, np.ndarray]], extra: dict) -> dict[str, np.ndarray]:
    """The export format (merclip.training.export) for `ids`, in that order, plus `extra` (label names, label
    embeddings, task)."""
    keys = [k for k in EMBEDDED if all(k in vectors[i] for i in ids)] if ids else []
    data = {"ids": np.array(ids, dtype=str)}
    data |= {k: np.stack([vectors[i][k] for i in ids]) for k in keys}
    return data | extra

