"""What each attention key is, as axis labels: transcript tokens, frame times, audio segments.

Shared by the MER-CLIP and LSGMER predictors, so both name an audio segment the same way, from the media
config's segment length and the clip's own duration (the last segment of a 3-s clip is "2-3s", not "2-4s").
"""
from __future__ import annotations

from collections.abc import Sequence

from ..config import MediaConfig
from ..media.audio import audio_segment_indices


def token_strings(tokenizer, ids: list[int]) -> list[str]:
    """Readable BPE pieces for attention-map axis labels."""
    decoder = getattr(tokenizer, "decoder", None)
    if decoder is None:
        return [str(i) for i in ids]
    return [decoder.get(int(i), "?").replace("</w>", "") for i in ids]


def _seconds(t: float) -> str:
    return f"{t:.1f}".rstrip("0").rstrip(".")


def segment_labels(segments: int | Sequence[int], segment_seconds: float, duration: float | None = None) -> list[str]:
    """"0-2s", "2-4s", ... for the audio segments of `segment_seconds` that the tower read: their indices, or a count
    (the first n); the clip's last segment ends at its `duration` when that is known and shorter."""
    labels = []
    for j in (range(segments) if isinstance(segments, int) else segments):
        start, end = j * segment_seconds, (j + 1) * segment_seconds
        if duration and duration > start:
            end = min(end, duration)
        labels.append(f"{_seconds(start)}-{_seconds(end)}s")
    return labels


def audio_labels(n_read: int, duration: float, cfg: MediaConfig) -> list[str]:
    """The labels of the `n_read` audio segments a clip's tower read: the regularly selected ones of
    `audio_segment_indices` (or the first n_read, for inputs not made by this media config)."""
    indices = audio_segment_indices(duration, cfg) if duration else []
    return segment_labels(indices if len(indices) == n_read else n_read, cfg.segment_seconds, duration)


def frame_labels(num_frames: int, duration: float) -> list[str]:
    """The times of `num_frames` frames sampled at segment centres over `duration` seconds."""
    return [f"{(j + 0.5) * duration / num_frames:.1f}s" for j in range(num_frames)]
