"""Check a local dataset copy and print its counts per split.

    python -m merclip.data.check --dataset mosei --root /data/CMU_MOSEI
"""
from __future__ import annotations

import argparse

from ..config import EMOTION_LABELS
from .mosi_mosei import EXPECTED_COUNTS, SPLITS, load, summarise


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Check a local CMU-MOSI / CMU-MOSEI (or generated) copy and print its counts.")
    parser.add_argument("--dataset", required=True, choices=["mosei", "mosi", "synthetic"])
    parser.add_argument("--root", required=True, help="dataset folder (raw CMU-MultimodalSDK layout)")
    args = parser.parse_args(argv)
    samples = load(args.dataset, args.root)
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
        print(f"standard folds: {got} {verdict} the paper's {expected}")


if __name__ == "__main__":
    main()
