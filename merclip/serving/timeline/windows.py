"""Step 2 of a timeline: each utterance window of the long file decoded as if it were cut into its own file."""
from __future__ import annotations

import functools

import numpy as np

from ...config import MediaConfig
from ...media import (
    ClipInputs,
    FrameSampler,
    assemble_inputs,
    pipelined_frame_inputs,
    read_transcript,
)
from .base import SAMPLE_RATE


def decode_window(sampler: FrameSampler | None, wave: np.ndarray | None, start: float, end: float, text: str,
                  media_cfg: MediaConfig, mean, std) -> ClipInputs:
    """The model inputs of [start, end) of a long clip: what `media.load_clip` gives for the same cut as its own file
    (frames at the same relative times, the same audio samples, the same transcript handling). `sampler`: the file's
    one decoder (None: no video); `wave`: its whole audio track at 16 kHz (None: no audio track)."""
    duration = end - start
    text = read_transcript(text, media_cfg.max_transcript_chars)
    frames = None if sampler is None else functools.partial(
        pipelined_frame_inputs, functools.partial(sampler.sample, start, end, media_cfg.num_frames), media_cfg, mean, std)
    piece = None
    if wave is not None:
        first = int(round(start * SAMPLE_RATE))
        piece = wave[first: first + int(duration * SAMPLE_RATE)]
    return assemble_inputs(frames, piece, text, duration, media_cfg, mean, std)
