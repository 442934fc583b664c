"""pocketsphinx's search settings against their cost: word-error rate and CPU time per second of speech, on
espeak-ng sentences, for pocketsphinx's own defaults and for lighter settings (the timeline's `SphinxOptions`).

    python bench/asr_options.py              # 16 sentences x 2 voices, every setting below
    python bench/asr_options.py --out asr.json
    python bench/asr_options.py --smoke      # 2 sentences, 2 settings (the test suite runs this)

Each setting decodes the same utterances (0.3 s of silence around each, as a VAD utterance has) in this process
with the timeline worker's own functions; CPU time is this process's (pocketsphinx is single-threaded), so the
machine's load changes it less than wall time. Two error rates: against the sentences spoken, and against the
words pocketsphinx's defaults write (how much a setting changes what the timeline shows).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from merclip.data.long_clips import SENTENCES  # noqa: E402
from merclip.data.speech import Prosody, speak  # noqa: E402
from merclip.serving.timeline.sphinx_worker import decode_pcm, new_decoder  # noqa: E402
from merclip.serving.timeline.transcribe import SphinxOptions  # noqa: E402

MORE = [
    "I really enjoyed the trip to the mountains last summer",
    "please call me back when you get home tonight",
    "the weather was cold and the children stayed inside all day",
    "we should buy a new car before the winter comes",
    "my sister works at the hospital near the station",
    "they told us the meeting was moved to next thursday",
    "I don't think that is a good idea at all",
    "the music at the party was far too loud for me",
    "can you believe how expensive the tickets were",
    "he finally passed the driving test after three tries",
    "our team lost the game in the last minute",
    "thank you so much for helping me with the move",
]
VOICES = [Prosody("en-us", rate=150), Prosody("en-gb", rate=175)]
SETTINGS = {
    "pocketsphinx defaults": SphinxOptions.pocketsphinx_defaults(),
    "timeline (maxhmmpf 3000)": SphinxOptions(),
    "maxhmmpf 2000": SphinxOptions(maxhmmpf=2000),
    "maxhmmpf 1500, maxwpf 10": SphinxOptions(maxhmmpf=1500, maxwpf=10),
    "fwdflat off": SphinxOptions(maxhmmpf=30000, fwdflat=False),
    "maxhmmpf 3000, fwdflat off": SphinxOptions(fwdflat=False),
    "maxhmmpf 2000, fwdflat off, topn 2": SphinxOptions(maxhmmpf=2000, fwdflat=False, topn=2),
    "beam 1e-30, wbeam 1e-20": SphinxOptions(maxhmmpf=30000, beam=1e-30, wbeam=1e-20),
    "ds 2": SphinxOptions(maxhmmpf=30000, ds=2),
}


def words(text: str) -> list[str]:
    return "".join(c if c.isalpha() or c in " '" else " " for c in text.lower()).split()


def edits(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance."""
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        diag, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (ref[i - 1] != hyp[j - 1]))
    return row[-1]


def wer(refs: list[str], hyps: list[str]) -> float:
    return sum(edits(words(r), words(h)) for r, h in zip(refs, hyps)) / max(1, sum(len(words(r)) for r in refs))


def utterances(sentences: list[str]) -> list[tuple[str, bytes]]:
    """(sentence, int16 PCM with 0.3 s of silence either side) for every sentence in every voice."""
    pad = np.zeros(int(0.3 * 16000), np.float32)
    out = []
    for prosody in VOICES:
        for text in sentences:
            wave = np.concatenate([pad, speak(text, prosody).astype(np.float32), pad])
            out.append((text, (np.clip(wave, -1, 1) * 32767).astype(np.int16).tobytes()))
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--smoke", action="store_true", help="2 sentences, pocketsphinx's defaults and the timeline's")
    args = parser.parse_args(argv)
    sentences = [*SENTENCES.values(), *MORE]
    settings = dict(list(SETTINGS.items())[:2]) if args.smoke else SETTINGS
    data = utterances(sentences[:1] if args.smoke else sentences)
    seconds = sum(len(pcm) for _, pcm in data) / 2 / 16000
    refs = [text for text, _ in data]
    print(f"{len(data)} utterances, {seconds:.1f} s of audio")
    results, baseline = {}, None
    for name, options in settings.items():
        decoder = new_decoder(options.config())
        t0 = time.process_time()
        hyps = [decode_pcm(decoder, pcm) for _, pcm in data]
        cpu = time.process_time() - t0
        baseline = baseline or hyps
        results[name] = {"options": options.describe(), "cpu_s": round(cpu, 2),
                         "cpu_per_audio_s": round(cpu / seconds, 4), "wer": round(wer(refs, hyps), 3),
                         "changed_vs_defaults": round(wer(baseline, hyps), 3), "words": hyps}
        print(f"{name:36s} CPU {cpu:6.2f} s = {cpu / seconds:.3f} s per s of speech; WER {results[name]['wer']:.3f}; "
              f"words changed vs pocketsphinx's defaults {results[name]['changed_vs_defaults']:.3f}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"audio_s": round(seconds, 1), "sentences": refs, "settings": results},
                                             indent=1))
    return results


if __name__ == "__main__":
    main()
