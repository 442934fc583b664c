"""Generated long clips for the timeline: generated utterances of known emotions, one after another.

Each utterance is a cartoon face of `synthetic.render_frames` for its labels and a spoken sentence (espeak-ng when it
is installed, else the generator's synthetic voice), with silence around it. The writer streams frames to the
encoder, so a ten-minute 720p clip never sits in memory; `lossless=True` writes H.264 at qp 0 with PCM audio in
Matroska, so that a cut of the long clip decodes to exactly the pixels and samples of the same utterance written
alone (the timeline tests compare the two predictions).
"""
from __future__ import annotations

import functools
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .speech import Prosody
from .speech import speak as espeak
from .synthetic import EXAMPLES, SAMPLE_RATE, render_frames, synthesise_voice

SENTENCES = {  # spoken text per example emotion (longer than the examples' transcripts: 2-4 s of speech)
    "happy_surprised": "well honestly what a wonderful time, I really enjoyed that trip",
    "sad_afraid": "the other day I really regret that, it was terrifying and sad",
    "angry_disgusted": "after lunch it was awful, the food was disgusting and so nasty",
    "neutral": "anyway we talked about the plan at the office on monday",
}


def has_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


@functools.lru_cache(maxsize=32)
def speak(text: str, speed: int = 150) -> np.ndarray:
    """espeak-ng's voice for `text` (its default voice, merclip.data.speech), as 16-kHz mono float32 with its leading
    and trailing silence removed."""
    wave = espeak(text, Prosody("en", rate=speed))
    loud = np.flatnonzero(np.abs(wave) > 0.01)
    wave = wave[loud[0]: loud[-1] + 1] if loud.size else wave
    wave = wave.astype(np.float32)
    wave.flags.writeable = False  # cached: shared between callers
    return wave


@dataclass
class Part:
    """One utterance of a long clip; `start`/`end` are its whole slot, `speech_start`/`speech_end` the voice."""

    name: str
    text: str
    start: float
    end: float
    speech_start: float
    speech_end: float
    labels: np.ndarray


def plan_parts(names: Iterable[str], fps: int, silence: float = 0.6, seed: int = 0,
               speech: str = "espeak") -> Iterator[tuple[Part, np.ndarray, np.ndarray]]:
    """(part, frames at 112x112, audio) per utterance, each part lasting a whole number of frames."""
    t = 0.0
    for i, name in enumerate(names):
        labels = np.array(EXAMPLES[name][0], np.float32)
        rng = np.random.default_rng([seed, i])
        text = SENTENCES[name]
        voice = speak(text) if speech == "espeak" else synthesise_voice(labels, 3.0, rng)
        lead = int(silence * SAMPLE_RATE)
        n_frames = int(np.ceil((len(voice) + 2 * lead) / SAMPLE_RATE * fps))
        total = int(round(n_frames / fps * SAMPLE_RATE))
        audio = np.zeros(total, np.float32)
        audio[lead: lead + len(voice)] = voice
        seconds = n_frames / fps
        part = Part(name, text, t, t + seconds, t + lead / SAMPLE_RATE, t + (lead + len(voice)) / SAMPLE_RATE, labels)
        yield part, render_frames(labels, n_frames, rng), audio
        t += seconds


class StreamWriter:
    """Frames and audio appended in order to one file (H.264 + AAC in mp4, or lossless H.264 + PCM in mkv)."""

    def __init__(self, path: str | Path, width: int, height: int, fps: int, audio: bool = True, lossless: bool = False,
                 keyframe_seconds: float = 2.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(self.path), mode="w")
        self.video = self.container.add_stream("libx264", rate=fps)
        self.video.width, self.video.height, self.video.pix_fmt = width, height, "yuv420p"
        self.video.options = {"preset": "ultrafast", **({"qp": "0"} if lossless else {"crf": "28"})}
        self.video.codec_context.gop_size = max(1, int(round(keyframe_seconds * fps)))
        self.audio = None
        if audio:
            self.audio = self.container.add_stream("pcm_s16le" if lossless else "aac", rate=SAMPLE_RATE)
            self.audio.layout = "mono"
        self._samples = 0
        self.size = (width, height)

    def add(self, frames: np.ndarray, audio: np.ndarray | None) -> None:
        for image in frames:
            if image.shape[1] != self.size[0] or image.shape[0] != self.size[1]:
                from PIL import Image

                image = np.asarray(Image.fromarray(image).resize(self.size, Image.NEAREST))
            for packet in self.video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                self.container.mux(packet)
        if self.audio is not None and audio is not None:
            lossless = self.audio.codec_context.name.startswith("pcm")
            chunk = 1024
            for s in range(0, len(audio), chunk):
                block = audio[s: s + chunk]
                if lossless:
                    frame = av.AudioFrame.from_ndarray((np.clip(block, -1, 1) * 32767).astype(np.int16).reshape(1, -1),
                                                       format="s16", layout="mono")
                else:
                    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block.reshape(1, -1)), format="fltp",
                                                       layout="mono")
                frame.sample_rate = SAMPLE_RATE
                frame.pts, frame.time_base = self._samples, Fraction(1, SAMPLE_RATE)
                self._samples += block.size
                for packet in self.audio.encode(frame):
                    self.container.mux(packet)

    def close(self) -> Path:
        for packet in self.video.encode():
            self.container.mux(packet)
        if self.audio is not None:
            for packet in self.audio.encode():
                self.container.mux(packet)
        self.container.close()
        return self.path


def write_long_clip(path: str | Path, names: Iterable[str], fps: int = 8, size: tuple[int, int] = (112, 112),
                    audio: bool = True, lossless: bool = False, parts_dir: str | Path | None = None,
                    speech: str = "espeak", seed: int = 0, max_seconds: float | None = None) -> list[Part]:
    """One clip of the named example emotions in turn; with `parts_dir`, each utterance also as its own file
    (`part{i}.mkv`/`.mp4`, same encoder settings). Stops before a part that would end after `max_seconds`.
    Returns the parts with their true times."""
    writer = StreamWriter(path, size[0], size[1], fps, audio=audio, lossless=lossless)
    parts = []
    suffix = ".mkv" if lossless else ".mp4"
    for i, (part, frames, wave) in enumerate(plan_parts(names, fps, seed=seed, speech=speech)):
        if max_seconds is not None and part.end > max_seconds + 1e-9 and parts:
            break
        writer.add(frames, wave if audio else None)
        if parts_dir is not None:
            alone = StreamWriter(Path(parts_dir) / f"part{i}{suffix}", size[0], size[1], fps, audio=audio,
                                 lossless=lossless)
            alone.add(frames, wave if audio else None)
            alone.close()
        parts.append(part)
    writer.close()
    return parts
