"""Utterances from an .srt: its cue times and words (read by media's one .srt reader), checked against the clip."""
from __future__ import annotations

from pathlib import Path

from ...config import MediaConfig
from ...media import Cue, TranscriptError, read_text_file, srt_cues
from .base import SubtitleError, TimelineConfig, Utterance


def srt_timestamp(seconds: float) -> str:
    """`seconds` as an .srt time stamp, HH:MM:SS,mmm."""
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def parse_srt(path: str | Path, duration: float, cfg: TimelineConfig | None = None,
              media_cfg: MediaConfig | None = None) -> tuple[list[Utterance], list[str]]:
    """Cue times and words of an `.srt`, checked against the clip: (utterances, notes).

    Malformed files and overlapping cues are refused with the cue numbers (overlapping cues would score the same
    seconds twice; a cue that starts before the previous one ends is most often a typing error); cues that run past
    the end of the video are cut at its end, and cues that start after it are dropped, both with a note.
    """
    cfg = cfg or TimelineConfig()
    media_cfg = media_cfg or MediaConfig()
    path = Path(path)
    if path.suffix.lower() != ".srt":
        raise SubtitleError(f"'{path.name}' is not an .srt subtitle file")
    try:
        cues = srt_cues(read_text_file(path, media_cfg.max_transcript_chars, what="subtitle"), path.name)
    except TranscriptError as exc:
        raise SubtitleError(str(exc)) from exc
    if not cues:
        raise SubtitleError(f"'{path.name}' holds no subtitle cues")
    _check_order(cues, path.name)
    utterances, notes = _fit_to_clip(cues, duration, media_cfg.max_seconds, path.name)
    if len(utterances) > cfg.max_utterances:
        raise SubtitleError(f"'{path.name}' has {len(utterances)} cues; the timeline takes at most {cfg.max_utterances}")
    return utterances, notes


def _check_order(cues: list[Cue], name: str) -> None:
    """Each cue ends after it starts, and after the previous one has ended."""
    previous = None
    for cue in cues:
        if cue.end <= cue.start:
            raise SubtitleError(f"'{name}': {cue.label} ends ({srt_timestamp(cue.end)}) before it starts "
                                f"({srt_timestamp(cue.start)})")
        if previous is not None and cue.start < previous.end - 1e-6:
            raise SubtitleError(f"'{name}': {cue.label} ({srt_timestamp(cue.start)} --> {srt_timestamp(cue.end)}) "
                                f"overlaps {previous.label} (which ends at {srt_timestamp(previous.end)}): give cues "
                                "in time order, one utterance at a time")
        previous = cue


def _fit_to_clip(cues: list[Cue], duration: float, max_seconds: float, name: str) -> tuple[list[Utterance], list[str]]:
    """Cues cut at the clip's end, those that start after it dropped (each with a note); a too-long cue is refused."""
    out, past, cut = [], [], []
    for cue in cues:
        start, end = cue.start, cue.end
        if start >= duration - 0.05:
            past.append(cue.label)
            continue
        if end > duration:
            cut.append(cue.label)
            end = duration
        if end - start > max_seconds:
            raise SubtitleError(f"'{name}': {cue.label} is {end - start:.1f} s long; an utterance can be at most "
                                f"{max_seconds:.0f} s (split the cue)")
        out.append(Utterance(start, end, cue.text))
    if not out:
        raise SubtitleError(f"every cue of '{name}' starts after the end of the video ({srt_timestamp(duration)}): "
                            "is it the subtitle file of another video?")
    notes = []
    if past:
        notes.append(f"{len(past)} cue(s) start after the end of the video ({srt_timestamp(duration)}) and were left "
                     f"out: {', '.join(past[:5])}{' …' if len(past) > 5 else ''}")
    if cut:
        notes.append(f"{', '.join(cut)} ran past the end of the video and were cut at {srt_timestamp(duration)}")
    return out, notes

