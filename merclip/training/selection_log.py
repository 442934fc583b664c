"""The epoch log that scripts/train_demo.py writes (`<run>/dev_selection.jsonl`, one JSON row per epoch) and the
one checked reader of it, for the script's own `--resume` and for scripts/selection_log.py.

Why one module: the writer and its two readers must agree on the file's name and its fields; a log cut short by a
killed run, or a folder that is not a run, is then named the same way by both (a `LogError`), not a traceback.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..errors import UserError

LOG_NAME = "dev_selection.jsonl"
# the fields every reader needs; `--resume` also needs the rank's (READ_TO_RESUME)
EPOCH_FIELDS = ("epoch", "generated_valid_micro_f1", "fusion_adds", "LVA")
READ_TO_RESUME = EPOCH_FIELDS + ("score", "eligible")


class LogError(UserError):
    """A run folder without a readable selection log; the message names the file and the problem (a command's
    own argument, so the command's message may name it)."""


def worst_doubt(doubt: dict) -> float:
    """The largest share of resamples doubting that fusion adds, over the single modalities and both measures of
    an epoch's `fusion_doubt` (0 where there is none)."""
    return max((share for pair in doubt.values() for share in pair), default=0.0)


def generated_f1(row: dict) -> float:
    """The generated micro-F1 an epoch was judged by: its selection set's (`--generated-selection`) when the run
    had one, else the generated validation split's."""
    return row.get("generated_selection_micro_f1", row["generated_valid_micro_f1"])


def log_path(run: Path) -> Path:
    return Path(run) / LOG_NAME


def append_row(run: Path, row: dict) -> None:
    """One epoch's row, appended (a resumed run adds its new epochs after the old ones)."""
    with open(log_path(run), "a") as log:
        log.write(json.dumps(row) + "\n")


def read_log(run: Path, fields: Iterable[str] = EPOCH_FIELDS) -> list[dict]:
    """The epochs a run logged, in the order logged, each with at least `fields`."""
    path = log_path(run)
    if not path.is_file():
        raise LogError(f"{run} has no {LOG_NAME}: it is written by scripts/train_demo.py, one line per epoch")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise LogError(f"{path}, line {n}: not JSON ({e})") from None
        missing = [key for key in fields if not isinstance(row, dict) or key not in row]
        if missing:
            raise LogError(f"{path}, line {n}: not an epoch row of scripts/train_demo.py (no {', '.join(missing)})")
        rows.append(row)
    return rows
