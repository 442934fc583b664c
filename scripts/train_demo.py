"""Train the shipped demo model, choosing its epoch on the real-ish dev split (issue #25; scripts/make_demo_model.sh).

Why not the generated validation split: it comes from the same generator as the training clips, so it rewards
learning the generator (its faces, its phrasebook), which is what made the earlier demo read real sentences worse
than the untrained word-similarity reference. The real-ish dev split (`merclip.data.realish`, sentences written
independently of the generator, real photographs, espeak-ng voices) is what every choice of this recipe is made on;
its test split is read once per shipped model (`python -m merclip.eval_realish --split test`).

Takes every option of `python -m merclip.train`, plus `--realish DIR`. After each epoch the checkpoint is scored on
the dev clips (micro-F1 with the paper's decision rule, and the top-1 hit rate), with every modality and with each
alone. An epoch is eligible when the full model is at least as good as each single modality (fusion adds, the paper's
Table 3 question), in all but at most `--max-fusion-doubt` of paired bootstrap resamples of the dev clips (a margin
of a point or two flips between dev and test as often as not: docs/results.md), and its generated validation micro-F1
stays at or above `--min-generated`. Epochs rank by eligibility, then by whether fusion adds (so that, when no epoch
reaches the generated floor, one where fusion adds still beats one where it does not), then by the mean of the dev
score (itself the mean of the two dev measures) and the generated validation micro-F1: issue #25 asks for both, and a
dev score alone took early epochs that had not yet learned the generated clips (docs/design.md); the first is copied
to `<out>/dev-best/`, and every epoch's scores go to `<out>/dev_selection.jsonl`. `--resume` (with a larger
`--epochs`) continues a run after its last complete epoch, ranking the new epochs against those already in the log.
`--generated-selection DIR` judges the floor and the rank on every clip of a second generated dataset (another seed
of the generator) instead of the 100-clip validation split, whose micro-F1 moves by about 3 points between draws.

    python scripts/train_demo.py --realish data/realish --dataset synthetic --root data/speech --out runs/demo ...
"""
from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, as scripts/make_reference_outputs.py is

from merclip.arguments import unit_float, user_errors_exit  # noqa: E402
from merclip.data.loading import DataConfig, build_loaders  # noqa: E402
from merclip.data.realish import load  # noqa: E402
from merclip.errors import UserError  # noqa: E402
from merclip.files import check_folder_writable  # noqa: E402
from merclip.models.checkpoint import load_checkpoint  # noqa: E402
from merclip.models.losses import decisions  # noqa: E402
from merclip.serving.realish_eval import fusion_doubt, merclip_outputs, summaries, truth_matrix  # noqa: E402
from merclip.shipped import GENERATED_FLOOR  # noqa: E402
from merclip.training.evaluate import evaluate_model  # noqa: E402
from merclip.training.loop import build_parser, train  # noqa: E402
from merclip.training.metrics import emotion_metrics  # noqa: E402
from merclip.training.options import (  # noqa: E402 
    data_config_from_args, model_config_from_args, option_checks, run_config_from_args, train_config_from_args)
from merclip.training.runtime import TrainingHooks  # noqa: E402
from merclip.training.selection_log import (  # noqa: E402
    READ_TO_RESUME, append_row, generated_f1, log_path, read_log, worst_doubt)

CHECKPOINT_FILES = ("model.safetensors", "config.json")
GENERATED_SPLITS = ("train", "valid", "test")  # a selection set is read whole: none of it is trained on


def dev_score(metrics: dict[str, float]) -> float:
    """The selection score: the mean of micro-F1 and the top-1 hit rate (both in [0, 1])."""
    return (metrics["micro_f1"] + metrics["top1_hit_rate"]) / 2


def fusion_adds(rows: dict[str, dict[str, float]]) -> bool:
    """Whether the full model is at least as good as each of its single modalities, in both measures (Table 3's
    question)."""
    full = rows["LVA"]
    return all(full[k] >= rows[name][k] for name in rows if name != "LVA" for k in ("micro_f1", "top1_hit_rate"))


