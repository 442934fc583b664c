"""Step 1 of a timeline: where a long clip's utterances are (from an .srt, else voice activity), with their words
(from the cues, else transcribed offline)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ...config import MediaConfig
from .base import (
    NoSpeechError,
    Progress,
    Segmentation,
    TimelineConfig,
    TimelineError,
    Utterance,
    check_long_clip,
    clock,
    no_progress,
    read_track,
)
from .subtitles import parse_srt
from .transcribe import TRANSCRIBERS
from .voice import fixed_windows, shape_utterances, speech_intervals
from .words import transcribe_in_order


def segment(video: str | Path, srt_file: str | Path | None = None, cfg: TimelineConfig | None = None,
            media_cfg: MediaConfig | None = None, progress: Progress | None = None,
            wave: np.ndarray | None = None) -> Segmentation:
    """Utterances of a long clip (from `srt_file`, else VAD) with their words (from the cues, else transcribed)."""
    t0 = time.perf_counter()
    progress = progress or no_progress
    seg, transcriber, wave = locate(video, srt_file, cfg, media_cfg, progress, wave)
    if transcriber is not None:
        t1 = time.perf_counter()
        transcribe_in_order(transcriber, wave, seg.utterances, lambda f, d: progress(0.15 + 0.85 * f, d))
        seg.timings["transcribe"] = time.perf_counter() - t1
    if seg.source == "vad":
        seg.timings["segment_total"] = time.perf_counter() - t0
    return seg


def locate(video: str | Path, srt_file: str | Path | None = None, cfg: TimelineConfig | None = None,
           media_cfg: MediaConfig | None = None, progress: Progress | None = None,
           wave: np.ndarray | None = None) -> tuple[Segmentation, object | None, np.ndarray | None]:
    """`segment` but for the words of VAD utterances: (segmentation, the transcriber that is to write them into
    its utterances or None when there are none to write, the audio track)."""
    cfg, media_cfg = (cfg or TimelineConfig()).check(), media_cfg or MediaConfig()
    progress = progress or no_progress
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    info = check_long_clip(video, cfg, media_cfg)
    duration = info.duration
    if srt_file is not None:  # the cues say where and what: no audio needed here
        utterances, notes = parse_srt(srt_file, duration, cfg, media_cfg)
        return Segmentation(utterances, "srt", "subtitles (.srt)", duration, info.has_audio, notes, timings), None, wave
    if info.has_audio and wave is None:
        progress(0.02, "decoding the audio track")
        wave = read_track(info.path, duration)
        timings["decode_audio_track"] = time.perf_counter() - t0
    if not (info.has_audio and wave is not None and wave.size > 0):
        windows = fixed_windows(duration, cfg.no_audio_window)
        note = (f"no audio track: no voice to find utterances in, so the clip was cut into {len(windows)} windows of "
                f"{windows[0][1] - windows[0][0]:.1f} s, scored from the frames only (no audio, no transcript)")
        return Segmentation([Utterance(s, e, "") for s, e in windows], "windows", "none (no audio track)", duration,
                            False, [note], timings), None, wave
    seg = _voiced(wave, info.path.name, duration, cfg, progress, timings)
    transcriber = TRANSCRIBERS.get(cfg.transcriber, search=cfg.sphinx_search)
    seg.engine = transcriber.name if transcriber is not None else "none (no transcription asked for)"
    return seg, transcriber, wave


def _voiced(wave: np.ndarray, name: str, duration: float, cfg: TimelineConfig, progress: Progress,
            timings: dict[str, float]) -> Segmentation:
    """Utterances where silero-vad hears speech (their words still to be written)."""
    progress(0.1, "finding speech (silero-vad)")
    t0 = time.perf_counter()
    intervals = speech_intervals(wave, cfg)
    timings["vad"] = time.perf_counter() - t0
    if not intervals:
        raise NoSpeechError(f"no speech found in '{name}' (voice activity detection found none in its "
                            f"{clock(duration)} of audio): give an .srt with the utterance times to score it anyway")
    spans = shape_utterances(intervals, duration, cfg)
    if len(spans) > cfg.max_utterances:
        raise TimelineError(f"{len(spans)} utterances found; the timeline takes at most {cfg.max_utterances}")
    note = (f"{len(intervals)} speech stretches found by silero-vad, shaped into {len(spans)} utterances "
            f"of {cfg.min_seconds:g}-{cfg.max_seconds:g} s")
    return Segmentation([Utterance(s, e, "") for s, e in spans], "vad", "", duration, True, [note], timings)
