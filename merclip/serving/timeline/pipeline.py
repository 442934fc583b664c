"""The whole timeline of one long clip in one call (`analyse`): the audio track, the utterances, their words and
their scores, with the words transcribed beside the scoring rather than before it.

Speech recognition costs more than the rest together (docs/benchmarks.md), and pocketsphinx decodes in a child
process: so while it transcribes utterance k, this process decodes the frames and scores the batches whose words
are already written, and the run takes about as long as the longer of the two instead of their sum.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from ...arguments import check_tasks
from .base import Progress, TimelineConfig, check_long_clip, no_progress, read_track
from .result import Timeline
from .score import predict_timeline
from .segment import locate, segment
from .words import BackgroundWords


def analyse(predictor, video: str | Path, srt_file: str | Path | None = None, cfg: TimelineConfig | None = None,
            progress: Progress | None = None, tasks: Sequence[str] = ("emotion", "sentiment")) -> Timeline:
    """Segment (and transcribe) then score: the whole timeline of one long clip in one call. The words are
    transcribed beside the scoring unless `cfg.transcribe_first` (the same words either way)."""
    cfg = (cfg or TimelineConfig()).check()
    tasks = check_tasks(tasks)  # refused before any decoding
    progress = progress or no_progress
    t0 = time.perf_counter()
    info = check_long_clip(video, cfg, predictor.media_cfg)
    progress(0.0, "decoding the audio track")
    wave = read_track(info.path, info.duration) if info.has_audio else None
    t1 = time.perf_counter()
    if cfg.transcribe_first:
        seg = segment(video, srt_file, cfg, predictor.media_cfg, progress=lambda f, d: progress(0.4 * f, d), wave=wave)
        transcriber, start_scoring = None, 0.4
    else:
        seg, transcriber, wave = locate(video, srt_file, cfg, predictor.media_cfg, lambda f, d: progress(0.1 * f, d),
                                        wave)
        start_scoring = 0.1
    seg.timings["decode_audio_track"] = t1 - t0
    words = BackgroundWords(transcriber, wave, seg.utterances) if transcriber is not None else None
    try:
        timeline = predict_timeline(predictor, video, seg.utterances, tasks=tasks, cfg=cfg, segmentation=seg,
                                    wave=wave, transcribing=words,
                                    progress=lambda f, d: progress(start_scoring + (1 - start_scoring) * f, d))
    finally:
        if words is not None:
            words.close()
    if words is not None:  # beside the scoring: its own wall time, and how long the scoring waited for it
        timeline.timings.update(transcribe=words.seconds, wait_for_words=words.waited)
    timeline.timings["total"] = time.perf_counter() - t0
    return timeline
