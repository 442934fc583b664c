"""An emotion timeline over a long clip's utterances.

    python -m merclip.timeline VIDEO [--srt FILE] [--checkpoint DIR] --out timeline.json

A one-to-ten-minute interview, vlog or call is cut into utterances, each utterance is scored by MER-CLIP like a
short clip, and the result is one row per utterance: its times, its words and each label's probability.

Utterances come from an `.srt`'s cue times when one is given (`subtitles`); otherwise from voice activity detection
(silero-vad, whose wheel ships its model: offline), merged or split into 2-15-s utterances (`voice`). Their words
come from the `.srt`, or are transcribed offline (`transcribe`: pocketsphinx in a child process) while the
utterances already transcribed are scored (`words`, `pipeline`). Which engine (and search) gave the words is recorded.

The file is read once and never held in memory: the audio track is decoded to 16-kHz mono (38 MB for ten minutes),
and the video frames each utterance needs are decoded in time order by one seeking decoder (`media.FrameSampler`).
Each utterance window becomes the same model inputs as the utterance cut into its own file would (`windows`;
tests/test_timeline.py checks the predictions are equal), and the windows go through `Predictor.predict_batch` a
batch at a time (`score`).
"""
from .base import (
    SAMPLE_RATE,
    NoSpeechError,
    Progress,
    Segmentation,
    SubtitleError,
    TimelineConfig,
    TimelineError,
    TimelineTooLongError,
    Utterance,
    check_long_clip,
    read_track,
)
from .cli import main
from .pipeline import analyse
from .result import Timeline, TimelineRow
from .score import predict_timeline, validate_utterances
from .segment import segment
from .subtitles import parse_srt, srt_timestamp
from .transcribe import (
    TRANSCRIBERS,
    PocketSphinxTranscriber,
    SphinxOptions,
    Transcribers,
    WhisperTranscriber,
    local_whisper,
)
from .voice import (
    VOICE_ACTIVITY,
    VoiceActivity,
    fixed_windows,
    shape_utterances,
    speech_intervals,
)
from .windows import decode_window
from .words import BackgroundWords

__all__ = [
    "SAMPLE_RATE", "TRANSCRIBERS", "VOICE_ACTIVITY", "BackgroundWords", "NoSpeechError", "PocketSphinxTranscriber",
    "Progress", "Segmentation", "SphinxOptions", "SubtitleError", "Timeline", "TimelineConfig", "TimelineError",
    "TimelineRow", "TimelineTooLongError", "Transcribers", "Utterance", "VoiceActivity", "WhisperTranscriber",
    "analyse", "check_long_clip", "decode_window", "fixed_windows", "local_whisper", "main", "parse_srt",
    "predict_timeline", "read_track", "segment", "shape_utterances", "speech_intervals", "srt_timestamp",
    "validate_utterances",
]
