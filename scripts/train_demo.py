"""Train the shipped demo model, choosing its epoch on the real-ish dev split (issue #25; scripts/make_demo_model.sh).

Why not the generated validation split: it comes from the same generator as the training clips, so it rewards
learning the generator (its faces, its phrasebook), which is what made the earlier demo read real sentences worse
than the untrained word-similarity reference. The real-ish dev split (`merclip.data.realish`, sentences written
independently of the generator, real photographs, espeak-ng voices) is what every choice of this recipe is made on;
its test split is read once per shipped model (`python -m merclip.eval_realish --split test`).

Takes every option of `python -m merclip.train`, plus `--realish DIR`. After each epoch the checkpoint is scored
on the dev clips (micro-F1 with the paper's decision rule, and the top-1 hit rate); the epoch with the best mean
of the two is copied to `<out>/dev-best/`, and every epoch's scores go to `<out>/dev_selection.jsonl`.

    python scripts/train_demo.py --realish data/realish --dataset synthetic --root data/speech --out runs/demo ...
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, as scripts/make_reference_outputs.py is

from merclip.arguments import user_errors_exit  # noqa: E402
from merclip.data.realish import load
from merclip.serving.realish_eval import merclip_predict, score_clips, scores_summary, truth_matrix
from merclip.training.loop import build_parser, train
from merclip.training.options import (data_config_from_args, model_config_from_args, run_config_from_args,
                                      train_config_from_args)
from merclip.training.runtime import TrainingHooks

CHECKPOINT_FILES = ("model.safetensors", "config.json")


def dev_score(metrics: dict[str, float]) -> float:
    """The selection criterion: the mean of micro-F1 and the top-1 hit rate (both in [0, 1])."""
    return (metrics["micro_f1"] + metrics["top1_hit_rate"]) / 2


class DevSelection:
    """The `after_epoch` hook: score the epoch's checkpoint on the dev clips, keep the best one in `<out>/dev-best`."""

    def __init__(self, realish: Path, out: Path, split: str = "dev"):
        self.folder, self.out = realish, out
        self.clips = [c for c in load(realish / "realish.json") if getattr(c, "split", "dev") == split]
        if not self.clips:
            raise ValueError(f"the real-ish set in {realish} has no {split!r} clips: build it with "
                             f"python -m merclip.data.realish --out {realish}")
        self.truth = truth_matrix(self.clips)
        self.best = -1.0

    def __call__(self, epoch: int, checkpoint: Path) -> None:
        metrics = scores_summary(self.truth, *score_clips(self.clips, self.folder, merclip_predict(checkpoint),
                                                          f"dev, epoch {epoch + 1}"))
        score = dev_score(metrics)
        with open(self.out / "dev_selection.jsonl", "a") as log:
            log.write(json.dumps({"epoch": epoch + 1, "score": score, **metrics}) + "\n")
        print(f"epoch {epoch + 1}: dev micro-F1 {100 * metrics['micro_f1']:.1f}, "
              f"top-1 {100 * metrics['top1_hit_rate']:.1f}" + (" (best so far)" if score > self.best else ""))
        if score > self.best:
            self.best = score
            self._keep(checkpoint, epoch)

    def _keep(self, checkpoint: Path, epoch: int) -> None:
        tmp, final = self.out / "dev-best.tmp", self.out / "dev-best"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name in CHECKPOINT_FILES:
            shutil.copy2(checkpoint / name, tmp / name)
        (tmp / "selected.json").write_text(json.dumps({"epoch": epoch + 1, "dev_score": self.best}))
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("--realish", required=True, help="the real-ish set's folder (python -m merclip.data.realish)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    with user_errors_exit(parser.prog):
        select = DevSelection(Path(args.realish), out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "dev_selection.jsonl").unlink(missing_ok=True)
        train(model_config_from_args(args), train_config_from_args(args), data_config_from_args(args), out,
              run=run_config_from_args(args), hooks=TrainingHooks(after_epoch=select))
    print(f"dev-best: {out / 'dev-best'} (score {select.best:.3f})")


if __name__ == "__main__":
    sys.exit(main())
