"""One clip file -> the model's inputs (`load_clip`), and the one place those inputs are assembled from a clip's
frames, audio samples and words (`assemble_inputs`), for a whole file and for a window of a long one alike."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..config import MediaConfig
from .audio import audio_images, decode_audio
from .decoded import ClipInputs
from .errors import MediaTooLongError, NoVideoStreamError
from .frames import FrameInputs, video_inputs
from .probe import MediaInfo, check_file, check_size, describe, open_media
from .threads import FRAME_POOL, Offloaded
from .transcript import transcript_from

NO_AUDIO_TRACK = "no audio track: audio modality absent"
NO_AUDIO_SAMPLES = "the audio track holds no samples: audio modality absent"
EMPTY_TRANSCRIPT = "empty transcript: language modality absent"


def assemble_inputs(frames: Callable[[], FrameInputs] | None, wave: np.ndarray | None, text: str, duration: float,
                    cfg: MediaConfig, mean, std, notes: list[str] | None = None,
                    timings: dict[str, float] | None = None) -> ClipInputs:
    """A clip's frames, mono wave (16 kHz) and words -> ClipInputs, with a note for each absent modality.

    `frames()` decodes the video (None: no video stream) on this thread while the log-mel images of `wave` (None: no
    audio track) are made on the frame pool: PyAV takes the GIL back for every packet and frame, so a decode
    beside Python work (librosa, a resampler loop) waits for it, while torch's and PIL's work runs without it."""
    notes, timings = list(notes or []), dict(timings or {})
    timings.setdefault("decode_audio", 0.0)
    timings.setdefault("decode_video", 0.0)
    t0 = time.perf_counter()
    has_audio = wave is not None and wave.size > 0
    audio_job = Offloaded(FRAME_POOL.executor(), audio_images, wave, cfg, duration or len(wave) / cfg.sample_rate,
                          mean, std) if has_audio else None
    t1 = time.perf_counter()
    frames_t, thumbnails, frame_notes = frames() if frames is not None else (None, [], [])
    t2 = time.perf_counter()
    audio_t = audio_job.result() if audio_job is not None else None
    timings["decode_audio"] += (t1 - t0) + (time.perf_counter() - t2)
    timings["decode_video"] += t2 - t1
    notes.extend(frame_notes)
    if not has_audio:
        notes.append(NO_AUDIO_TRACK if wave is None else NO_AUDIO_SAMPLES)
    if not text:
        notes.append(EMPTY_TRANSCRIPT)
    return ClipInputs(frames=frames_t, audio=audio_t, transcript=text, duration=duration, notes=notes,
                      timings=timings, thumbnails=thumbnails)


def load_clip(
    video: str | Path,
    transcript: str | None,
    cfg: MediaConfig,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    audio: str | Path | None = None,
    require_video: bool = True,
    transcript_file: str | Path | None = None,
) -> ClipInputs:
    """Validate and decode one clip into model inputs.

    `transcript` is text (never opened); `transcript_file` is a .txt / .srt file to read instead.

    `audio` optionally points at a separate audio file (CMU-MOSEI ships WAVs beside the videos);
    otherwise the video's own audio track is used, and a video without one yields audio=None.
    `require_video=False` accepts an audio-only file (audio+text models such as LSGMER on IEMOCAP): frames=None.
    """
    t0 = time.perf_counter()
    text = transcript_from(transcript, transcript_file, cfg.max_transcript_chars)
    check_size(video, cfg.max_file_mb)
    path = Path(video)
    with open_media(path) as container:  # one open for the header and, where the clip carries it, the audio track
        info = describe(container, path)
        duration, notes = _analysed_duration(info, cfg, require_video)
        t_audio = time.perf_counter()
        if audio is None:
            wave = _track_wave(container, path, info.has_audio, duration, cfg)
    if audio is not None:  # a separate audio file (CMU-MOSEI's WAVs)
        source = check_file(audio)
        with open_media(source) as audio_container:
            wave = _track_wave(audio_container, source, describe(audio_container, source).has_audio, duration, cfg)
    t_video = time.perf_counter()
    frames = (lambda: video_inputs(info.path, duration, cfg, mean, std)) if info.has_video else None
    return assemble_inputs(frames, wave, text, duration, cfg, mean, std, notes,
                           {"decode_audio": t_video - t_audio, "decode_video": t_audio - t0})


def _analysed_duration(info: MediaInfo, cfg: MediaConfig, require_video: bool) -> tuple[float, list[str]]:
    """The seconds of the clip to analyse, and a note where that is less than all of it; refuses what cannot be."""
    name = info.path.name
    if not info.has_video and require_video:
        raise NoVideoStreamError(f"'{name}' has no video stream (it is audio only): upload a video clip")
    if info.duration <= cfg.max_seconds:
        return info.duration, []
    if cfg.long_clip == "refuse":
        raise MediaTooLongError(f"'{name}' is {info.duration:.1f} s long; the limit is {cfg.max_seconds:.0f} s "
                                "(trim the clip, or analyse its first window with long_clip='window')")
    return cfg.max_seconds, [f"clip is {info.duration:.1f} s long: only its first {cfg.max_seconds:.0f} s were analysed"]


def _track_wave(container, path: Path, has_audio: bool, duration: float, cfg: MediaConfig) -> np.ndarray | None:
    """The container's audio track as a 16-kHz mono wave, or None where there is none."""
    if not has_audio:
        return None
    return decode_audio(container, path, cfg.sample_rate, min(duration, cfg.max_seconds) if duration else cfg.max_seconds)
