"""An emotion timeline over a long clip's utterances (issue #17).

    python -m merclip.timeline VIDEO [--srt FILE] [--checkpoint DIR] --out timeline.json

A one-to-ten-minute interview, vlog or call is cut into utterances, each utterance is scored by MER-CLIP like a
short clip, and the result is one row per utterance: its times, its words and each label's probability.

Utterances come from an `.srt`'s cue times when one is given; otherwise from voice activity detection (silero-vad,
whose wheel ships its model: offline), merged or split into 2-15-s utterances. Their words come from the `.srt`, or
are transcribed offline: faster-whisper / openai-whisper when their weights are already on the machine (never
downloaded), otherwise pocketsphinx (its wheel ships a US-English model). Which engine gave the words is recorded.

The file is read once and never held in memory: the audio track is decoded to 16-kHz mono (38 MB for ten minutes),
and the video frames each utterance needs are decoded in time order by one PyAV decoder that seeks forward over
the frames in between (`FrameSampler`). Each utterance window becomes the same model inputs as the utterance cut
into its own file would (`decode_window`; tests/test_timeline.py checks the predictions are equal), and the windows
go through `Predictor.predict_batch` a batch at a time.
"""
from __future__ import annotations

import argparse
import bisect
import csv
import io
import json
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
from av.video.reformatter import VideoReformatter

from ..config import MediaConfig
from ..errors import UserError
from ..media import (
    SEEK_MIN_GAP_SECONDS,
    EmptyMediaError,
    MediaTooLongError,
    NoVideoStreamError,
    UnreadableMediaError,
    _keyframe_times,
    _open,
    audio_images,
    check_size,
    file_identity,
    frame_image,
    frame_inputs,
    probe,
    read_audio,
    read_transcript,
    video_stream,
)
from ..media.decoded import ClipInputs

Progress = Callable[[float, str], None]
SAMPLE_RATE = 16000


class TimelineError(UserError):
    """A long clip cannot be turned into a timeline as given; the message says why."""


class NoSpeechError(TimelineError):
    pass


class SubtitleError(TimelineError):
    pass


class TimelineTooLongError(MediaTooLongError):
    pass


@dataclass
class TimelineConfig:
    min_seconds: float = 2.0  # utterances from VAD are merged (or padded) up to this length ...
    max_seconds: float = 15.0  # ... and split down to this one
    max_duration: float = 600.0  # longer files are refused from the container's duration, before any decoding
    merge_gap: float = 2.0  # a too-short utterance joins a neighbour at most this far away
    vad_threshold: float = 0.5
    min_silence: float = 0.5  # pauses shorter than this do not end an utterance
    no_audio_window: float = 10.0  # a clip without an audio track is cut into windows of this length
    batch_size: int = 8
    max_utterances: int = 1000
    transcriber: str = "auto"  # auto | whisper | pocketsphinx | none


@dataclass
class Utterance:
    start: float
    end: float
    text: str = ""

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Segmentation:
    """Where a clip's utterances are, with their words, and how both were found."""

    utterances: list[Utterance]
    source: str  # "srt" | "vad" | "windows" | "given"
    engine: str  # what produced the words
    duration: float
    has_audio: bool
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


# -- the long file: duration cap, audio track ------------------------------------------------------------------
def check_long_clip(video: str | Path, cfg: TimelineConfig, media_cfg: MediaConfig):
    """Probe the container (no decoding) and refuse what the timeline cannot take: returns `media.MediaInfo`."""
    info = probe(video)
    if not info.has_video:
        raise NoVideoStreamError(f"'{info.path.name}' has no video stream (it is audio only): upload a video clip")
    duration = info.duration or _packet_duration(info.path, cfg.max_duration)
    if duration > cfg.max_duration:
        raise TimelineTooLongError(
            f"'{info.path.name}' is {_clock(duration)} long; the timeline takes clips up to {_clock(cfg.max_duration)} "
            "(cut the recording into parts, or raise the limit: --max-minutes on the command line and in the app)")
    if duration <= 0:
        raise EmptyMediaError(f"'{info.path.name}' has no duration: it holds no decodable frames")
    check_size(info.path, media_cfg.max_file_mb)
    info.duration = duration
    return info


