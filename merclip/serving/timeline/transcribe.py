"""Offline transcription of utterances: faster-whisper / openai-whisper when their weights are already on the
machine (never downloaded), otherwise pocketsphinx (its wheel ships a US-English model)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from .base import SAMPLE_RATE, TimelineError


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


class Transcribers:
    """The process's offline transcribers, each loaded once and shared; `find_whisper` says which whisper weights
    are on this machine (`local_whisper`)."""

    def __init__(self, find_whisper=local_whisper):
        self.find_whisper = find_whisper
        self._loaded: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, prefer: str = "auto"):
        """The transcriber to use: whisper when its weights are here, else pocketsphinx.
        `prefer`: auto | whisper | pocketsphinx | none (None then)."""
        if prefer == "none":
            return None
        with self._lock:
            found = self.find_whisper() if prefer in ("auto", "whisper") else None
            if prefer == "whisper" and found is None:
                raise TimelineError("no whisper weights on this machine (faster-whisper / openai-whisper): "
                                    "choose pocketsphinx or give an .srt")
            key = f"{found[0]}:{found[1]}" if found else "pocketsphinx"
            if key not in self._loaded:
                self._loaded[key] = WhisperTranscriber(*found) if found else PocketSphinxTranscriber()
            return self._loaded[key]


TRANSCRIBERS = Transcribers()
