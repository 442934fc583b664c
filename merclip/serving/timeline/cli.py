"""`python -m merclip.timeline VIDEO [--srt FILE] [--checkpoint DIR] --out timeline.json`."""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...arguments import exit_on_user_error, positive_float, positive_int, task_list
from ...config import MediaConfig
from ...errors import UserError
from ...files import OutputError, check_writable, reason, write_text_atomic
from .base import TRANSCRIBER_CHOICES, Progress, TimelineConfig, check_long_clip
from .pipeline import analyse
from .subtitles import parse_srt

PROG = "python -m merclip.timeline"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="An emotion (and sentiment) timeline over a long clip's utterances: utterances from an .srt or "
                    "from voice activity detection, words from the .srt or transcribed offline, each utterance "
                    "scored by MER-CLIP. Writes JSON (and CSV with --csv).")
    parser.add_argument("video", help="the clip (mp4, mkv, webm, mov, ...), at most --max-minutes long")
    parser.add_argument("--srt", help="subtitles: their cue times are the utterances and their text the words")
    parser.add_argument("--checkpoint", help="MER-CLIP checkpoint directory (default: the shipped demo model)")
    parser.add_argument("--out", required=True, help="where to write the timeline JSON")
    parser.add_argument("--csv", help="also write one CSV row per utterance here")
    parser.add_argument("--device", help="cpu / cuda (default: cuda when available)")
    parser.add_argument("--transcriber", default="auto", choices=TRANSCRIBER_CHOICES,
                        help="offline transcription when there is no .srt (auto: whisper if its weights are on this "
                             "machine, else pocketsphinx)")
    parser.add_argument("--pocketsphinx-search", default="pruned", choices=["pruned", "default"],
                        help="pocketsphinx's search: pruned (fewer HMMs per frame: about 2/3 of the CPU time, the same "
                             "error rate) or default (pocketsphinx's own settings); the engine's name says which")
    parser.add_argument("--transcribe-first", action="store_true",
                        help="transcribe every utterance before scoring any (slower: by default the words are "
                             "transcribed in a child process while the utterances already transcribed are scored)")
    parser.add_argument("--max-minutes", type=positive_float, default=10.0, help="longest clip accepted")
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--tasks", type=task_list, default="emotion,sentiment",
                        help="comma-separated: emotion, sentiment")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    from ...shipped import DEFAULT_CHECKPOINT
    from ..predictor import Predictor

    cfg = TimelineConfig(max_duration=args.max_minutes * 60, batch_size=args.batch_size, transcriber=args.transcriber,
                         sphinx_search=args.pocketsphinx_search, transcribe_first=args.transcribe_first)
    try:
        outputs = {check_writable(args.out, "timeline JSON"): "to_json"}  # refused before any work
        if args.csv:
            outputs[check_writable(args.csv, "timeline CSV")] = "to_csv"
        info = check_long_clip(args.video, cfg, MediaConfig())  # refuse a too-long file before loading the model
        if args.srt:  # and a missing or malformed .srt: it was read only after the model had loaded
            parse_srt(args.srt, info.duration, cfg, MediaConfig())
        predictor = Predictor.from_checkpoint(args.checkpoint or DEFAULT_CHECKPOINT, device=args.device)
        with _progress_bar() as progress:
            timeline = analyse(predictor, args.video, args.srt, cfg, progress=progress, tasks=args.tasks)
        _write(timeline, outputs)
    except UserError as exc:
        exit_on_user_error(PROG, exc)
    print(f"{len(timeline.rows)} utterances ({timeline.source}; words: {timeline.engine}) over "
          f"{timeline.duration:.1f} s in {timeline.timings['total']:.1f} s -> {args.out}")
    for note in timeline.notes:
        print(f"note: {note}")
    return 0


@contextmanager
def _progress_bar() -> Iterator[Progress]:
    """A terminal progress bar as the timeline's progress callback, closed however the work ends."""
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}]")

    def progress(fraction: float, desc: str) -> None:
        bar.set_description(desc[:48])
        bar.update(max(0.0, 100 * fraction - bar.n))

    try:
        yield progress
    finally:
        bar.close()


def _write(timeline, outputs: dict[Path, str]) -> None:
    """Each output file whole or not at all (a kill or a full disk leaves no half-written file under its name)."""
    for path, render in outputs.items():
        try:
            write_text_atomic(path, getattr(timeline, render)())
        except OSError as exc:
            raise OutputError(f"could not write the timeline to '{path}' ({reason(exc)}): {exc}") from exc