def _packet_duration(path: Path, cap: float) -> float:
    """A container without a duration in its header (webcam webm): the last packet time, read without decoding and
    given up just past `cap` (so a 2-hour recording is still refused quickly)."""
    last = 0.0
    with _open(path) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                last = max(last, float((packet.pts + (packet.duration or 0)) * packet.time_base))
                if last > cap:
                    break
    return last


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d} min"


def read_track(path: Path, duration: float) -> np.ndarray:
    """The whole audio track as 16-kHz mono float32 (decoded in one streaming pass)."""
    return read_audio(path, SAMPLE_RATE, duration + 1.0)


# -- utterances from subtitles ---------------------------------------------------------------------------------
def parse_srt(path: str | Path, duration: float, cfg: TimelineConfig | None = None,
              media_cfg: MediaConfig | None = None) -> tuple[list[Utterance], list[str]]:
    """Cue times and words of an `.srt`, checked against the clip: (utterances, notes).

    Malformed files and overlapping cues are refused with the cue numbers (overlapping cues would score the same
    seconds twice; a cue that starts before the previous one ends is most often a typing error); cues that run past
    the end of the video are cut at its end, and cues that start after it are dropped, both with a note.
    """
    import srt

    cfg = cfg or TimelineConfig()
    media_cfg = media_cfg or MediaConfig()
    path = Path(path)
    if path.suffix.lower() != ".srt":
        raise SubtitleError(f"'{path.name}' is not an .srt subtitle file")
    if not path.is_file() or path.stat().st_size == 0:
        raise SubtitleError(f"subtitle file '{path.name}' is missing or empty")
    if path.stat().st_size > 4 * media_cfg.max_transcript_chars + 4096:
        raise SubtitleError(f"subtitle file '{path.name}' is too large ({path.stat().st_size} bytes)")
    data = path.read_bytes()
    if b"\x00" in data:
        raise SubtitleError(f"subtitle file '{path.name}' is a binary file, not text")
    try:
        cues = list(srt.parse(data.decode("utf-8-sig")))
    except UnicodeDecodeError as exc:
        raise SubtitleError(f"subtitle file '{path.name}' is not UTF-8 text") from exc
    except srt.SRTParseError as exc:
        raise SubtitleError(f"'{path.name}' is not a valid .srt subtitle file ({exc})") from exc
    if not cues:
        raise SubtitleError(f"'{path.name}' holds no subtitle cues")
    notes, out, past, cut = [], [], [], []
    previous = None
    for number, cue in enumerate(cues, 1):
        start, end = cue.start.total_seconds(), cue.end.total_seconds()
        label = f"cue {cue.index if cue.index is not None else number}"
        if end <= start:
            raise SubtitleError(f"'{path.name}': {label} ends ({_stamp(end)}) before it starts ({_stamp(start)})")
        if previous is not None and start < previous[1] - 1e-6:
            raise SubtitleError(f"'{path.name}': {label} ({_stamp(start)} --> {_stamp(end)}) overlaps "
                                f"{previous[0]} (which ends at {_stamp(previous[1])}): give cues in time order, "
                                "one utterance at a time")
        previous = (label, end)
        if start >= duration - 0.05:
            past.append(label)
            continue
        if end > duration:
            cut.append(label)
            end = duration
        if end - start > media_cfg.max_seconds:
            raise SubtitleError(f"'{path.name}': {label} is {end - start:.1f} s long; an utterance can be at most "
                                f"{media_cfg.max_seconds:.0f} s (split the cue)")
        out.append(Utterance(start, end, " ".join(cue.content.split())))
    if past:
        notes.append(f"{len(past)} cue(s) start after the end of the video ({_stamp(duration)}) and were left out: "
                     f"{', '.join(past[:5])}{' …' if len(past) > 5 else ''}")
    if cut:
        notes.append(f"{', '.join(cut)} ran past the end of the video and were cut at {_stamp(duration)}")
    if not out:
        raise SubtitleError(f"every cue of '{path.name}' starts after the end of the video ({_stamp(duration)}): "
                            "is it the subtitle file of another video?")
    if len(out) > cfg.max_utterances:
        raise SubtitleError(f"'{path.name}' has {len(out)} cues; the timeline takes at most {cfg.max_utterances}")
    return out, notes


