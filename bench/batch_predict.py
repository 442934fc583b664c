"""Batch prediction on one rank and on two torchrun ranks: clips/s of each and their ratio, measured in one run.

    python bench/batch_predict.py [--clips 24] [--repeats 2] [--checkpoint DIR] [--device cpu] [--out r.json]
    python bench/batch_predict.py --smoke          # 4 clips, one repeat: checks that the bench runs

Writes --clips generated clips in the folder format (merclip.data.synthetic) to a temporary folder, then predicts
them with `python -m merclip.predict` (one process) and `torchrun --nproc_per_node 2 -m merclip.predict`, in
alternation, --repeats times each. A run's clips/s is its own summary line's: the clips over the slowest rank's time
from its first batch to its last, so start-up and model loading are left out. Each setting keeps its threads'
defaults (torchrun gives every rank one OpenMP thread). The two tables must hold the same rows, or the bench fails:
a fast run that predicts something else measures nothing.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from merclip.data.synthetic import write_folder  # noqa: E402
from merclip.shipped import DEFAULT_CHECKPOINT  # noqa: E402

SUMMARY = re.compile(r"predicted (\d+) clip\(s\), (\d+) with an error, in ([\d.]+) s on (\d+) rank")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def predict(folder: Path, out: Path, ranks: int, checkpoint: Path, device: str, batch_size: int) -> dict:
    """One `merclip.predict` run: its clips, errors, seconds and clips/s, from its summary line."""
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(ranks), "--master_addr",
                 "127.0.0.1", "--master_port", str(_free_port())] if ranks > 1 else [sys.executable])
    proc = subprocess.run([*launcher, "-m", "merclip.predict", str(folder), "--out", str(out), "--checkpoint",
                           str(checkpoint), "--device", device, "--batch-size", str(batch_size)],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    found = SUMMARY.search(proc.stdout)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"merclip.predict on {ranks} rank(s) failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    clips, errors, seconds = int(found[1]), int(found[2]), float(found[3])
    return {"clips": clips, "errors": errors, "seconds": seconds, "clips_per_second": clips / seconds}


def _rows(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="") as f:
        return [(r["file_name"], r["predicted"]) for r in csv.DictReader(f)]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each setting, alternating; the best counts")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help="4 clips, one repeat")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)
    clips, repeats = (4, 1) if args.smoke else (args.clips, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_folder(Path(tmp) / "clips", clips, seed=0, progress=False)
        runs: dict[int, list[dict]] = {1: [], 2: []}
        for _ in range(repeats):
            for ranks in (1, 2):
                runs[ranks].append(predict(folder, Path(tmp) / f"r{ranks}.csv", ranks, args.checkpoint, args.device,
                                           args.batch_size))
        if _rows(Path(tmp) / "r1.csv") != _rows(Path(tmp) / "r2.csv"):
            raise SystemExit("one rank and two ranks wrote different rows")
    best = {ranks: max(r, key=lambda x: x["clips_per_second"]) for ranks, r in runs.items()}
    results = {"clips": clips, "repeats": repeats, "device": args.device, "checkpoint": str(args.checkpoint),
               "one_rank": best[1], "two_ranks": best[2],
               "ratio": best[2]["clips_per_second"] / best[1]["clips_per_second"]}
    for ranks, name in ((1, "1 rank "), (2, "2 ranks")):
        r = best[ranks]
        print(f"batch prediction, {name}: {r['clips_per_second']:.2f} clips/s ({r['clips']} clips in {r['seconds']:.2f} s,"
              f" best of {repeats})")
    print(f"2 ranks / 1 rank: {results['ratio']:.2f}x (the same rows in both tables)")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
