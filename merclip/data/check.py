"""Check a local dataset copy and print its counts per split.

    python -m merclip.data.check --dataset mosei --root /data/CMU_MOSEI --segments mosei_segments.csv
    python -m merclip.data.check --dataset folder --root my_clips [--on-error skip] [--valid-fraction 0.2]

(`mosei_segments.csv`: MMSA's standard split, written by `python -m merclip.data.mmsa_segments`.)
"""
from __future__ import annotations

import argparse
import math

from ..arguments import open_unit_float, user_errors_exit
from ..config import EMOTION_LABELS
from .folder import FolderRead, read_folder, report_problems, splits_of
from .mosi_mosei import EXPECTED_COUNTS, SPLITS, load, read_segment_file, summarise, unlabelled_fold_videos


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Check a local CMU-MOSI / CMU-MOSEI (or generated) copy, or a folder "
                                                 "dataset, and print its counts.")
    parser.add_argument("--dataset", required=True, choices=["mosei", "mosi", "synthetic", "folder"])
    parser.add_argument("--root", required=True, help="dataset folder (raw CMU-MultimodalSDK layout, or a folder "
                                                      "of clips beside metadata.csv / metadata.jsonl)")
    parser.add_argument("--on-error", default="stop", choices=["stop", "skip"],
                        help="folder: a bad row stops the check (default) or is left out and counted")
    parser.add_argument("--valid-fraction", type=open_unit_float,
                        help="folder: count rows without a split as training's would (this share held out)")
    parser.add_argument("--segments", help="file of segment ids (python -m merclip.data.mmsa_segments, MMSA label.csv, "
                                           "or one <video>_<segment> a line): load exactly those segments, in the "
                                           "file's split where it names one")
    args = parser.parse_args(argv)
    with user_errors_exit(parser.prog):  # a missing or damaged dataset: its message, exit status 2, no traceback
        _check(args)


def _check(args: argparse.Namespace) -> None:
    if args.dataset == "folder":
        check_folder(args.root, args.on_error, args.valid_fraction)
        return
    samples = load(args.dataset, args.root, segments=args.segments)
    if args.segments:
        wanted = read_segment_file(args.segments)
        split_from = "the folds'" if None in wanted.values() else "the file's"
        print(f"set loaded: the {len(wanted)} segment ids of '{args.segments}' ({len(samples)} found in the raw data), "
              f"each in {split_from} split\n")
    else:
        print("set loaded: every labelled segment of the standard folds' videos (CMU-MultimodalSDK folds, or "
              "folds.json); pass --segments for a processed release's exact set\n")
    counts = summarise(samples)
    cols = ["segments", "videos", "missing_video_files", "positive", "negative", "neutral",
            *(EMOTION_LABELS if args.dataset != "mosi" else ())]
    print("| split | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for split in SPLITS:
        print(f"| {split} | " + " | ".join(str(counts[split].get(c, 0)) for c in cols) + " |")
    total = sum(c["segments"] for c in counts.values())
    print(f"\n{total} segments in all")
    expected = EXPECTED_COUNTS.get(args.dataset)
    if expected:
        got = tuple(counts[s]["segments"] for s in SPLITS)
        verdict = "matches" if got == expected else "differs from"
        print(f"train/valid/test segments: {got} {verdict} the paper's {expected} ({sum(expected)} in all)")
    if args.dataset in ("mosei", "mosi"):
        unlabelled = unlabelled_fold_videos(args.dataset, args.root)
        for split in SPLITS:
            if unlabelled[split]:
                print(f"{split}: {len(unlabelled[split])} fold video(s) have no labels and give no segments: "
                      f"{', '.join(unlabelled[split][:10])}")


def summarise_folder(read: FolderRead, valid_fraction: float | None = None) -> dict[str, tuple[dict, dict]]:
    """Per split: (counts of clips, transcripts, separate audio, sentiment scores and their signs; clips per label)."""
    out = {}
    for split in SPLITS:  # one split at a time: rows without a split are counted in each, as a command reads them
        rows = [r for r, _ in splits_of(read.rows, (split,), valid_fraction)]
        scored = [r.sentiment for r in rows if not math.isnan(r.sentiment)]
        counts = {"clips": len(rows), "transcript": sum(bool(r.transcript) for r in rows),
                  "audio_file": sum(r.audio is not None for r in rows), "sentiment": len(scored),
                  "positive": sum(v > 0 for v in scored), "negative": sum(v < 0 for v in scored),
                  "neutral": sum(v == 0 for v in scored), "no_emotion": sum(not r.emotions for r in rows)}
        out[split] = (counts, {name: sum(name in r.emotions for r in rows) for name in read.label_names})
    return out


def _table(rows: dict[str, dict[str, int]]) -> str:
    cols = list(next(iter(rows.values())))
    lines = ["| split | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {split} | " + " | ".join(str(c[k]) for k in cols) + " |" for split, c in rows.items()]
    return "\n".join(lines)


def check_folder(root: str, on_error: str = "stop", valid_fraction: float | None = None) -> None:
    """Check every row of a folder dataset (paths, columns, that each clip opens) and print its counts."""
    read = read_folder(root)
    total = len(read.rows) + len(read.problems)
    report_problems(read, total, on_error)
    print(f"{read.metadata}: {total} rows, {len(read.rows)} usable, {len(read.problems)} skipped; "
          f"columns: {', '.join(read.columns)}")
    print(f"label names (the targets' order): {', '.join(read.label_names) or '(none: no emotions)'}\n")
    if any(r.split is None for r in read.rows):
        print("rows without a split are in " + ("every split (training needs --valid-fraction)" if valid_fraction is None
                                               else f"train, or valid and test for the {valid_fraction:g} held out") + "\n")
    summary = summarise_folder(read, valid_fraction)
    print(_table({s: summary[s][0] for s in SPLITS}))
    if read.label_names:
        print("\n" + _table({s: summary[s][1] for s in SPLITS}))


if __name__ == "__main__":
    main()