def _stamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


# -- utterances from voice activity ----------------------------------------------------------------------------
_VAD_LOCK = threading.Lock()
_VAD_MODEL = None


def load_vad():
    """silero-vad's packaged TorchScript model (no download, no onnxruntime), loaded once per process.

    Importing silero_vad calls torch.set_num_threads(1) for the whole process; the thread count is put back, so the
    app's and the CLI's model inference keep their threads.
    """
    global _VAD_MODEL
    with _VAD_LOCK:
        if _VAD_MODEL is None:
            import warnings

            threads = torch.get_num_threads()
            try:
                import silero_vad

                with warnings.catch_warnings():  # torch.jit.load's deprecation notice
                    warnings.simplefilter("ignore", FutureWarning)
                    _VAD_MODEL = silero_vad.load_silero_vad()
            finally:
                torch.set_num_threads(threads)
        return _VAD_MODEL


def speech_intervals(wave: np.ndarray, cfg: TimelineConfig | None = None) -> list[tuple[float, float]]:
    """(start, end) seconds of speech in a 16-kHz mono wave, by silero-vad."""
    from silero_vad import get_speech_timestamps

    cfg = cfg or TimelineConfig()
    if wave.size < SAMPLE_RATE // 10:
        return []
    model = load_vad()
    with _VAD_LOCK, torch.inference_mode():  # the TorchScript model keeps state between chunks: one user at a time
        stamps = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)), model,
                                       threshold=cfg.vad_threshold, sampling_rate=SAMPLE_RATE,
                                       min_silence_duration_ms=int(cfg.min_silence * 1000),
                                       max_speech_duration_s=cfg.max_seconds, speech_pad_ms=30)
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


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
    changed = True
    while changed:
        changed = False
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
                changed = True
                break
    out = []
    shortest = min(cfg.min_seconds, duration)
    for start, end in parts:
        if end - start < shortest:  # alone: widened around its centre, kept inside the clip
            centre = (start + end) / 2
            start = min(max(0.0, centre - shortest / 2), duration - shortest)
            end = start + shortest
        out.append((round(start, 3), round(end, 3)))
    return out


def fixed_windows(duration: float, window: float) -> list[tuple[float, float]]:
    n = max(1, math.ceil(duration / window - 1e-9))
    step = duration / n
    return [(round(i * step, 3), round((i + 1) * step, 3)) for i in range(n)]


# -- offline transcription -------------------------------------------------------------------------------------
class PocketSphinxTranscriber:
    """CMU pocketsphinx with the US-English acoustic model, dictionary and language model its wheel ships."""

    def __init__(self):
        from importlib.metadata import version

        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=SAMPLE_RATE)
        self._lock = threading.Lock()
        self.name = f"pocketsphinx {version('pocketsphinx')} (offline, CMU Sphinx US-English model)"

    def __call__(self, wave: np.ndarray) -> str:
        pcm = (np.clip(wave, -1, 1) * 32767).astype(np.int16).tobytes()
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
        return " ".join(hyp.hypstr.split()) if hyp is not None else ""


class WhisperTranscriber:
    """faster-whisper or openai-whisper on weights already on this machine (found by `local_whisper`)."""

    def __init__(self, kind: str, path: Path):
        self.kind, self.path = kind, path
        if kind == "faster-whisper":
            from faster_whisper import WhisperModel

            self._model = WhisperModel(str(path), device="cpu", compute_type="int8", local_files_only=True)
        else:
            import whisper

            self._model = whisper.load_model(str(path), device="cpu")
        self._lock = threading.Lock()
        self.name = f"{kind} (local weights: {path.name})"

    def __call__(self, wave: np.ndarray) -> str:
        with self._lock:
            if self.kind == "faster-whisper":
                segments, _ = self._model.transcribe(wave.astype(np.float32), language="en", beam_size=1)
                return " ".join(" ".join(s.text for s in segments).split())
            return " ".join(self._model.transcribe(wave.astype(np.float32), language="en", fp16=False)["text"].split())


