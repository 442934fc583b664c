"""Utterances' words from the audio track: all of them in order before anything is scored (`transcribe_in_order`,
what `segment` returns), or on a thread beside the scoring (`BackgroundWords`, what `analyse` uses), which waits
only for the utterances of the batch it is about to score. The words are the same either way: each utterance is
transcribed alone, from the same samples."""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from .base import SAMPLE_RATE, Progress, Utterance, no_progress


def utterance_audio(wave: np.ndarray, start: float, end: float) -> np.ndarray:
    """The samples of [start, end) s of a 16-kHz track: what the transcriber hears of an utterance."""
    return wave[int(start * SAMPLE_RATE): int(end * SAMPLE_RATE)]


def transcribe_in_order(transcriber, wave: np.ndarray, utterances: Sequence[Utterance],
                        progress: Progress = no_progress) -> None:
    """Write each utterance's words into it, one utterance after another."""
    for i, u in enumerate(utterances):
        progress(i / len(utterances), f"transcribing utterance {i + 1} of {len(utterances)}")
        u.text = transcriber(utterance_audio(wave, u.start, u.end))


class BackgroundWords:
    """The words of `utterances`, transcribed in their order on a thread of their own. A transcriber that works
    outside the GIL (pocketsphinx's child process, whisper's native code) then runs beside the caller's frame
    decoding and scoring; `fill` waits only for the utterances asked for."""

    def __init__(self, transcriber, wave: np.ndarray, utterances: Sequence[Utterance]):
        self._spans = [(u.start, u.end) for u in utterances]
        self._texts: list[str | None] = [None] * len(self._spans)
        self._error: BaseException | None = None
        self._ready = threading.Condition()
        self._stop = threading.Event()
        self.seconds = 0.0  # from the first utterance started to the last one transcribed
        self.waited = 0.0  # how long `fill` waited for words
        self._thread = threading.Thread(target=self._run, args=(transcriber, wave), name="timeline-words", daemon=True)
        self._thread.start()

    def _run(self, transcriber, wave: np.ndarray) -> None:
        """Transcribe every span in order (stopping early when closed); an error is kept for `fill` to raise."""
        t0 = time.perf_counter()
        try:
            for i, (start, end) in enumerate(self._spans):
                if self._stop.is_set():
                    return
                text = transcriber(utterance_audio(wave, start, end))
                with self._ready:
                    self._texts[i] = text
                    self._ready.notify_all()
        except BaseException as exc:  # raised again on the caller's thread
            with self._ready:
                self._error = exc
                self._ready.notify_all()
        finally:
            self.seconds = time.perf_counter() - t0

    def fill(self, utterances: Sequence[Utterance], indices: Sequence[int]) -> None:
        """Write the words of utterances[i] for each i in `indices` (indices into the utterances given at start),
        waiting for those not transcribed yet."""
        t0 = time.perf_counter()
        with self._ready:
            self._ready.wait_for(lambda: self._error is not None or all(self._texts[i] is not None for i in indices))
            if self._error is not None:
                raise self._error
            for i in indices:
                utterances[i].text = self._texts[i]
        self.waited += time.perf_counter() - t0

    def close(self) -> None:
        """Stop after the utterance being transcribed (the scoring failed or is done) and wait for the thread."""
        self._stop.set()
        self._thread.join()
