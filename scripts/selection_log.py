"""Read the epoch logs that scripts/train_demo.py writes (`<run>/dev_selection.jsonl`): one table per run, then the
epochs of all the runs that reach the generated floor, best real-ish dev reading first.

Why: issue #25 asks one checkpoint for two things that pull apart, the real-ish dev split (at least the reference,
fusion adding) and the generated split (at least the floor). A recipe is judged by where its epochs fall on both,
not by the one epoch its rule chose, and one run of a recipe can sit ~4 points from another of the same recipe
(docs/results.md); comparing many runs' epochs side by side is what this prints. It reads logs only: no model, no
test split.

    python scripts/selection_log.py runs/demo-speech runs/variant-a runs/variant-b --floor 0.858
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere, as train_demo.py is

from merclip.shipped import GENERATED_FLOOR  # noqa: E402
from merclip.training.selection_log import LogError, generated_f1, read_log, worst_doubt  # noqa: E402


def modality_rows(row: dict) -> dict[str, dict[str, float]]:
    """The epoch's real-ish dev readings: "LVA", "L only", ... -> {"micro_f1", "top1_hit_rate"}."""
    return {name: value for name, value in row.items() if isinstance(value, dict) and "micro_f1" in value}


def run_table(rows: list[dict]) -> str:
    """One line per epoch, in percent: the generated micro-F1 the epoch was judged by (its selection set's where the
    run had one, marked "sel"), then each modality set's dev micro-F1 / top-1, then whether fusion adds (with the
    largest share of resamples doubting it, where the log has it)."""
    names = list(modality_rows(rows[0])) if rows else []
    gen = "sel " if rows and all("generated_selection_micro_f1" in row for row in rows) else "gen "
    head = f"epoch  {gen}  " + "  ".join(f"{name:>11}" for name in names) + "  fusion adds"
    lines = [head]
    for row in rows:
        dev = modality_rows(row)
        cells = "  ".join(f"{100 * dev[n]['micro_f1']:5.1f}/{100 * dev[n]['top1_hit_rate']:5.1f}" for n in names)
        doubt = row.get("fusion_doubt")  # logged since the doubt rule (session 8)
        adds = ("yes" if row["fusion_adds"] else "no") + (f" (doubt {worst_doubt(doubt):.2f})" if doubt else "")
        lines.append(f"{row['epoch']:>5}  {100 * generated_f1(row):4.1f}  {cells}  {adds}")
    return "\n".join(lines)


def above_floor(runs: dict[str, list[dict]], floor: float) -> list[tuple[str, dict]]:
    """(run, epoch row) for every epoch whose generated micro-F1 (`generated_f1`) reaches `floor`, the best real-ish dev
    reading first: the lower of the full model's dev micro-F1 and top-1, since issue #25 needs both."""
    hits = [(run, row) for run, rows in runs.items() for row in rows if generated_f1(row) >= floor]
    return sorted(hits, key=lambda hit: -min(hit[1]["LVA"]["micro_f1"], hit[1]["LVA"]["top1_hit_rate"]))


def report(runs: dict[str, list[dict]], floor: float) -> str:
    parts = [f"== {run} ({len(rows)} epochs)\n{run_table(rows)}" for run, rows in runs.items()]
    hits = above_floor(runs, floor)
    total = sum(len(rows) for rows in runs.values())
    lines = [f"== {len(hits)} of {total} epochs reach the generated floor {100 * floor:.1f}"]
    for run, row in hits:
        full = row["LVA"]
        judged = "sel" if "generated_selection_micro_f1" in row else "gen"
        lines.append(f"{run} epoch {row['epoch']}: {judged} {100 * generated_f1(row):.1f}, dev "
                     f"{100 * full['micro_f1']:.1f} / {100 * full['top1_hit_rate']:.1f}, "
                     f"fusion adds: {'yes' if row['fusion_adds'] else 'no'}")
    return "\n\n".join([*parts, "\n".join(lines)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders of scripts/train_demo.py (each holds dev_selection.jsonl)")
    parser.add_argument("--floor", type=float, default=GENERATED_FLOOR,
                        help=f"generated validation micro-F1 in [0, 1] an epoch must reach (default {GENERATED_FLOOR})")
    args = parser.parse_args(argv)
    if not 0 <= args.floor <= 1:
        parser.error(f"--floor is a micro-F1 in [0, 1], got {args.floor}")
    try:
        runs = {run: read_log(Path(run)) for run in args.runs}
    except LogError as e:
        parser.error(str(e))
    print(report(runs, args.floor))


if __name__ == "__main__":
    sys.exit(main())
