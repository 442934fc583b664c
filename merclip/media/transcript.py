"""Language input: a transcript as text (`transcript`) or read from a .txt / .srt file (`transcript_file`).

The two are separate on purpose: text is never opened as a file, whatever it looks like ("I saved it as notes.txt"
is words to encode, and a typed server path is only a string), so only the caller's own file argument is read.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import check_text
from .errors import TranscriptError, UnsupportedFileTypeError

TRANSCRIPT_SUFFIXES = (".txt", ".srt")


@dataclass(frozen=True)
class Cue:
    """One subtitle cue: where it is in the file, its times (s) and its words (whitespace collapsed)."""

    label: str  # "cue N": the file's own cue number, else its place in the file
    start: float
    end: float
    text: str


def read_transcript(text: str | None, max_chars: int = 100_000) -> str:
    """A transcript given as text: whitespace collapsed, length checked. Never opened as a file.

    A `Path` is refused (TypeError): a file goes through `read_transcript_file`, so that a string that merely looks
    like a path can never make the server read a file.
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        raise TypeError(f"transcript text must be a str, got {type(text).__name__}: pass a file as transcript_file")
    check_text(text, "the transcript", TranscriptError)  # a lone surrogate from a JSON request: a message, not a bug
    return _check_length(" ".join(text.split()), max_chars)


def read_text_file(path: str | Path, max_chars: int, what: str = "transcript") -> str:
    """A small UTF-8 text file's contents, refused (TranscriptError, naming the `what` file) when it is missing,
    empty, larger than `max_chars` characters could be, binary or not UTF-8."""
    path = Path(path)
    if not path.is_file():
        raise TranscriptError(f"{what} file not found: '{path.name}'")
    size = path.stat().st_size
    if size == 0:
        raise TranscriptError(f"{what} file '{path.name}' is empty (0 bytes)")
    if size > 4 * max_chars + 4096:  # UTF-8 is at most 4 bytes a character: refuse before reading it all
        hint = ": give the words spoken in this clip only" if what == "transcript" else ""
        raise TranscriptError(f"{what} file '{path.name}' is too large ({size} bytes; the limit is "
                              f"{max_chars} characters){hint}")
    data = path.read_bytes()
    if b"\x00" in data:
        raise TranscriptError(f"{what} file '{path.name}' is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"{what} file '{path.name}' is not UTF-8 text") from exc


def srt_cues(raw: str, name: str) -> list[Cue]:
    """The cues of an .srt file's text `raw`, in file order; a malformed file is a TranscriptError naming `name`."""
    import srt

    try:
        subtitles = list(srt.parse(raw))
    except srt.SRTParseError as exc:
        raise TranscriptError(f"'{name}' is not a valid .srt subtitle file ({exc})") from exc
    return [Cue(f"cue {sub.index if sub.index is not None else number}", sub.start.total_seconds(),
                sub.end.total_seconds(), " ".join(sub.content.split())) for number, sub in enumerate(subtitles, 1)]


def read_transcript_file(path: str | Path, max_chars: int = 100_000) -> str:
    """A transcript from a .txt or .srt file (the cues' words joined, their times dropped)."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() not in TRANSCRIPT_SUFFIXES:
        raise UnsupportedFileTypeError(
            f"unsupported transcript file type '{path.suffix or '(none)'}' for '{path.name}': expected .txt or .srt")
    raw = read_text_file(path, max_chars)
    text = " ".join(cue.text for cue in srt_cues(raw, path.name)) if path.suffix.lower() == ".srt" else raw
    return _check_length(" ".join(text.split()), max_chars)


def transcript_from(text: str | None, file: str | Path | None, max_chars: int = 100_000) -> str:
    """The clip's transcript from exactly one source: `text` (never opened) or `file` (read), or none."""
    if file is not None and text not in (None, ""):
        raise TranscriptError("give the transcript as text or as a file, not both")
    return read_transcript_file(file, max_chars) if file is not None else read_transcript(text, max_chars)


def _check_length(text: str, max_chars: int) -> str:
    if len(text) > max_chars:
        raise TranscriptError(
            f"transcript is too long ({len(text)} characters; the limit is {max_chars}): "
            "give the words spoken in this clip only"
        )
    return text
