"""Offline transcription of utterances: faster-whisper / openai-whisper when their weights are already on the
machine (never downloaded), otherwise pocketsphinx (its wheel ships a US-English model), which decodes in a child
process with a pruned search (`SphinxOptions`) unless pocketsphinx's own is asked for."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .base import TimelineError
from .sphinx_worker import read_message, write_message


@dataclass(frozen=True)
class SphinxOptions:
    """pocketsphinx's search settings (keys of its Config). The defaults prune harder than pocketsphinx's own
    (`pocketsphinx_defaults`), for about 2/3 of the CPU time and the same word-error rate on espeak-ng speech
    (`bench/asr_options.py`; the figures are in docs/benchmarks.md)."""

    maxhmmpf: int = 3000  # most HMMs searched per frame (pocketsphinx: 30000)
    maxwpf: int = -1  # most distinct words ending per frame (-1: no limit)
    fwdflat: bool = True  # a second, flat-lexicon pass over the utterance
    bestpath: bool = True  # rescoring the word lattice
    topn: int = 4  # Gaussians scored per senone
    beam: float = 1e-48  # HMM pruning beam
    wbeam: float = 7e-29  # word-exit pruning beam
    ds: int = 1  # frames downsampled by this factor

    @classmethod
    def pocketsphinx_defaults(cls) -> SphinxOptions:
        return cls(maxhmmpf=30000)

    def config(self) -> dict:
        """The settings as Decoder keyword arguments."""
        return asdict(self)

    def describe(self) -> str:
        """What differs from pocketsphinx's own defaults, for the engine's name."""
        own = asdict(self.pocketsphinx_defaults())
        changed = [f"{k} {'on' if v is True else 'off' if v is False else f'{v:g}'}"
                   for k, v in asdict(self).items() if v != own[k]]
        return ", ".join(changed) if changed else "pocketsphinx's default search"


class SphinxWorker:
    """One pocketsphinx decoder in a child process (`sphinx_worker`: the bindings keep the GIL while decoding),
    started on first use and again after it stopped; one utterance at a time."""

    def __init__(self, options: SphinxOptions):
        self.options = options
        self._process: subprocess.Popen | None = None
        self._errors = None
        self._lock = threading.Lock()

    def _running(self) -> subprocess.Popen:
        """The child process, started when there is none (or it stopped)."""
        if self._process is None or self._process.poll() is not None:
            self.close()
            self._errors = tempfile.TemporaryFile()
            self._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("sphinx_worker.py")), json.dumps(self.options.config())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors)
        return self._process

    def __call__(self, pcm: bytes) -> str:
        """The words of one utterance of 16-kHz mono int16 PCM."""
        with self._lock:
            process = self._running()
            try:
                write_message(process.stdin, pcm)
                reply = read_message(process.stdout)
            except OSError:  # a broken pipe: the child has gone
                reply = None
            if reply is None:
                raise TimelineError(f"the pocketsphinx worker stopped (exit status {process.wait()}): "
                                    f"{self._error_tail()}")
            return reply.decode("utf-8")

    def _error_tail(self) -> str:
        """The end of what the child wrote to stderr."""
        self._errors.seek(0)
        return self._errors.read().decode(errors="replace")[-500:].strip() or "no message"

    def close(self) -> None:
        """Stop the child (it ends at the end of its input) and drop its stderr file."""
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process.stdout.close()
            self._process = None
        if self._errors is not None:
            self._errors.close()
            self._errors = None


class PocketSphinxTranscriber:
    """CMU pocketsphinx with the US-English acoustic model, dictionary and language model its wheel ships, decoding
    in a child process (`SphinxWorker`) with `options`; the name says which."""

    def __init__(self, options: SphinxOptions | None = None):
        from importlib.metadata import version

        self.options = options or SphinxOptions()
        self._worker = SphinxWorker(self.options)
        self.name = (f"pocketsphinx {version('pocketsphinx')} (offline, CMU Sphinx US-English model; "
                     f"{self.options.describe()})")

    def __call__(self, wave: np.ndarray) -> str:
        return self._worker((np.clip(wave, -1, 1) * 32767).astype(np.int16).tobytes())

    def close(self) -> None:
        self._worker.close()


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

    def get(self, prefer: str = "auto", search: str = "pruned"):
        """The transcriber to use: whisper when its weights are here, else pocketsphinx.
        `prefer`: auto | whisper | pocketsphinx | none (None then); `search`: pocketsphinx's, pruned
        (`SphinxOptions()`) | default (pocketsphinx's own settings)."""
        if prefer == "none":
            return None
        if search not in SPHINX_SEARCHES:
            raise TimelineError(f"unknown pocketsphinx search {search!r}: {' or '.join(SPHINX_SEARCHES)}")
        with self._lock:
            found = self.find_whisper() if prefer in ("auto", "whisper") else None
            if prefer == "whisper" and found is None:
                raise TimelineError("no whisper weights on this machine (faster-whisper / openai-whisper): "
                                    "choose pocketsphinx or give an .srt")
            key = f"{found[0]}:{found[1]}" if found else f"pocketsphinx:{search}"
            if key not in self._loaded:
                self._loaded[key] = WhisperTranscriber(*found) if found else \
                    PocketSphinxTranscriber(SPHINX_SEARCHES[search]())
            return self._loaded[key]


SPHINX_SEARCHES = {"pruned": SphinxOptions, "default": SphinxOptions.pocketsphinx_defaults}
TRANSCRIBERS = Transcribers()
