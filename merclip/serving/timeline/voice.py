"""Utterances from voice activity: silero-vad's speech intervals, merged or split into 2-15-s utterances."""
from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np
import torch

from .base import SAMPLE_RATE, TimelineConfig


class VoiceActivity:
    """silero-vad's packaged TorchScript model (no download, no onnxruntime), loaded on first use and shared: the
    model keeps state between chunks, so it serves one caller at a time."""

    def __init__(self):
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        """The model, loaded once. Importing silero_vad calls torch.set_num_threads(1) for the whole process: the
        thread count is put back, so the app's and the CLI's model inference keep their threads."""
        if self._model is None:
            import warnings

            threads = torch.get_num_threads()
            try:
                import silero_vad

                with warnings.catch_warnings():  # torch.jit.load's deprecation notice
                    warnings.simplefilter("ignore", FutureWarning)
                    self._model = silero_vad.load_silero_vad()
            finally:
                torch.set_num_threads(threads)
        return self._model

    def speech_intervals(self, wave: np.ndarray, cfg: TimelineConfig) -> list[tuple[float, float]]:
        """(start, end) seconds of speech in a 16-kHz mono wave."""
        from silero_vad import get_speech_timestamps

        if wave.size < SAMPLE_RATE // 10:
            return []
        with self._lock, torch.inference_mode():
            stamps = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)), self._load(),
                                           threshold=cfg.vad_threshold, sampling_rate=SAMPLE_RATE,
                                           min_silence_duration_ms=int(cfg.min_silence * 1000),
                                           max_speech_duration_s=cfg.max_seconds, speech_pad_ms=30)
        return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


VOICE_ACTIVITY = VoiceActivity()  # the process's one copy of the model


def speech_intervals(wave: np.ndarray, cfg: TimelineConfig | None = None) -> list[tuple[float, float]]:
    """(start, end) seconds of speech in a 16-kHz mono wave, by silero-vad."""
    return VOICE_ACTIVITY.speech_intervals(wave, cfg or TimelineConfig())


def shape_utterances(intervals: Sequence[tuple[float, float]], duration: float,
                     cfg: TimelineConfig | None = None) -> list[tuple[float, float]]:
    """Speech intervals -> utterances of `min_seconds`..`max_seconds`.

    An interval shorter than `min_seconds` joins its nearer neighbour when that is at most `merge_gap` away and the
    two together stay within `max_seconds`; otherwise it is widened symmetrically (within the clip) to `min_seconds`.
    An interval longer than `max_seconds` is split into equal parts.
    """
    cfg = cfg or TimelineConfig()
    parts: list[list[float]] = []
    for start, end in sorted(intervals):
        start, end = max(0.0, start), min(duration, end)
        if end - start <= 0:
            continue
        n = max(1, math.ceil((end - start) / cfg.max_seconds - 1e-9))
        step = (end - start) / n
        parts.extend([start + i * step, start + (i + 1) * step] for i in range(n))
    while _merge_one_short_part(parts, cfg):
        pass
    out = []
    shortest = min(cfg.min_seconds, duration)
    for start, end in parts:
        if end - start < shortest:  # alone: widened around its centre, kept inside the clip
            centre = (start + end) / 2
            start = min(max(0.0, centre - shortest / 2), duration - shortest)
            end = start + shortest
        out.append((round(start, 3), round(end, 3)))
    return out


def _merge_one_short_part(parts: list[list[float]], cfg: TimelineConfig) -> bool:
    """Join the first too-short part that can join a neighbour with the nearer one, in place; False when none can."""
    for i, (start, end) in enumerate(parts):
        if end - start >= cfg.min_seconds:
            continue
        options = []
        if i > 0 and start - parts[i - 1][1] <= cfg.merge_gap and end - parts[i - 1][0] <= cfg.max_seconds:
            options.append((start - parts[i - 1][1], i - 1))
        if i + 1 < len(parts) and parts[i + 1][0] - end <= cfg.merge_gap and parts[i + 1][1] - start <= cfg.max_seconds:
            options.append((parts[i + 1][0] - end, i + 1))
        if options:
            _, j = min(options)
            a, b = min(i, j), max(i, j)
            parts[a:b + 1] = [[parts[a][0], parts[b][1]]]
            return True
    return False


def fixed_windows(duration: float, window: float) -> list[tuple[float, float]]:
    """The clip cut into equal windows of at most `window` s."""
    n = max(1, math.ceil(duration / window - 1e-9))
    step = duration / n
    return [(round(i * step, 3), round((i + 1) * step, 3)) for i in range(n)]