def dev_readings(checkpoint: Path, clips, folder: Path) -> tuple[dict[str, dict[str, float]],
                                                                  dict[str, tuple[float, float]]]:
    """The epoch's dev metrics per modality row, and for each single modality the share of paired resamples of the
    clips in which the full model is below it (`fusion_doubt`)."""
    truth, outputs = truth_matrix(clips), merclip_outputs(checkpoint, clips, folder)
    return summaries(truth, outputs), fusion_doubt(truth, outputs)


def rank_score(dev: float, generated: float) -> float:
    """The third key of an epoch's rank: the dev score and the generated validation micro-F1, equally weighted."""
    return (dev + generated) / 2


def generated_valid_f1(checkpoint: Path) -> float:
    """The epoch's micro-F1 on the generated validation split, from the trainer state written beside it."""
    return float(json.loads((checkpoint / "trainer.json").read_text())["history"][-1]["valid_micro_f1"])


class GeneratedSelection:
    """The epoch's micro-F1 (the paper's decision rule) over every clip of a second generated dataset, the selection
    set (`--generated-selection`): another seed of the generator, none of its clips trained on.

    Why: the generated validation split has 100 clips, so a micro-F1 read on it moves by about 3 points between
    draws of the clips; the epoch shipped until session 10 read 86.2 there and 83.6 on the 200-clip test split, and
    the floor of issue #25 (85.8) sits inside that noise. A few hundred clips more make the floor check mean what it says."""

    def __init__(self, folder: Path, data_cfg: DataConfig):
        self.cfg = replace(data_cfg, root=Path(folder), dataset="synthetic", cache_dir=None, limit=None,
                           text_corpus=None, mismatched=0.0, segments=None)
        if not (self.cfg.root / "folds.json").is_file():
            raise UserError(f"{folder} is not a generated dataset (no folds.json): build one with "
                            f"python -m merclip.data.synthetic --out {folder} --n 1000 --seed 1 --style speech")
        if self.cfg.root.resolve() == Path(data_cfg.root).resolve():  # its train split is what the model learns
            raise UserError(f"the generated selection set {folder} is the training data's own folder: give another "
                            f"seed's (python -m merclip.data.synthetic --out DIR --n 1000 --seed 1 --style speech)")

    def __call__(self, checkpoint: Path) -> float:
        model = load_checkpoint(checkpoint)
        loaders, _ = build_loaders(model, self.cfg, splits=GENERATED_SPLITS, shuffle=False)
        results = [evaluate_model(model, loaders[split], torch.device("cpu")) for split in GENERATED_SPLITS
                   if len(loaders[split].dataset)]  # a small set may leave a split empty
        probs = torch.from_numpy(np.concatenate([r.probs for r in results]))  # (N, C)
        truth = np.concatenate([r.targets for r in results])  # (N, C)
        return emotion_metrics(truth, decisions("emotion", probs, model.cfg.emotion_threshold).numpy())["micro_f1"]