def local_whisper() -> tuple[str, Path] | None:
    """(engine, weights) when faster-whisper or openai-whisper is installed and has weights on disk; never downloads.

    Looked for: $MERCLIP_WHISPER_MODEL (a faster-whisper model folder or a whisper .pt file); faster-whisper models in
    the Hugging Face cache (models--Systran--faster-whisper-*); openai-whisper's ~/.cache/whisper/*.pt.
    """
    import importlib.util

    has_fw = importlib.util.find_spec("faster_whisper") is not None
    has_ow = importlib.util.find_spec("whisper") is not None
    env = os.environ.get("MERCLIP_WHISPER_MODEL")
    if env:
        p = Path(env)
        if p.is_dir() and (p / "model.bin").is_file() and has_fw:
            return "faster-whisper", p
        if p.is_file() and p.suffix == ".pt" and has_ow:
            return "openai-whisper", p
    if has_fw:
        hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache" /
                                                                         "huggingface")) / "hub")
        for snap in sorted(hub.glob("models--Systran--faster-whisper-*/snapshots/*"), reverse=True):
            if (snap / "model.bin").is_file():
                return "faster-whisper", snap
    if has_ow:
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"
        for pt in sorted(cache.glob("*.pt")):
            return "openai-whisper", pt
    return None


_TRANSCRIBERS: dict[str, Any] = {}
_TRANSCRIBER_LOCK = threading.Lock()


def get_transcriber(prefer: str = "auto"):
    """The offline transcriber to use (shared, loaded once): whisper when its weights are here, else pocketsphinx.
    `prefer`: auto | whisper | pocketsphinx. None when `prefer` is "none"."""
    if prefer == "none":
        return None
    with _TRANSCRIBER_LOCK:
        found = local_whisper() if prefer in ("auto", "whisper") else None
        if prefer == "whisper" and found is None:
            raise TimelineError("no whisper weights on this machine (faster-whisper / openai-whisper): "
                                "choose pocketsphinx or give an .srt")
        key = f"{found[0]}:{found[1]}" if found else "pocketsphinx"
        if key not in _TRANSCRIBERS:
            _TRANSCRIBERS[key] = WhisperTranscriber(*found) if found else PocketSphinxTranscriber()
        return _TRANSCRIBERS[key]


