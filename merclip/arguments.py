"""The checks every public entry point runs on its arguments before any decoding or model call.

A bad value is refused up front with an `ArgumentError` that names the argument, the value given and what is
allowed, instead of failing deep inside (a `KeyError` while building a result) or being silently ignored (an
unknown task scored as another). The `positive_int` family are argparse `type=` functions, so a command line gets
argparse's own clean "error: argument --batch-size: must be a positive integer, got '0'" and exit status 2.
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from numbers import Integral, Real
from os import PathLike
from typing import NoReturn

from .config import MODALITY_NAMES
from .errors import UserError, check_text
from .labels import MAX_LABEL_CHARS, validate_labels

TASKS: tuple[str, ...] = ("emotion", "sentiment")
_MODALITY_LETTERS = {**{m: m for m in MODALITY_NAMES}, **{name: m for m, name in MODALITY_NAMES.items()}}
MODALITY_CHOICES = "L, V, A or language, vision, audio"


class ArgumentError(UserError):
    """An argument of a public call has a value it cannot take; the message names the argument, the value and
    the allowed values."""


def _shown(value) -> str:
    """A value as a message quotes it: short, and typed where the type is the problem."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_choice(value, allowed: Sequence[str], name: str):
    """`value` if it is one of `allowed`."""
    if not isinstance(value, str) or value not in allowed:
        raise ArgumentError(f"{name} must be one of {', '.join(allowed)}; got {_shown(value)}")
    return value


def check_task(task, name: str = "task") -> str:
    """A MER-CLIP task name: 'emotion' or 'sentiment' (an unknown one would be scored as the other)."""
    if not isinstance(task, str) or task not in TASKS:
        where = "" if name == "task" else f" in {name}"
        raise ArgumentError(f"unknown task {_shown(task)}{where}: choose one of {', '.join(TASKS)}")
    return task


def check_tasks(tasks, name: str = "tasks") -> tuple[str, ...]:
    """One task or several (a string is one task), each known, none twice, at least one."""
    items = [tasks] if isinstance(tasks, str) else _items(tasks, name, "a list of tasks")
    if not items:
        raise ArgumentError(f"{name} is empty: give at least one of {', '.join(TASKS)}")
    checked = tuple(check_task(t, name) for t in items)
    if len(set(checked)) != len(checked):
        raise ArgumentError(f"{name} names a task twice: {list(checked)!r}")
    return checked


def check_modalities(modalities, name: str = "drop_modalities") -> tuple[str, ...]:
    """Modalities as letters ('L', 'V', 'A'), in the order given, each once. Full names (language, vision, audio)
    are accepted beside the letters, in any case; None or an empty sequence is none. A string is one name, or
    letters ('LV')."""
    if modalities is None:
        return ()
    if isinstance(modalities, str):  # one name or letter, else letters; anything else is refused whole
        whole = _letter(modalities) is not None or not all(_letter(c) for c in modalities)
        items = [modalities] if whole else list(modalities)
    else:
        items = _items(modalities, name, f"a list of modalities ({MODALITY_CHOICES})")
    letters: list[str] = []
    for item in items:
        letter = _letter(item)
        if letter is None:
            raise ArgumentError(f"{name}: unknown modality {_shown(item)}; choose from {MODALITY_CHOICES}")
        if letter not in letters:
            letters.append(letter)
    return tuple(letters)


def _letter(item) -> str | None:
    """'L' / 'V' / 'A' for a letter (any case) or a full name (any case); None for anything else."""
    if not isinstance(item, str):
        return None
    key = item.strip()
    return _MODALITY_LETTERS.get(key.upper() if len(key) == 1 else key.lower())


def check_labels(labels, task: str, name: str = "labels", required: bool = False) -> tuple[str, ...] | None:
    """A label set (None, where not `required`: the model's own): texts, validated by `labels.validate_labels`."""
    if labels is None:
        if required:
            raise ArgumentError(f"{name} is required: give a list of at least 2 labels")
        return None
    if not isinstance(labels, str):  # one string is refused by validate_labels with its own message
        labels = _items(labels, name, "a list of labels")
    return validate_labels(labels, task)


def check_query_word(word, name: str = "query_word") -> str | None:
    """A query word: None (no word) or one short text."""
    if word is None:
        return None
    if not isinstance(word, str):
        raise ArgumentError(f"{name} must be a word (text) or None; got {type(word).__name__} {_shown(word)}")
    if len(word) > MAX_LABEL_CHARS:
        raise ArgumentError(f"{name} may have at most {MAX_LABEL_CHARS} characters; got {len(word)}")
    return check_text(word, name, ArgumentError)


