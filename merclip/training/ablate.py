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
import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from ..arguments import positive_float, positive_int, user_errors_exit
from ..config import TrainConfig
from ..data.loading import DataConfig, build_loaders, load_dataset_samples, refuse_empty_splits
from ..data.mosi_mosei import SPLITS
from ..device import select_device
from ..files import check_folder_writable
from ..labels import QUERY_WORDS, label_set
from ..model_configs.presets import train_config_for
from ..models.checkpoint import load_checkpoint
from ..models.registry import AnyConfig
from .evaluate import columns_for, evaluate_model
from .loop import train
from .metrics import markdown_table
from .options import (add_data_args, add_model_args, data_config_from_args, model_config_from_args, option_checks,
                      run_config_from_args)
from .runtime import RunConfig


def _labels_of_kind(kind: str):
    """A cell value: the label set of `kind` for the base model's task."""
    return lambda cfg: label_set(cfg.task, kind)


TABLE3_ORDERS = ("V", "A", "L", "VA", "AV", "AL", "LA", "VL", "LV", "VAL", "AVL", "ALV", "LAV", "VLA", "LVA")
# grid -> cell name -> the fields the cell overrides on the base model config (a callable value is computed from
# the base config)
GRIDS: dict[str, dict[str, dict]] = {
    "modalities": {order: {"modality_order": tuple(order)} for order in TABLE3_ORDERS},
    "components": {
        "w/o CMD, LE": {"use_cmd": False, "use_label_encoder": False},
        "w/o CMD - w LE": {"use_cmd": False},
        "w CMD - w/o LE": {"use_label_encoder": False},
        "MER-CLIP": {},
    },
    "labels": {kind: {"labels": _labels_of_kind(kind)} for kind in ("word", "phrase", "sentence")},
    "query": {(w or "(none)"): {"query_word": w} for w in QUERY_WORDS},
    # LSGMER (use with --model lsgmer): each part of the model and of the joint objective
    "lsgmer": {
        "LSGMER": {},
        "w/o APC": {"use_apc": False},
        "w/o LSE": {"use_lse": False},
        "w/o LSE, APC": {"use_lse": False, "use_apc": False},
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


@dataclass(frozen=True)
class AblationSetup:
    """What every cell of a grid shares: the base model, the recipe, the data, the process's resources and the
    output folder."""

    model: AnyConfig
    train: TrainConfig
    data: DataConfig
    out: Path
    run: RunConfig = RunConfig()


def cell_config(base: AnyConfig, overrides: dict) -> AnyConfig:
    """`base` with a cell's overrides; a field the model family lacks is an error (the cell would equal the base)."""
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(base)})
    if unknown:
        raise ValueError(f"the cell sets {unknown}, which a {base.family} model does not have: pick a grid for "
                         f"--model {base.family}")
    return dataclasses.replace(base, **{k: v(base) if callable(v) else v for k, v in overrides.items()})


def cell_dir(root: Path, model_cfg, train_cfg) -> Path:
    """Run folder keyed by the exact configs, so identical cells of different grids train once."""
    key = hashlib.sha1((model_cfg.to_json() + json.dumps(asdict(train_cfg), sort_keys=True)).encode()).hexdigest()[:12]
    return root / "cells" / key


def run_cell(setup: AblationSetup, model_cfg: AnyConfig) -> tuple[dict, Path]:
    """Train one cell (or resume it, or reuse its finished result) and evaluate its best checkpoint on the test
    split: (the test metrics, the cell's run folder)."""
    out = cell_dir(setup.out, model_cfg, setup.train)
    result_file = out / "test_metrics.json"
    if result_file.is_file():
        return json.loads(result_file.read_text()), out
    train(model_cfg, setup.train, setup.data, out, run=setup.run, resume=True, progress=False)
    device = select_device(setup.run.device)
    model = load_checkpoint(out / "best", device=device)
    loaders, scores = build_loaders(model, setup.data, ("test",), shuffle=False, require_clips=True)
    result = evaluate_model(model, loaders["test"], device, scores)
    metrics = {**result.metrics, "skipped_clips": result.skipped}
    result_file.write_text(json.dumps(metrics, indent=1))
    return metrics, out


def check_cells(grid: str, cells: list[str] | None) -> None:
    """A ValueError naming the cells of `cells` that `grid` does not have."""
    unknown = [c for c in cells or [] if c not in GRIDS[grid]]
    if unknown:
        raise ValueError(f"unknown cells {unknown} for grid '{grid}'; cells: {list(GRIDS[grid])}")


def run_grid(grid: str, setup: AblationSetup, cells: list[str] | None = None) -> str:
    """Run the grid's cells (all of them, or `cells` in that order); writes <out>/<grid>.md and .json and returns
    the markdown table."""
    check_cells(grid, cells)
    names = cells or list(GRIDS[grid])
    configs = [cell_config(setup.model, GRIDS[grid][name]) for name in names]  # every cell checked before training
    rows = []
    for name, model_cfg in zip(names, configs):
        metrics, run_dir = run_cell(setup, model_cfg)
        rows.append({"model": name, **metrics, "run_dir": str(run_dir)})
        print(f"{grid} {name}: " + ", ".join(f"{k} {100 * v:.1f}" for k, v in metrics.items() if isinstance(v, float))
              + (f", {metrics['skipped_clips']} clips skipped" if metrics.get("skipped_clips") else ""), flush=True)
    task = setup.model.task  # the family's: LSGMER predicts one emotion per utterance
    table = markdown_table(rows, columns_for(task), title=f"{grid} ({setup.data.dataset}, {task}, test split)")
    (setup.out / f"{grid}.md").write_text(table)
    (setup.out / f"{grid}.json").write_text(json.dumps(rows, indent=1))
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
        train_cfg = train_config_for(args.dataset, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                                     seed=args.seed)
        with option_checks(parser):
            model_cfg, data_cfg = model_config_from_args(args), data_config_from_args(args)
        check_folder_writable(args.out, "ablation folder")  # a file there was found only after a cell's data decoded
        cells = parse_cells(args.cells, [c for g in args.grid for c in GRIDS[g]]) if args.cells else None
        for grid in args.grid:  # a misspelt cell is an option error: named before the dataset is read
            check_cells(grid, cells)
        # every cell reads all three splits; an empty test split was found only after the first cell had trained
        refuse_empty_splits(load_dataset_samples(data_cfg, SPLITS), SPLITS, data_cfg)
        setup = AblationSetup(model_cfg, train_cfg, data_cfg, Path(args.out), run_config_from_args(args))
        for grid in args.grid:
            print(run_grid(grid, setup, cells))


if __name__ == "__main__":
    main()
