"""Step 3 of a timeline: every utterance window scored by the predictor, a batch at a time, into a `Timeline`."""
from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ...arguments import ArgumentError, check_labels, check_tasks
from ...config import DEFAULT_QUERY_WORD, MediaConfig
from ...labels import label_set
from ...media import FrameSampler, MediaInfo, file_identity
from ...memo import LockedLRU
from ..sources import DecodedSource
from .base import (
    Progress,
    Segmentation,
    TimelineConfig,
    TimelineError,
    Utterance,
    check_long_clip,
    no_progress,
    read_track,
)
from .result import Timeline, TimelineRow
from .windows import decode_window
from .words import BackgroundWords


def validate_utterances(utterances: Sequence[Utterance], duration: float, cfg: TimelineConfig,
                        media_cfg: MediaConfig) -> list[Utterance]:
    """Utterances given or edited by a user: each inside the clip, start before end, at most `max_seconds` long."""
    if not utterances:
        raise TimelineError("no utterances to score")
    if len(utterances) > cfg.max_utterances:
        raise TimelineError(f"{len(utterances)} utterances; the timeline takes at most {cfg.max_utterances}")
    out = []
    for i, u in enumerate(utterances, 1):
        try:
            start, end = float(u.start), float(u.end)
        except (TypeError, ValueError):
            raise TimelineError(f"utterance {i}: start and end must be numbers (seconds)") from None
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
            raise TimelineError(f"utterance {i}: {start} - {end} s is not a time span (start before end, from 0 s)")
        if start >= duration:
            raise TimelineError(f"utterance {i} starts at {start:.2f} s, after the end of the clip ({duration:.2f} s)")
        end = min(end, duration)
        if end - start > media_cfg.max_seconds:
            raise TimelineError(f"utterance {i} is {end - start:.1f} s long; at most {media_cfg.max_seconds:.0f} s")
        text = u.text if isinstance(u.text, str) else ("" if u.text is None else str(u.text))
        out.append(Utterance(start, end, text))
    return out


def predict_timeline(predictor, video: str | Path, utterances: Sequence[Utterance], *,
                     tasks: Sequence[str] = ("emotion", "sentiment"), labels: dict[str, Sequence[str]] | None = None,
                     cfg: TimelineConfig | None = None, segmentation: Segmentation | None = None,
                     progress: Progress | None = None, wave: np.ndarray | None = None,
                     transcribing: BackgroundWords | None = None) -> Timeline:
    """Score every utterance of `video` with `predictor.predict_batch`, a batch of windows at a time.

    `labels` maps a task to its label set (default: the checkpoint's for its own task, the built-in word labels for
    the other). A second task re-uses the cached features of the batch (only the label encoder and CMD re-run).
    `transcribing`: the utterances' words still being transcribed (each batch waits for its own).
    """
    cfg = (cfg or TimelineConfig()).check()
    tasks = check_tasks(tasks)
    label_sets = _label_sets(predictor.cfg, tasks, labels)
    progress = progress or no_progress
    t0 = time.perf_counter()
    info = check_long_clip(video, cfg, predictor.media_cfg)
    utterances = validate_utterances(utterances, info.duration, cfg, predictor.media_cfg)
    notes = list(segmentation.notes) if segmentation else []
    timings = dict(segmentation.timings) if segmentation else {}
    if wave is None and info.has_audio:
        progress(0.02, "decoding the audio track")
        wave = read_track(info.path, info.duration)
    if wave is not None and wave.size == 0:
        wave = None
    if wave is None and not any("no audio track" in n for n in notes):
        notes.append("no audio track: each utterance is scored from its frames and words only")
    results, texts = _score_windows(predictor, info, wave, utterances, label_sets, cfg.batch_size, progress, timings,
                                    transcribing)
    progress(1.0, "done")
    rows = [_row(i, u, texts[i], {t: results[t][i] for t in tasks}) for i, u in enumerate(utterances)]
    timings["timeline_total"] = time.perf_counter() - t0
    return Timeline(info.path.name, info.duration, segmentation.source if segmentation else "given",
                    segmentation.engine if segmentation else "given", label_sets, rows, notes, timings, results)


