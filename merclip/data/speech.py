"""Speech from text with espeak-ng (Debian package), with prosody that can depend on the emotion.

Why: the first generator's "voices" were harmonic tones, which no real recording resembles. espeak-ng speaks
the transcript itself, in many voices and variants, so the audio tower hears words, rhythm and pitch as in speech;
for training clips (`Prosody.for_emotions`) the pitch, rate, loudness and word gaps follow the emotions, as acted
speech does (louder and faster when angry, slower and lower when sad, higher when afraid or surprised). espeak-ng
has no emotional model of its own: these offsets are this project's choice, and what the audio tower can learn from
them is only as real as they are.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
TRAINING_VOICES = ("en-us+m1", "en-us+m3", "en-us+f1", "en-us+f2", "en-gb+m2", "en-gb+f3", "en-gb-scotland+m4",
                   "en-029+f4", "en-gb-x-rp+m7", "en-us+f5")

# per emotion: (pitch offset 0-99 scale, rate factor, amplitude factor, word gap in 10 ms)
EMOTION_PROSODY: dict[str, tuple[float, float, float, int]] = {
    "happy": (+15, 1.10, 1.15, 0),
    "sad": (-15, 0.75, 0.70, 2),
    "angry": (-5, 1.20, 1.60, 0),
    "surprise": (+25, 1.05, 1.25, 0),
    "disgust": (-10, 0.85, 0.95, 1),
    "fear": (+20, 1.25, 0.85, 0),
}


class SpeechSynthesisError(RuntimeError):
    """espeak-ng is missing or failed; the message says how to install it."""


@dataclass(frozen=True)
class Prosody:
    voice: str = "en-us"
    pitch: int = 50  # espeak-ng -p, 0-99
    rate: int = 165  # -s, words per minute
    amplitude: int = 100  # -a, 0-200
    word_gap: int = 0  # -g, 10 ms units

    @classmethod
    def for_emotions(cls, emotions: Iterable[str], voice: str, rng: np.random.Generator) -> "Prosody":
        """A speaker's base prosody (random around espeak's defaults), shifted by each emotion present."""
        pitch, rate, amp, gap = rng.uniform(35, 65), rng.uniform(145, 185), rng.uniform(85, 115), 0
        for e in emotions:
            dp, fr, fa, g = EMOTION_PROSODY[e]
            pitch, rate, amp, gap = pitch + dp, rate * fr, amp * fa, gap + g
        return cls(voice, int(np.clip(pitch, 0, 99)), int(np.clip(rate, 80, 320)), int(np.clip(amp, 20, 200)), gap)


def speak(text: str, prosody: Prosody = Prosody()) -> np.ndarray:
    """espeak-ng's rendering of `text`, mono float32 at SAMPLE_RATE."""
    import librosa
    import soundfile as sf

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechSynthesisError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        cmd = [exe, "-v", prosody.voice, "-p", str(prosody.pitch), "-s", str(prosody.rate), "-a", str(prosody.amplitude),
               "-g", str(prosody.word_gap), "-w", str(wav), text]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not wav.is_file():
            raise SpeechSynthesisError(f"espeak-ng failed for voice {prosody.voice!r}: {done.stderr.strip()[:200]}")
        audio, rate_in = sf.read(str(wav), dtype="float32", always_2d=True)
    return librosa.resample(audio.mean(axis=1), orig_sr=rate_in, target_sr=SAMPLE_RATE).astype(np.float32)


def with_silence(wave: np.ndarray, seconds: float = 0.25) -> np.ndarray:
    """`wave` with `seconds` of silence before and after it: a generated clip starts and ends quietly, as a recording does."""
    pad = np.zeros(int(round(seconds * SAMPLE_RATE)), np.float32)
    return np.concatenate([pad, wave, pad])


SPEECH_THREADS = 4  # espeak-ng runs as a subprocess: threads keep every core busy while they wait on it


def speak_all(requests: list[tuple[str, Prosody]], threads: int = SPEECH_THREADS) -> list[np.ndarray]:
    """`with_silence(speak(text, prosody))` clipped to [-1, 1] (loudness as espeak-ng's -a made it) for every
    request, in `threads` threads: the same waves, in the same order, as one loop would give."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda r: np.clip(with_silence(speak(*r)), -1.0, 1.0), requests))
