"""Check a local dataset copy and print its counts per split.

    python -m merclip.data.check --dataset mosei --root /data/CMU_MOSEI --segments mosei_segments.csv

(`mosei_segments.csv`: MMSA's standard split, written by `python -m merclip.data.mmsa_segments`.)
"""
from __future__ import annotations

import argparse

from ..config import EMOTION_LABELS
from .mosi_mosei import EXPECTED_COUNTS, SPLITS, load, read_segment_file, summarise, unlabelled_fold_videos


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Check a local CMU-MOSI / CMU-MOSEI (or generated) copy and print its counts.")
    parser.add_argument("--dataset", required=True, choices=["mosei", "mosi", "synthetic"])
    parser.add_argument("--root", required=True, help="dataset folder (raw CMU-MultimodalSDK layout)")
    parser.add_argument("--segments", help="file of segment ids (python -m merclip.data.mmsa_segments, MMSA label.csv, "
                                           "or one <video>_<segment> a line): load exactly those segments, in the "
                                           "file's split where it names one")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    main()