def check_positive_int(value, name: str) -> int:
    """A whole number >= 1 (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ArgumentError(f"{name} must be a positive integer; got {_shown(value)}")
    return int(value)


def check_batch_size(value, name: str = "batch_size") -> int:
    return check_positive_int(value, name)


def check_positive_number(value, name: str, allow_zero: bool = False) -> float:
    """A finite number > 0 (>= 0 with `allow_zero`)."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        kind = "a finite number >= 0" if allow_zero else "a positive finite number"
        raise ArgumentError(f"{name} must be {kind}; got {_shown(value)}")
    return float(value)


def check_threshold(value, name: str = "threshold", allow_none: bool = False) -> float | None:
    """A probability threshold strictly between 0 and 1 (at 0 or 1 every label, or none, would be predicted)."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, Real) and not isinstance(value, bool) and 0 < value < 1
    if not ok:
        raise ArgumentError(f"{name} must be a number between 0 and 1 (both excluded); got {_shown(value)}")
    return float(value)


def check_path(value, name: str = "video", required: bool = True):
    """A file argument: a path (str or os.PathLike); None only where it is optional. Whether the file exists and
    can be decoded is the media layer's check."""
    if value is None or value == "":
        if required:
            raise ArgumentError(f"{name} is required: give the path of a file")
        return None
    if not isinstance(value, (str, PathLike)):
        raise ArgumentError(f"{name} must be a file path; got {type(value).__name__}")
    return value


def check_clip_files(video, audio=None, transcript_file=None) -> None:
    """A clip's file arguments: the clip's path (required), a separate audio file's and a transcript file's."""
    check_path(video, "video")
    check_path(audio, "audio", required=False)
    check_path(transcript_file, "transcript_file", required=False)


def _items(value, name: str, what: str) -> list:
    """A sequence argument as a list; anything that is not iterable is refused naming `what` it should be."""
    if isinstance(value, (bytes, dict)) or not isinstance(value, Iterable):
        raise ArgumentError(f"{name} must be {what}; got {type(value).__name__} {_shown(value)}")
    return list(value)


# -- command lines: argparse type functions and the one way a command refuses --------------------------------
def _argparse_type(parse, check, kind: str, name: str):
    """An argparse `type=`: the text parsed and checked, or argparse's error (argparse prefixes the option)."""
    def convert(text: str):
        try:
            return check(parse(text), "value")
        except ValueError:  # a parse failure, or an ArgumentError (a ValueError too)
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None

    convert.__name__ = name
    return convert


def _non_negative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ArgumentError(f"{name} must be an integer >= 0; got {_shown(value)}")
    return int(value)


positive_int = _argparse_type(int, check_positive_int, "a positive integer", "positive_int")
non_negative_int = _argparse_type(int, _non_negative_int, "an integer >= 0", "non_negative_int")
positive_float = _argparse_type(float, check_positive_number, "a positive number", "positive_float")
non_negative_float = _argparse_type(float, lambda v, n: check_positive_number(v, n, allow_zero=True),
                                    "a number >= 0", "non_negative_float")


def _unit_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= value <= 1.0:
        raise ArgumentError(f"{name} must be a number between 0 and 1; got {_shown(value)}")
    return float(value)


unit_float = _argparse_type(float, _unit_number, "a number between 0 and 1 (both included)", "unit_float")
# a threshold, or a share held out (--valid-fraction), where 0 or 1 would leave a split empty
open_unit_float = _argparse_type(float, check_threshold, "a number between 0 and 1 (both excluded)", "open_unit_float")


def segment_count(text: str) -> int | str:
    """`--audio-segments`: a positive whole number, or 'all' (checked here, not after the model is built)."""
    if text == "all":
        return text
    try:
        return check_positive_int(int(text), "value")
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer or 'all', got {text!r}") from None


def modality_order(text: str) -> str:
    """`--modalities LVA`: distinct letters from L, V, A (any case), in the CMD's order."""
    letters = text.strip().upper()
    if not letters or set(letters) - set(MODALITY_NAMES) or len(set(letters)) != len(letters):
        raise argparse.ArgumentTypeError(f"must be distinct letters from L, V, A (e.g. LVA, VL, A), got {text!r}")
    return letters


def task_list(text: str) -> tuple[str, ...]:
    """`--tasks emotion,sentiment`: comma-separated task names, each known."""
    try:
        return check_tasks([t.strip() for t in text.split(",") if t.strip()], "the task list")
    except ArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def exit_on_user_error(prog: str, exc: UserError) -> NoReturn:
    """End a command as argparse ends one given a bad option: one line on stderr, exit status 2, no traceback."""
    print(f"{prog}: error: {exc}", file=sys.stderr)
    raise SystemExit(2)


@contextmanager
def user_errors_exit(prog: str) -> Iterator[None]:
    """Inside, a `UserError` (a bad checkpoint, a missing dataset folder, ...) ends the command with its message."""
    try:
        yield
    except UserError as exc:
        exit_on_user_error(prog, exc)
