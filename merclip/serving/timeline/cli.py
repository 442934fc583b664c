"""`python -m merclip.timeline VIDEO [--srt FILE] [--checkpoint DIR] --out timeline.json`."""
from __future__ import annotations

import argparse
from pathlib import Path

from ...config import MediaConfig
from ...errors import UserError
from .base import TimelineConfig, check_long_clip
from .pipeline import analyse


def _parser() -> argparse.ArgumentParser:
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
    parser.add_argument("--pocketsphinx-search", default="pruned", choices=["pruned", "default"],
                        help="pocketsphinx's search: pruned (fewer HMMs per frame: about 2/3 of the CPU time, the same "
                             "error rate) or default (pocketsphinx's own settings); the engine's name says which")
    parser.add_argument("--transcribe-first", action="store_true",
                        help="transcribe every utterance before scoring any (slower: by default the words are "
                             "transcribed in a child process while the utterances already transcribed are scored)")
    parser.add_argument("--max-minutes", type=float, default=10.0, help="longest clip accepted")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--tasks", default="emotion,sentiment", help="comma-separated: emotion, sentiment")
    return parser


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    parser = _parser()
    args = parser.parse_args(argv)

    from ...shipped import DEFAULT_CHECKPOINT
    from ..predictor import Predictor

    cfg = TimelineConfig(max_duration=args.max_minutes * 60, batch_size=args.batch_size, transcriber=args.transcriber,
                         sphinx_search=args.pocketsphinx_search, transcribe_first=args.transcribe_first)
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
