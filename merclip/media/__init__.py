"""Decode a talking clip into the model's inputs, validating it on the way.

Vision: `num_frames` uniformly spaced RGB frames (paper: 12), CLIP-preprocessed (`frames`).
Audio: 2-s log-mel images of the 16-kHz mono track, T_A = ceil(duration / 2) (`audio`).
Language: a transcript string, or a .txt / .srt file, never both (`transcript`).

Every failure is a `MediaError` subclass whose message names the file and the problem (`errors`); a missing audio
track is not an error: the audio modality is then absent. `load_clip` (`clip`) puts the three together; `probe`
checks files before decoding; `threads` owns the front end's threads. The public names are re-exported here.
"""
from .audio import (
    audio_images,
    audio_segment_indices,
    decode_audio,
    log_mel_images,
    log_mel_unit,
    mel_basis,
    num_audio_segments,
    read_audio,
)
from .clip import (
    EMPTY_TRANSCRIPT,
    NO_AUDIO_SAMPLES,
    NO_AUDIO_TRACK,
    assemble_inputs,
    load_clip,
)
from .decoded import ClipInputs, normalise_images, normalise_into_channels
from .errors import (
    EmptyMediaError,
    FileTooLargeError,
    MediaError,
    MediaTooLongError,
    NoVideoStreamError,
    TranscriptError,
    UnreadableMediaError,
    UnsupportedFileTypeError,
)
from .frames import (
    SEEK_MIN_GAP_SECONDS,
    FrameInputs,
    FrameSampler,
    frame_image,
    frame_inputs,
    frames_to_tensor,
    pipelined_frame_inputs,
    read_frames,
    video_inputs,
    video_stream,
)
from .probe import (
    AUDIO_SUFFIXES,
    MEDIA_SUFFIXES,
    VIDEO_SUFFIXES,
    MediaInfo,
    check_file,
    check_size,
    describe,
    file_identity,
    keyframe_times,
    open_media,
    packet_duration,
    probe,
)
from .threads import FRAME_POOL, FramePool, Offloaded, set_threads, single_threaded_blas
from .transcript import (
    TRANSCRIPT_SUFFIXES,
    Cue,
    read_text_file,
    read_transcript,
    read_transcript_file,
    srt_cues,
    transcript_from,
)

__all__ = [
    "AUDIO_SUFFIXES", "EMPTY_TRANSCRIPT", "FRAME_POOL", "MEDIA_SUFFIXES", "NO_AUDIO_SAMPLES", "NO_AUDIO_TRACK",
    "SEEK_MIN_GAP_SECONDS", "TRANSCRIPT_SUFFIXES", "VIDEO_SUFFIXES", "ClipInputs", "Cue", "EmptyMediaError",
    "FileTooLargeError", "FrameInputs", "FramePool", "FrameSampler", "MediaError", "MediaInfo", "MediaTooLongError",
    "NoVideoStreamError", "Offloaded", "TranscriptError", "UnreadableMediaError", "UnsupportedFileTypeError",
    "assemble_inputs", "audio_images", "audio_segment_indices", "check_file", "check_size", "decode_audio", "describe", "file_identity",
    "frame_image", "frame_inputs", "frames_to_tensor", "keyframe_times", "load_clip", "log_mel_images", "log_mel_unit",
    "mel_basis", "normalise_images", "normalise_into_channels", "num_audio_segments", "open_media", "packet_duration",
    "pipelined_frame_inputs",
    "probe", "read_audio", "read_frames", "read_text_file", "read_transcript", "read_transcript_file", "set_threads",
    "single_threaded_blas", "srt_cues", "transcript_from", "video_inputs", "video_stream",
]