# -- step 1: where the utterances are, and their words ---------------------------------------------------------
def segment(video: str | Path, srt_file: str | Path | None = None, cfg: TimelineConfig | None = None,
            media_cfg: MediaConfig | None = None, progress: Progress | None = None,
            wave: np.ndarray | None = None) -> Segmentation:
    """Utterances of a long clip (from `srt_file`, else VAD) with their words (from the cues, else transcribed)."""
    cfg, media_cfg = cfg or TimelineConfig(), media_cfg or MediaConfig()
    progress = progress or (lambda f, d: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    info = check_long_clip(video, cfg, media_cfg)
    duration, notes = info.duration, []
    if srt_file is not None:  # the cues say where and what: no audio needed here
        utterances, srt_notes = parse_srt(srt_file, duration, cfg, media_cfg)
        return Segmentation(utterances, "srt", "subtitles (.srt)", duration, info.has_audio, notes + srt_notes,
                            timings)
    if info.has_audio and wave is None:
        progress(0.02, "decoding the audio track")
        wave = read_track(info.path, duration)
        timings["decode_audio_track"] = time.perf_counter() - t0
    has_audio = info.has_audio and wave is not None and wave.size > 0
    if not has_audio:
        windows = fixed_windows(duration, cfg.no_audio_window)
        notes.append(f"no audio track: no voice to find utterances in, so the clip was cut into {len(windows)} "
                     f"windows of {windows[0][1] - windows[0][0]:.1f} s, scored from the frames only "
                     "(no audio, no transcript)")
        return Segmentation([Utterance(s, e, "") for s, e in windows], "windows", "none (no audio track)", duration,
                            False, notes, timings)
    progress(0.1, "finding speech (silero-vad)")
    t1 = time.perf_counter()
    intervals = speech_intervals(wave, cfg)
    timings["vad"] = time.perf_counter() - t1
    if not intervals:
        raise NoSpeechError(f"no speech found in '{info.path.name}' (voice activity detection found none in its "
                            f"{_clock(duration)} of audio): give an .srt with the utterance times to score it anyway")
    spans = shape_utterances(intervals, duration, cfg)
    if len(spans) > cfg.max_utterances:
        raise TimelineError(f"{len(spans)} utterances found; the timeline takes at most {cfg.max_utterances}")
    transcriber = get_transcriber(cfg.transcriber)
    utterances = [Utterance(s, e, "") for s, e in spans]
    engine = "none (no transcription asked for)"
    if transcriber is not None:
        t2 = time.perf_counter()
        for i, u in enumerate(utterances):
            progress(0.15 + 0.85 * i / len(utterances), f"transcribing utterance {i + 1} of {len(utterances)}")
            u.text = transcriber(wave[int(u.start * SAMPLE_RATE): int(u.end * SAMPLE_RATE)])
        timings["transcribe"] = time.perf_counter() - t2
        engine = transcriber.name
    notes.append(f"{len(intervals)} speech stretches found by silero-vad, shaped into {len(utterances)} utterances "
                 f"of {cfg.min_seconds:g}-{cfg.max_seconds:g} s")
    timings["segment_total"] = time.perf_counter() - t0
    return Segmentation(utterances, "vad", engine, duration, True, notes, timings)


# -- step 2: decode each utterance window, as if it were cut into its own file ---------------------------------
class FrameSampler:
    """Picks, for each target time in turn, the first frame at or after it, as `media.read_frames` does for a clip.

    One decoder for the whole file; targets are best given in time order: then the decoder runs forward, and seeks
    over a keyframe instead of decoding up to it when the target lies at least `SEEK_MIN_GAP_SECONDS` ahead. A
    target before the decoder's position (overlapping windows) seeks back. Only the last two frames are held.
    """

    def __init__(self, path: str | Path, duration: float):
        self.path = Path(path)
        self.keyframes = _keyframe_times(self.path, duration + 1.0)
        self.container = _open(self.path)
        self.stream = video_stream(self.container)
        self._frames = self.container.decode(self.stream)
        self.prev = self.cur = None
        self._image = (None, None)
        self._reformatter = VideoReformatter()  # one FFmpeg scaler for every frame converted (media.frame_image)
        self.decoded = 0
        self.seeks = 0

    def close(self) -> None:
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _seek(self, t: float) -> None:
        self.container.seek(max(0, int(t / self.stream.time_base)), stream=self.stream, backward=True)
        self._frames = self.container.decode(self.stream)
        self.prev = self.cur = None
        self.seeks += 1

    def _advance(self) -> bool:
        try:
            while True:
                frame = next(self._frames)
                if frame.time is not None:
                    break
        except StopIteration:
            return False
        except av.error.FFmpegError as exc:
            raise UnreadableMediaError(f"'{self.path.name}' is corrupt: video decoding failed ({exc})") from exc
        self.prev, self.cur = self.cur, frame
        self.decoded += 1
        return True

    def _keyframe_before(self, t: float) -> float:
        i = bisect.bisect_right(self.keyframes, t + 1e-6)
        return self.keyframes[i - 1] if i else 0.0

    def pick(self, target: float, stop: float):
        """The image of the first frame at or after `target` (the last one before `stop` when none is)."""
        eps = 1e-6
        if self.cur is None or (self.prev is not None and self.prev.time + eps >= target):
            self._seek(self._keyframe_before(target))  # first pick, or the answer lies behind the decoder
            if not self._advance():
                raise EmptyMediaError(f"'{self.path.name}' has no decodable frames after {target:.1f} s")
            if self.cur.time > target + eps and self.seeks > 0 and self.cur.time > (self.keyframes or [0.0])[0] + eps:
                self._seek(0.0)  # the seek overshot the target (a poor index): decode from the start
                self._advance()
        elif self.cur.time + eps < target:
            key = self._keyframe_before(target)
            if key > self.cur.time + eps and target - self.cur.time >= SEEK_MIN_GAP_SECONDS:
                self._seek(key)
                self._advance()
        while self.cur.time + eps < target and self._advance():
            pass
        frame = self.cur
        if frame.time > stop + eps and self.prev is not None:
            frame = self.prev
        if self._image[0] is not frame:
            self._image = (frame, frame_image(frame, self._reformatter))
        return self._image[1]


def decode_window(sampler: FrameSampler | None, wave: np.ndarray | None, start: float, end: float, text: str,
                  media_cfg: MediaConfig, mean, std) -> ClipInputs:
    """The model inputs of [start, end) of a long clip: what `media.load_clip` gives for the same cut as its own file
    (frames at the same relative times, the same audio samples, the same transcript handling)."""
    t0 = time.perf_counter()
    notes: list[str] = []
    duration = end - start
    text = read_transcript(text, media_cfg.max_transcript_chars)
    frames_t, thumbs = None, []
    if sampler is not None:
        n = media_cfg.num_frames
        frames = [sampler.pick(start + (i + 0.5) * duration / n, end) for i in range(n)]
        frames_t, thumbs, face_notes = frame_inputs(frames, media_cfg, mean, std)  # as media.load_clip makes them
        notes.extend(face_notes)
    t1 = time.perf_counter()
    audio_t = None
    if wave is None:
        notes.append("no audio track: audio modality absent")
    else:
        first = int(round(start * SAMPLE_RATE))
        piece = wave[first: first + int(duration * SAMPLE_RATE)]
        if piece.size == 0:
            notes.append("the audio track holds no samples here: audio modality absent")
        else:
            audio_t = audio_images(piece, media_cfg, duration, mean, std)
    if not text:
        notes.append("empty transcript: language modality absent")
    return ClipInputs(frames=frames_t, audio=audio_t, transcript=text, duration=duration, notes=notes,
                      timings={"decode_video": t1 - t0, "decode_audio": time.perf_counter() - t1}, thumbnails=thumbs)


@dataclass
class DecodedWindow:
    """A predict_batch source that is already decoded (see `predict._load_request`)."""

    cache_id: str
    inputs: ClipInputs

    def load_inputs(self, media_cfg, mean, std) -> ClipInputs:
        return self.inputs


# -- the timeline ----------------------------------------------------------------------------------------------
@dataclass
class TimelineRow:
    index: int
    start: float
    end: float
    text: str
    scores: dict[str, dict[str, float]]  # task -> label -> probability
    predicted: dict[str, list[str]]  # task -> labels above threshold / the argmax
    present: dict[str, bool]
    notes: list[str]


@dataclass
class Timeline:
    video: str
    duration: float
    source: str
    engine: str
    labels: dict[str, list[str]]  # task -> labels
    rows: list[TimelineRow]
    notes: list[str]
    timings: dict[str, float]
    results: dict[str, list] = field(default_factory=dict, repr=False)  # task -> PredictionResult per row (not saved)

    def to_dict(self) -> dict[str, Any]:
        return {"video": self.video, "duration": round(self.duration, 3), "utterances_from": self.source,
                "transcribed_by": self.engine, "labels": self.labels, "notes": self.notes,
                "timings": {k: round(v, 3) for k, v in self.timings.items()},
                "utterances": [{"index": r.index, "start": round(r.start, 3), "end": round(r.end, 3), "text": r.text,
                                "present": r.present, "notes": r.notes,
                                **{task: {"probabilities": {k: round(v, 5) for k, v in r.scores[task].items()},
                                          "predicted": r.predicted[task]} for task in self.labels}}
                               for r in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False)

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        header = ["index", "start", "end", "text"]
        for task, labels in self.labels.items():
            header += [f"{task}:{label}" for label in labels] + [f"{task}:predicted"]
        writer.writerow(header)
        for r in self.rows:
            row = [r.index, f"{r.start:.3f}", f"{r.end:.3f}", r.text]
            for task, labels in self.labels.items():
                row += [f"{r.scores[task][label]:.5f}" for label in labels] + [";".join(r.predicted[task])]
            writer.writerow(row)
        return buffer.getvalue()

    def table(self, task: str) -> list[list]:
        """Rows for a table view: #, start, end, words, predicted, then each label's probability."""
        return [[r.index, round(r.start, 2), round(r.end, 2), r.text, ", ".join(r.predicted[task]),
                 *[round(r.scores[task][l], 3) for l in self.labels[task]]] for r in self.rows]


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
                     progress: Progress | None = None, wave: np.ndarray | None = None) -> Timeline:
    """Score every utterance of `video` with `predictor.predict_batch`, a batch of windows at a time.

    `labels` maps a task to its label set (default: the checkpoint's for its own task, the built-in word labels for
    the other). A second task re-uses the cached features of the batch (only the label encoder and CMD re-run).
    """
    from ..config import DEFAULT_QUERY_WORD
    from ..labels import label_set

    cfg = cfg or TimelineConfig()
    media_cfg = predictor.media_cfg
    progress = progress or (lambda f, d: None)
    t0 = time.perf_counter()
    info = check_long_clip(video, cfg, media_cfg)
    utterances = validate_utterances(utterances, info.duration, cfg, media_cfg)
    notes = list(segmentation.notes) if segmentation else []
    timings = dict(segmentation.timings) if segmentation else {}
    if wave is None and info.has_audio:
        progress(0.02, "decoding the audio track")
        wave = read_track(info.path, info.duration)
    if wave is not None and wave.size == 0:
        wave = None
    if wave is None and not any("no audio track" in n for n in notes):
        notes.append("no audio track: each utterance is scored from its frames and words only")
    label_sets = {t: list((labels or {}).get(t) or (predictor.cfg.labels if t == predictor.cfg.task else
                                                    label_set(t, "word"))) for t in tasks}
    results: dict[str, list] = {t: [] for t in tasks}
    order = sorted(range(len(utterances)), key=lambda i: (utterances[i].start, utterances[i].end))
    key = file_identity(info.path)
    timings["decode_windows"] = timings["predict"] = 0.0
    by_index: dict[str, dict[int, Any]] = {t: {} for t in tasks}
    texts_by_index: dict[int, str] = {}
    with FrameSampler(info.path, info.duration) as sampler:
        for b in range(0, len(order), cfg.batch_size):
            chunk = order[b: b + cfg.batch_size]
            progress(0.05 + 0.95 * b / len(order), f"scoring utterances {b + 1}-{b + len(chunk)} of {len(order)}")
            t1 = time.perf_counter()
            windows = []
            for i in chunk:
                u = utterances[i]
                inputs = decode_window(sampler, wave, u.start, u.end, u.text, media_cfg, predictor._mean, predictor._std)
                windows.append(DecodedWindow(f"{key}|window:{u.start:.4f}-{u.end:.4f}", inputs))
            t2 = time.perf_counter()
            texts = [w.inputs.transcript for w in windows]
            for task in tasks:
                out = predictor.predict_batch(windows, texts, batch_size=len(windows), labels=label_sets[task],
                                              task=task, query_word=(predictor.cfg.query_word if task == predictor.cfg.task
                                                                     else DEFAULT_QUERY_WORD[task]))
                by_index[task].update(zip(chunk, out))
            texts_by_index.update(zip(chunk, texts))
            timings["decode_windows"] += t2 - t1
            timings["predict"] += time.perf_counter() - t2
        timings["frames_decoded"] = float(sampler.decoded)
    progress(1.0, "done")
    rows = []
    for i, u in enumerate(utterances):
        first = by_index[tasks[0]][i]
        for t in tasks:
            results[t].append(by_index[t][i])
        predicted = {}
        for t in tasks:
            r = by_index[t][i]
            predicted[t] = r.predicted if t == "emotion" else [max(r.probabilities, key=r.probabilities.get)]
        rows.append(TimelineRow(i + 1, u.start, u.end, texts_by_index[i], {t: dict(by_index[t][i].probabilities) for t in tasks},
                                predicted, dict(first.present), [n for n in first.notes]))
    timings["timeline_total"] = time.perf_counter() - t0
    return Timeline(info.path.name, info.duration, segmentation.source if segmentation else "given",
                    segmentation.engine if segmentation else "given", label_sets, rows, notes, timings, results)


def analyse(predictor, video: str | Path, srt_file: str | Path | None = None, cfg: TimelineConfig | None = None,
            progress: Progress | None = None, tasks: Sequence[str] = ("emotion", "sentiment")) -> Timeline:
    """Segment (and transcribe) then score: the whole timeline of one long clip in one call."""
    cfg = cfg or TimelineConfig()
    progress = progress or (lambda f, d: None)
    t0 = time.perf_counter()
    info = check_long_clip(video, cfg, predictor.media_cfg)
    progress(0.0, "decoding the audio track")
    wave = read_track(info.path, info.duration) if info.has_audio else None
    t1 = time.perf_counter()
    seg = segment(video, srt_file, cfg, predictor.media_cfg, progress=lambda f, d: progress(0.4 * f, d), wave=wave)
    seg.timings["decode_audio_track"] = t1 - t0
    timeline = predict_timeline(predictor, video, seg.utterances, tasks=tasks, cfg=cfg, segmentation=seg, wave=wave,
                                progress=lambda f, d: progress(0.4 + 0.6 * f, d))
    timeline.timings["total"] = time.perf_counter() - t0
    return timeline


# -- command line ----------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    parser = argparse.ArgumentParser(
        prog="python -m merclip.timeline",
        description="An emotion (and sentiment) timeline over a long clip's utterances: utterances from an .srt or "
                    "from voice activity detection, words from the .srt or transcribed offline, each utterance "
                    "scored by MER-CLIP. Writes JSON (and CSV with --csv).")
    parser.add_argument("video", help="the clip (mp4, mkv, webm, mov, ...), at most --max-minutes long")
    parser.add_argument("--srt", help="subtitles: their cue times are the utterances and their text the words")
    parser.add_argument("--checkpoint", help="MER-CLIP checkpoint directory (default: the shipped demo model)")
    parser.add_argument("--out", required=True, help="where to write the timeline JSON")
    parser.add_argument("--csv", help="also write one CSV row per utterance here")
    parser.add_argument("--device", help="cpu / cuda (default: cuda when available)")
    parser.add_argument("--transcriber", default="auto", choices=["auto", "whisper", "pocketsphinx", "none"],
                        help="offline transcription when there is no .srt (auto: whisper if its weights are on this "
                             "machine, else pocketsphinx)")
    parser.add_argument("--max-minutes", type=float, default=10.0, help="longest clip accepted")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--tasks", default="emotion,sentiment", help="comma-separated: emotion, sentiment")
    args = parser.parse_args(argv)

    from ..shipped import DEFAULT_CHECKPOINT
    from .predictor import Predictor

    cfg = TimelineConfig(max_duration=args.max_minutes * 60, batch_size=args.batch_size, transcriber=args.transcriber)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    bar = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}]")

    def progress(fraction: float, desc: str) -> None:
        bar.set_description(desc[:48])
        bar.update(max(0.0, 100 * fraction - bar.n))

    try:
        check_long_clip(args.video, cfg, MediaConfig())  # refuse a too-long file before loading the model
        predictor = Predictor.from_checkpoint(args.checkpoint or DEFAULT_CHECKPOINT, device=args.device)
        timeline = analyse(predictor, args.video, args.srt, cfg, progress=progress, tasks=tasks)
    except UserError as exc:
        bar.close()
        parser.exit(2, f"error: {exc}\n")
    bar.close()
    Path(args.out).write_text(timeline.to_json())
    if args.csv:
        Path(args.csv).write_text(timeline.to_csv())
    print(f"{len(timeline.rows)} utterances ({timeline.source}; words: {timeline.engine}) over "
          f"{timeline.duration:.1f} s in {timeline.timings['total']:.1f} s -> {args.out}")
    for note in timeline.notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
