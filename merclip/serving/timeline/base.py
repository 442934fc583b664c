"""What every step of the timeline shares: its settings, an utterance, a segmentation, its errors, and the long
file's checks (duration cap) and audio track."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...arguments import (
    ArgumentError,
    check_batch_size,
    check_choice,
    check_positive_int,
    check_positive_number,
    check_threshold,
)
from ...config import MediaConfig
from ...errors import UserError
from ...media import (
    EmptyMediaError,
    MediaInfo,
    MediaTooLongError,
    NoVideoStreamError,
    check_size,
    packet_duration,
    probe,
    read_audio,
)

Progress = Callable[[float, str], None]
SAMPLE_RATE = 16000
TRANSCRIBER_CHOICES = ("auto", "whisper", "pocketsphinx", "none")


class TimelineError(UserError):
    """A long clip cannot be turned into a timeline as given; the message says why."""


class NoSpeechError(TimelineError):
    pass


class SubtitleError(TimelineError):
    pass


class TimelineTooLongError(MediaTooLongError):
    pass


@dataclass
class TimelineConfig:
    min_seconds: float = 2.0  # utterances from VAD are merged (or padded) up to this length ...
    max_seconds: float = 15.0  # ... and split down to this one
    max_duration: float = 600.0  # longer files are refused from the container's duration, before any decoding
    merge_gap: float = 2.0  # a too-short utterance joins a neighbour at most this far away
    vad_threshold: float = 0.5
    min_silence: float = 0.5  # pauses shorter than this do not end an utterance
    no_audio_window: float = 10.0  # a clip without an audio track is cut into windows of this length
    batch_size: int = 8
    max_utterances: int = 1000
    transcriber: str = "auto"  # auto | whisper | pocketsphinx | none
    sphinx_search: str = "pruned"  # pocketsphinx's search: pruned (transcribe.SphinxOptions) | default (its own)
    transcribe_first: bool = False  # analyse: every utterance's words before any scoring, not beside the scoring

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> "TimelineConfig":
        """Refuse settings no timeline runs with, naming the setting and its value (run again by each entry point,
        since a config's fields may be set after it was made); returns the config."""
        for name in ("min_seconds", "max_seconds", "max_duration", "no_audio_window"):
            check_positive_number(getattr(self, name), name)
        for name in ("merge_gap", "min_silence"):
            check_positive_number(getattr(self, name), name, allow_zero=True)
        if self.min_seconds > self.max_seconds:
            raise ArgumentError(f"min_seconds ({self.min_seconds}) must not exceed max_seconds ({self.max_seconds})")
        check_threshold(self.vad_threshold, "vad_threshold")
        check_batch_size(self.batch_size)
        check_positive_int(self.max_utterances, "max_utterances")
        check_choice(self.transcriber, TRANSCRIBER_CHOICES, "transcriber")
        check_choice(self.sphinx_search, ("pruned", "default"), "sphinx_search")
        return self


@dataclass
class Utterance:
    start: float
    end: float
    text: str = ""

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Segmentation:
    """Where a clip's utterances are, with their words, and how both were found."""

    utterances: list[Utterance]
    source: str  # "srt" | "vad" | "windows" | "given"
    engine: str  # what produced the words
    duration: float
    has_audio: bool
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def no_progress(fraction: float, description: str) -> None:
    """A `Progress` that reports nowhere."""


def check_long_clip(video: str | Path, cfg: TimelineConfig, media_cfg: MediaConfig) -> MediaInfo:
    """Probe the container (no decoding) and refuse what the timeline cannot take."""
    info = probe(video)
    if not info.has_video:
        raise NoVideoStreamError(f"'{info.path.name}' has no video stream (it is audio only): upload a video clip")
    duration = info.duration or packet_duration(info.path, cfg.max_duration)
    if duration > cfg.max_duration:
        raise TimelineTooLongError(
            f"'{info.path.name}' is {clock(duration)} long; the timeline takes clips up to {clock(cfg.max_duration)} "
            "(cut the recording into parts, or raise the limit: --max-minutes on the command line and in the app)")
    if duration <= 0:
        raise EmptyMediaError(f"'{info.path.name}' has no duration: it holds no decodable frames")
    check_size(info.path, media_cfg.max_file_mb)
    info.duration = duration
    return info


def clock(seconds: float) -> str:
    """A duration for people: "m:ss min", or "h:mm:ss" from an hour on."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d} min"


def read_track(path: Path, duration: float) -> np.ndarray:
    """The whole audio track as 16-kHz mono float32 (decoded in one streaming pass)."""
    return read_audio(path, SAMPLE_RATE, duration + 1.0)
