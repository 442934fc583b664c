"""What a Studio request may be: its values parsed, its files checked against the allow-list, its messages made fit
for the page.

Every panel takes its clip through `RequestGuard.clip`, so no request reaches a decoder with a path outside the
allowed roots or a transcript that is anything but text.
"""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..arguments import ArgumentError, check_query_word
from ..config import DEFAULT_QUERY_WORD, MediaConfig, ModelConfig
from ..errors import UserError
from ..labels import label_set, validate_labels
from ..media import check_size, read_transcript_file
from ..serving import figures

NO_WORD = "(none)"

# The served app's limits, the Studio's defaults too: a Studio built in a notebook refuses what the page refuses.
DEFAULT_MAX_SECONDS = 60.0
DEFAULT_MAX_FILE_MB = 100.0
DEFAULT_TIMELINE_MINUTES = 10.0


class StudioError(UserError):
    """A user-facing problem with the request (shown in the page as-is)."""


class EmptyLabelSetError(StudioError):
    """'custom' labels chosen with none written (the app keeps the previous result and says why)."""


def md_text(words: str) -> str:
    """User-given words for markdown: HTML escaped and markdown's own markers backslashed, so they show as typed."""
    return re.sub(r"([\\`*_\[\]#|~])", r"\\\1", html.escape(words, quote=False))


def parse_labels(text: str) -> list[str]:
    """Custom labels: one per line, or, when they are all on one line, separated by commas ("calm, tense, excited").

    Several lines are split on lines only, so that a sentence label may hold commas. Blank entries are ignored.
    """
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) == 1:
        return [part.strip() for part in lines[0].split(",") if part.strip()]
    return lines


def parse_query_word(word: str | None) -> str | None:
    """The query word as the model takes it: None for no word ('', '(none)', 'none')."""
    word = (check_query_word(word) or "").strip()
    return None if word in ("", NO_WORD, "none") else word


def query_word_or_default(word: str | None, task: str) -> str | None:
    """A request's query word; a request that names none (None, not '(none)') gets the task's default word."""
    return parse_query_word(word) if word is not None else DEFAULT_QUERY_WORD[task]


_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
_QUOTED_PATH = re.compile(r"(['\"])(/[^'\"]*/)([^/'\"]+)\1")
_BARE_PATH = re.compile(r"(?<![\w.])(/(?:[\w.-]+/)+)([\w.-]+)")
# hints written for the library that name settings the page has no control for
_LIBRARY_HINTS = {"trim the clip, or analyse its first window with long_clip='window'": "trim the clip to fit"}


def public_message(text: str) -> str:
    """A user error's message as the page may show it: no errno numbers, no server paths (a file keeps only its
    name), and no hint naming a library setting that the page has no control for."""
    text = _ERRNO.sub("", str(text))
    text = _QUOTED_PATH.sub(lambda m: f"{m[1]}{m[3]}{m[1]}", text)
    text = _BARE_PATH.sub(lambda m: m[2], text)
    for hint, instead in _LIBRARY_HINTS.items():
        text = text.replace(hint, instead)
    return text


def timings_details(timings: dict[str, float], cached: bool = False) -> str:
    """Per-stage timings in a collapsed "details" section: there for whoever wants them, out of everyone's way."""
    rows = " · ".join(f"{k} {1000 * v:.0f} ms" for k, v in timings.items())
    return (f"<details><summary>Timings</summary>\n\n{rows}" + (" (modality features from cache)" if cached else "")
            + "\n\n</details>")


@dataclass(frozen=True)
class ClipRequest:
    """One request's clip: three checked file paths (or None) and the transcript text (None when a file gives it)."""

    video: str
    transcript: str | None
    transcript_file: str | None
    audio: str | None


class RequestGuard:
    """Checks a request's values before any model or decoder sees them: files against the allowed roots, labels,
    heads. `allowed_roots=None` allows any path (library use); the app passes its upload folder and assets/, since
    gradio forwards client-supplied server paths."""

    def __init__(self, config: ModelConfig, media_cfg: MediaConfig, allowed_roots: Sequence[str | Path] | None = None):
        self.config = config
        self.media_cfg = media_cfg
        self.allowed_roots = [Path(r).resolve() for r in allowed_roots] if allowed_roots is not None else None

    def allowed(self, path) -> str | None:
        """The one gate every file parameter passes: a path outside the allowed roots is refused before anything
        opens it. Returns the path (None for an empty parameter)."""
        if not path:
            return None
        if not isinstance(path, (str, Path)):
            raise StudioError(f"expected a file, got {type(path).__name__}")
        if self.allowed_roots is not None:
            resolved = Path(path).resolve()
            if not any(resolved.is_relative_to(root) for root in self.allowed_roots):
                raise StudioError(f"'{Path(path).name}' is not an uploaded file: only uploads and the app's examples "
                                  "can be read")
        return str(path)

    def video(self, video) -> str:
        """A required clip, through the allow-list."""
        if not video:
            raise StudioError("upload or record a video clip first")
        return self.allowed(video)

    def clip(self, video, transcript: str | None, transcript_file=None, audio=None) -> ClipRequest:
        """The request's clip, by type: three file parameters (each through the allow-list) and one text parameter.

        The transcript text is only ever text: it is never opened, whatever it looks like. An uploaded transcript
        file takes the place of the typed text.
        """
        video = self.video(video)
        transcript_file, audio = self.allowed(transcript_file), self.allowed(audio)
        if transcript is not None and not isinstance(transcript, str):
            raise StudioError("the transcript must be text")
        return ClipRequest(video, None if transcript_file else (transcript or ""), transcript_file, audio)

    def embeddings_file(self, path) -> str:
        """An uploaded embeddings file: an .npz through the allow-list and the upload size limit."""
        path = self.allowed(path)
        if path is None:
            raise StudioError("no embeddings file was given")
        check_size(path, self.media_cfg.max_file_mb, allowed=(".npz",))
        return path

    def transcript_file_text(self, transcript_file) -> str:
        """The words of an uploaded .txt / .srt transcript (through the allow-list)."""
        path = self.allowed(transcript_file)
        if path is None:
            raise StudioError("no transcript file was given")
        return read_transcript_file(path, self.media_cfg.max_transcript_chars)

    @staticmethod
    def labels(task: str, kind: str, custom: str = "") -> list[str]:
        """The label set a request names: a built-in one of `task`, or its custom labels, validated."""
        label_set(task)  # an unknown task is the user's error (LabelError), not a KeyError deep inside
        if kind == "custom":
            if custom is not None and not isinstance(custom, str):
                raise ArgumentError(f"custom_labels must be text (one label per line); got {type(custom).__name__}")
            labels = parse_labels(custom)
            if not labels:
                raise EmptyLabelSetError("the custom label set is empty: write labels one per line, or separated "
                                         "by commas")
        else:
            labels = list(label_set(task, kind))
        return list(validate_labels(labels, task))  # LabelError: a UserError, shown as-is

    def head_choices(self) -> list[tuple[str, str]]:
        """(name, value) pairs for the heads chooser: named as the attention plot names them (head 1 is index 0)."""
        return [("mean of heads", "mean"), ("all heads", "all")] + [
            (figures.head_name(h), str(h)) for h in range(self.config.cmd_heads)]

    def head(self, head) -> None:
        """Refuses a heads choice the attention plot cannot draw."""
        if head in ("mean", "all"):
            return
        try:
            ok = 0 <= int(head) < self.config.cmd_heads
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise StudioError(f"heads must be 'mean', 'all' or a head number from 0 to {self.config.cmd_heads - 1}")