def _label_sets(model_cfg, tasks: Sequence[str], labels) -> dict[str, list[str]]:
    """Each task's label set: the one `labels` gives it (checked), else the checkpoint's for its own task, else the
    built-in word labels."""
    labels = {} if labels is None else labels
    if not isinstance(labels, Mapping):
        raise ArgumentError(f"labels must map a task to its label set, e.g. {{'emotion': [...]}}; got "
                            f"{type(labels).__name__}")
    if unknown := [t for t in labels if t not in tasks]:
        raise ArgumentError(f"labels names tasks that are not scored: {unknown!r}; tasks: {', '.join(tasks)}")
    sets = {t: check_labels(labels.get(t), t, name=f"labels[{t!r}]") for t in tasks}
    return {t: list(given or (model_cfg.labels if t == model_cfg.task else label_set(t, "word")))
            for t, given in sets.items()}


def _score_windows(predictor, info: MediaInfo, wave: np.ndarray | None, utterances: list[Utterance],
                   label_sets: dict[str, list[str]], batch_size: int, progress: Progress,
                   timings: dict[str, float],
                   transcribing: BackgroundWords | None = None) -> tuple[dict[str, list], list[str]]:
    """(task -> each utterance's PredictionResult, each utterance's words), the windows decoded in time order by one
    decoder over the file.

    The windows' features live in a cache of this timeline's own, one batch long: the second task re-uses them, and
    a long clip's hundreds of one-off windows never pass through (and empty) the predictor's cache of the clips its
    users are analysing."""
    mean, std = predictor.image_norm
    windows_cache = LockedLRU(batch_size)
    order = sorted(range(len(utterances)), key=lambda i: (utterances[i].start, utterances[i].end))
    key = file_identity(info.path)
    timings["decode_windows"] = timings["predict"] = 0.0
    by_index: dict[str, dict[int, object]] = {t: {} for t in label_sets}
    texts: dict[int, str] = {}
    with FrameSampler(info.path, info.duration) as sampler:
        for b in range(0, len(order), batch_size):
            chunk = order[b: b + batch_size]
            progress(0.05 + 0.95 * b / len(order), f"scoring utterances {b + 1}-{b + len(chunk)} of {len(order)}")
            if transcribing is not None:
                transcribing.fill(utterances, chunk)
            t1 = time.perf_counter()
            windows = [DecodedSource(f"{key}|window:{u.start:.4f}-{u.end:.4f}",
                                     decode_window(sampler, wave, u.start, u.end, u.text, predictor.media_cfg, mean, std))
                       for u in (utterances[i] for i in chunk)]
            t2 = time.perf_counter()
            words = [w.inputs.transcript for w in windows]
            for task, labels in label_sets.items():
                query = predictor.cfg.query_word if task == predictor.cfg.task else DEFAULT_QUERY_WORD[task]
                out = predictor.predict_batch(windows, words, batch_size=len(windows), labels=labels, task=task,
                                              query_word=query, cache=windows_cache)
                by_index[task].update(zip(chunk, out))
            texts.update(zip(chunk, words))
            timings["decode_windows"] += t2 - t1
            timings["predict"] += time.perf_counter() - t2
        timings["frames_decoded"] = float(sampler.decoded)
    n = len(utterances)
    return {t: [by_index[t][i] for i in range(n)] for t in label_sets}, [texts[i] for i in range(n)]


def _row(i: int, u: Utterance, text: str, results: dict) -> TimelineRow:
    """Utterance i's row from its PredictionResult per task (the argmax is sentiment's prediction)."""
    first = next(iter(results.values()))
    predicted = {t: r.predicted if t == "emotion" else [max(r.probabilities, key=r.probabilities.get)]
                 for t, r in results.items()}
    return TimelineRow(i + 1, u.start, u.end, text, {t: dict(r.probabilities) for t, r in results.items()}, predicted,
                       dict(first.present), list(first.notes))

