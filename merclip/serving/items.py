"""What each attention key is, as axis labels: transcript tokens, frame times, audio segments.

Shared by the MER-CLIP and LSGMER predictors, so both name an audio segment the same way, from the media
config's segment length and the clip's own duration (the last segment of a 3-s clip is "2-3s", not "2-4s").
"""
from __future__ import annotations


def token_strings(tokenizer, ids: list[int]) -> list[str]:
    """Readable BPE pieces for attention-map axis labels."""
    decoder = getattr(tokenizer, "decoder", None)
    if decoder is None:
        return [str(i) for i in ids]
    return [decoder.get(int(i), "?").replace("</w>", "") for i in ids]


def _seconds(t: float) -> str:
    return f"{t:.1f}".rstrip("0").rstrip(".")


def segment_labels(n_segments: int, segment_seconds: float, duration: float | None = None) -> list[str]:
    """"0-2s", "2-4s", ... for `n_segments` audio segments of `segment_seconds`; the last one ends at the clip's
    `duration` when that is known and shorter."""
    labels = []
    for j in range(n_segments):
        start, end = j * segment_seconds, (j + 1) * segment_seconds
        if duration and duration > start:
            end = min(end, duration)
        labels.append(f"{_seconds(start)}-{_seconds(end)}s")
    return labels


def frame_labels(num_frames: int, duration: float) -> list[str]:
    """The times of `num_frames` frames sampled at segment centres over `duration` seconds."""
    return [f"{(j + 0.5) * duration / num_frames:.1f}s" for j in range(num_frames)]
