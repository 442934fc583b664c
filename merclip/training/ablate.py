"""The paper's ablation grids: train one model per cell, evaluate its best checkpoint on the test split.

    python -m merclip.ablate --grid modalities --dataset synthetic --root data/synthetic --out runs/ablate \\
        --clip-model merclip-tiny --epochs 30 --lr 5e-4

Grids: modalities (Table 3: subsets and orders of L, V, A), components (Table 4: without CMD / LE),
labels (Tables 7-8: word / phrase / sentence label sets), query (Tables 9-11: query words), and for
`--model lsgmer`: lsgmer (without LSE / APC).
`--cells` restricts a grid (e.g. --cells V,A,L,LVA). Each grid writes <out>/<grid>.md (one markdown
table, the paper's layout) and <out>/<grid>.json. Cells train in <out>/cells/<config hash>/, so a cell that
two grids share (LVA of Table 3 is the full model of Table 4) trains once, and finished cells are reused
(interrupted ones resume) when the command is repeated.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

from ..arguments import positive_float, positive_int, user_errors_exit
from ..data.loading import build_loaders
from ..device import select_device
from ..labels import QUERY_WORDS
from ..model_configs.presets import train_config_for
from ..models.checkpoint import load_checkpoint
from .evaluate import columns_for, evaluate_model
from .loop import train
from .metrics import markdown_table
from .options import add_data_args, add_model_args, model_config_from_args

TABLE3_ORDERS = ("V", "A", "L", "VA", "AV", "AL", "LA", "VL", "LV", "VAL", "AVL", "ALV", "LAV", "VLA", "LVA")
GRIDS: dict[str, dict[str, dict]] = {
    "modalities": {order: {"modalities": order} for order in TABLE3_ORDERS},
    "components": {
        "w/o CMD, LE": {"no_cmd": True, "no_le": True},
        "w/o CMD - w LE": {"no_cmd": True},
        "w CMD - w/o LE": {"no_le": True},
        "MER-CLIP": {},
    },
    "labels": {kind: {"label_kind": kind} for kind in ("word", "phrase", "sentence")},
    "query": {(w or "(none)"): {"query_word": w or "none"} for w in QUERY_WORDS},
    # LSGMER (use with --model lsgmer): each part of the model and of the joint objective
    "lsgmer": {
        "LSGMER": {},
        "w/o APC": {"no_apc": True},
        "w/o LSE": {"no_lse": True},
        "w/o LSE, APC": {"no_lse": True, "no_apc": True},
    },
}


def parse_cells(text: str, known: Iterable[str]) -> list[str]:
    """Cell names from `--cells`, a comma-separated list in which a name that holds a comma itself ("w/o CMD, LE")
    is matched whole (the longest known name first); an unknown piece is kept as it is, for run_grid to name."""
    pieces, names = [p.strip() for p in text.split(",")], set(known)
    cells, i = [], 0
    while i < len(pieces):
        for j in range(len(pieces), i, -1):
            name = ", ".join(pieces[i:j])
            if name in names:
                cells.append(name)
                i = j
                break
        else:
            cells.append(pieces[i])
            i += 1
    return [c for c in cells if c]


def cell_dir(root: Path, model_cfg, train_cfg) -> Path:
    """Run folder keyed by the exact configs, so identical cells of different grids train once."""
    key = hashlib.sha1((model_cfg.to_json() + json.dumps(asdict(train_cfg), sort_keys=True)).encode()).hexdigest()[:12]
    return root / "cells" / key


def run_cell(base_args: argparse.Namespace, overrides: dict, root: Path, train_cfg) -> tuple[dict, Path]:
    args = copy.copy(base_args)
    for k, v in overrides.items():
        setattr(args, k, v)
    model_cfg = model_config_from_args(args)
    out = cell_dir(root, model_cfg, train_cfg)
    result_file = out / "test_metrics.json"
    if result_file.is_file():
        return json.loads(result_file.read_text()), out
    train(model_cfg, train_cfg, args, out, resume=True, progress=False)
    device = select_device(args.device)
    model = load_checkpoint(out / "best", device=device)
    loaders, scores = build_loaders(model, args, ("test",), shuffle=False)
    result = evaluate_model(model, loaders["test"], device, scores)
    metrics = {**result.metrics, "skipped_clips": result.skipped}
    result_file.write_text(json.dumps(metrics, indent=1))
    return metrics, out


def run_grid(grid: str, args: argparse.Namespace, cells: list[str] | None = None) -> str:
    out = Path(args.out)
    train_cfg = train_config_for(args.dataset, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    rows = []
    unknown = [c for c in cells or [] if c not in GRIDS[grid]]
    if unknown:
        raise ValueError(f"unknown cells {unknown} for grid '{grid}'; cells: {list(GRIDS[grid])}")
    for name in cells or list(GRIDS[grid]):  # in the order asked for
        overrides = GRIDS[grid][name]
        metrics, run_dir = run_cell(args, overrides, out, train_cfg)
        rows.append({"model": name, **metrics, "run_dir": str(run_dir)})
        print(f"{grid} {name}: " + ", ".join(f"{k} {100 * v:.1f}" for k, v in metrics.items() if isinstance(v, float))
              + (f", {metrics['skipped_clips']} clips skipped" if metrics.get("skipped_clips") else ""), flush=True)
    task = model_config_from_args(args).task  # the family's: LSGMER predicts one emotion per utterance
    table = markdown_table(rows, columns_for(task), title=f"{grid} ({args.dataset}, {task}, test split)")
    (out / f"{grid}.md").write_text(table)
    (out / f"{grid}.json").write_text(json.dumps(rows, indent=1))
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", required=True, choices=sorted(GRIDS), action="append",
                        help="repeat to run several grids")
    parser.add_argument("--cells", help="comma-separated cell names to run (default: the whole grid); names with a "
                                        "comma of their own are recognised whole, e.g. --cells 'w/o CMD, LE,MER-CLIP'")
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=positive_int)
    parser.add_argument("--lr", type=positive_float)
    parser.add_argument("--seed", type=int, default=0)
    add_data_args(parser)
    add_model_args(parser)
    args = parser.parse_args(argv)
    with user_errors_exit(parser.prog):
        cells = parse_cells(args.cells, [c for g in args.grid for c in GRIDS[g]]) if args.cells else None
        for grid in args.grid:
            print(run_grid(grid, args, cells))


if __name__ == "__main__":
    main()