class DevSelection:
    """The `after_epoch` hook: score the epoch's checkpoint on the dev clips, keep the best one in `<out>/dev-best`."""

    def __init__(self, realish: Path, out: Path, min_generated: float, split: str = "dev", resume: bool = False,
                 max_doubt: float = 1.0, selection: GeneratedSelection | None = None):
        self.folder, self.out, self.selection = realish, out, selection
        self.clips = load(realish / "realish.json", split)
        if not self.clips:
            raise UserError(f"the real-ish set in {realish} has no {split!r} clips: build it with "
                            f"python -m merclip.data.realish --out {realish}")
        self.min_generated, self.max_doubt = min_generated, max_doubt
        self.best = (False, False, -1.0)  # (eligible, fusion adds, rank_score), compared in that order
        if resume and log_path(out).is_file():  # a resumed run ranks its new epochs against the ones already logged
            logged = read_log(out, READ_TO_RESUME)
            judged = {"generated_selection_micro_f1" in r for r in logged}
            if judged and judged != {selection is not None}:  # the two measures differ by 2-3 points: not comparable
                raise UserError(f"{log_path(out).name} was logged {'with' if True in judged else 'without'} "
                                f"--generated-selection: resume the run the same way")
            self.best = max([self.best] + [(r["eligible"], r["fusion_adds"],
                                            rank_score(r["score"], generated_f1(r))) for r in logged])
        else:
            log_path(out).unlink(missing_ok=True)

    def __call__(self, epoch: int, checkpoint: Path) -> None:
        rows, doubt = dev_readings(checkpoint, self.clips, self.folder)
        valid = generated_valid_f1(checkpoint)
        judged = {"generated_selection_micro_f1": self.selection(checkpoint)} if self.selection else {}
        generated = judged.get("generated_selection_micro_f1", valid)
        adds = fusion_adds(rows)
        sure = worst_doubt(doubt) <= self.max_doubt
        eligible = adds and sure and generated >= self.min_generated
        score = dev_score(rows["LVA"])
        rank = (eligible, adds, rank_score(score, generated))
        append_row(self.out, {"epoch": epoch + 1, "score": score, "rank_score": rank[2], "fusion_adds": adds,
                              "generated_valid_micro_f1": valid, **judged, "eligible": eligible, "fusion_doubt": doubt,
                              **rows})
        print(f"epoch {epoch + 1}: generated valid F1 {100 * valid:.1f}"
              + (f", selection set F1 {100 * generated:.1f}" if judged else "") + "; real-ish dev " + ", ".join(
            f"{name} F1 {100 * m['micro_f1']:.1f} top-1 {100 * m['top1_hit_rate']:.1f}" for name, m in rows.items())
            + (" (best so far)" if rank > self.best else ""))
        if rank > self.best:
            self.best = rank
            self._keep(checkpoint, epoch)

    def _keep(self, checkpoint: Path, epoch: int) -> None:
        tmp, final = self.out / "dev-best.tmp", self.out / "dev-best"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name in CHECKPOINT_FILES:
            shutil.copy2(checkpoint / name, tmp / name)
        (tmp / "selected.json").write_text(json.dumps({"epoch": epoch + 1, "eligible": self.best[0],
                                                       "fusion_adds": self.best[1], "rank_score": self.best[2]}))
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("--realish", required=True, help="the real-ish set's folder (python -m merclip.data.realish)")
    # both are shares (not percentages); nan would make every epoch ineligible: unit_float refuses it
    parser.add_argument("--min-generated", type=unit_float, default=GENERATED_FLOOR,
                        help="an epoch is eligible only with at least this micro-F1 on the generated validation split, "
                             "or on the selection set with --generated-selection (default: the earlier demo's 87.8 on "
                             "its test split, less 2 points)")
    parser.add_argument("--max-fusion-doubt", type=unit_float, default=0.05,
                        help="an epoch is eligible only if, in at most this share of paired bootstrap resamples of the "
                             "dev clips, the full model scores below a single modality (micro-F1 or top-1); 1 "
                             "asks only that the measured dev scores are at least each single modality's")
    parser.add_argument("--generated-selection", metavar="DIR",
                        help="judge the generated floor and rank on every clip of this second generated dataset "
                             "(python -m merclip.data.synthetic --seed 1 ...) instead of the 100-clip validation split")
    args = parser.parse_args(argv)
    out = Path(args.out)
    with user_errors_exit(parser.prog):
        with option_checks(parser):
            model_cfg, train_cfg, data_cfg = (model_config_from_args(args), train_config_from_args(args),
                                              data_config_from_args(args))
        selection = GeneratedSelection(Path(args.generated_selection), data_cfg) if args.generated_selection else None
        # the run folder's place and the real-ish set are checked before the folder is made: a wrong --out or
        # --realish leaves nothing behind
        check_folder_writable(out, "run folder")
        select = DevSelection(Path(args.realish), out, args.min_generated, resume=args.resume,
                              max_doubt=args.max_fusion_doubt, selection=selection)
        out.mkdir(parents=True, exist_ok=True)
        train(model_cfg, train_cfg, data_cfg, out, run=run_config_from_args(args), resume=args.resume,
              hooks=TrainingHooks(after_epoch=select))
    print(f"dev-best: {out / 'dev-best'} (rank score {select.best[2]:.3f}, eligible: {select.best[0]}, "
          f"fusion adds: {select.best[1]})")


if __name__ == "__main__":
    sys.exit(main())
