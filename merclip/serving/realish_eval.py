"""Score models on the real-ish evaluation set (merclip.data.realish): micro-F1 and top-1 hit rate, with chance.

    python -m merclip.data.realish --out data/realish --workers 2
    python -m merclip.eval_realish --set data/realish --checkpoint checkpoints/merclip-tiny-synthetic --zero-shot
    python -m merclip.eval_realish --set data/realish --split test --zero-shot     # the held-out split only

Metrics, over the set's clips:
* **micro-F1**: TAILOR's micro-averaged F1 over the N x 6 decisions (merclip.training.metrics.emotion_metrics). MER-CLIP
  decides with its own rule (standardised similarities, sigmoid, > 0.6). The offline zero-shot reference outputs a
  distribution over the labels, so a label is "predicted" when its probability is above the uniform 1/6: this
  project's choice (the reference has no threshold of its own), written here and in docs/results.md.
* **top-1 hit rate**: how often the highest-scoring label is one of the clip's intended emotions.
* **chance**: the micro-F1 of predicting every emotion for every clip, and the top-1 hit rate of a uniformly random
  label (the mean of |intended| / 6); both depend only on the set.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.realish import EMOTIONS, SPLIT_CHOICES, RealishClip, load
from ..training.metrics import emotion_metrics


def truth_matrix(clips: Sequence[RealishClip], labels: Sequence[str] = EMOTIONS) -> np.ndarray:
    """(N, C) 0/1: the intended emotions of each clip."""
    return np.array([[label in c.emotions for label in labels] for c in clips], dtype=np.int64)


def scores_summary(truth: np.ndarray, scores: np.ndarray, decisions: np.ndarray) -> dict[str, float]:
    """micro-F1 (and TAILOR's P, R, accuracy) of the decisions; top-1 hit rate of the scores. truth, decisions:
    (N, C) 0/1; scores: (N, C), higher = more likely."""
    out = emotion_metrics(truth, decisions)
    out["top1_hit_rate"] = float(truth[np.arange(len(truth)), scores.argmax(axis=1)].mean())
    return out


def chance(truth: np.ndarray) -> dict[str, float]:
    """What a model that knows nothing gets: every emotion predicted (micro-F1), a random label (top-1 hit rate)."""
    everything = emotion_metrics(truth, np.ones_like(truth))
    return {**everything, "top1_hit_rate": float((truth.sum(axis=1) / truth.shape[1]).mean())}


def score_clips(clips: Sequence[RealishClip], folder: Path, predict: Callable[[Path, str], tuple[np.ndarray, np.ndarray]],
                desc: str) -> tuple[np.ndarray, np.ndarray]:
    """(scores (N, C), decisions (N, C)) from `predict(video, transcript) -> (scores (C,), decisions (C,))`."""
    rows = [predict(folder / c.video, c.transcript) for c in tqdm(clips, desc=desc, leave=False)]
    return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]).astype(np.int64)


def merclip_predict(checkpoint: str | Path, device: str = "cpu"):
    """A `predict` for score_clips from a MER-CLIP checkpoint whose labels are the six emotion words."""
    from .predictor import Predictor

    predictor = Predictor.from_checkpoint(checkpoint, device=device)
    if [l.lower() for l in predictor.cfg.labels] != list(EMOTIONS):
        raise ValueError(f"the real-ish set is labelled {list(EMOTIONS)}; checkpoint '{checkpoint}' predicts "
                         f"{list(predictor.cfg.labels)}")

    def predict(video: Path, transcript: str):
        r = predictor.predict(video, transcript)
        return (np.array([r.probabilities[l] for l in r.labels]), np.array([r.decisions[l] for l in r.labels]))

    return predict


def zero_shot_predict(part: str = "combined"):
    """A `predict` for score_clips from the offline zero-shot reference (`part`: combined, language or face)."""
    from ..pretrained.offline_zeroshot import OfflineZeroShot

    reference = OfflineZeroShot.from_packages()
    labels = list(EMOTIONS)

    def predict(video: Path, transcript: str):
        r = reference.predict_media(video, transcript if part != "face" else "", labels) if part != "language" \
            else reference.predict([], transcript, labels)
        dist = {"combined": r.combined, "language": r.language, "face": r.face}[part]
        p = np.array([dist[l] for l in labels])
        return p, p > 1.0 / len(labels)

    return predict


def splits_present(clips: Sequence[RealishClip]) -> str:
    """The splits that `clips` hold, "dev", "test" or "dev + test": a manifest may hold fewer than were asked for."""
    return " + ".join(s for s in ("dev", "test") if any(c.split == s for c in clips))


def markdown(rows: dict[str, dict[str, float]], n: int, split: str = "dev + test") -> str:
    """The rows as a markdown table whose header names the split and its number of clips: a number without its
    split cannot be compared with another."""
    header = (f"| model ({n} real-ish clips, split: {split}) | micro-F1 | precision | recall | accuracy (Jaccard) "
              "| top-1 hit rate |")
    lines = [header, "|---|---|---|---|---|---|"]
    for name, m in rows.items():
        lines.append(f"| {name} | {100 * m['micro_f1']:.1f} | {100 * m['precision']:.1f} | {100 * m['recall']:.1f} "
                     f"| {100 * m['accuracy']:.1f} | {100 * m['top1_hit_rate']:.1f} |")
    return "\n".join(lines)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Score MER-CLIP checkpoints and the offline zero-shot reference on "
                                                 "the real-ish evaluation set (micro-F1, top-1 hit rate, chance).")
    parser.add_argument("--set", required=True, help="folder written by python -m merclip.data.realish")
    parser.add_argument("--checkpoint", action="append", default=[], help="MER-CLIP checkpoint (repeatable)")
    parser.add_argument("--zero-shot", action="store_true", help="also the offline zero-shot reference "
                                                                 "(combined, language only, face only)")
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="all",
                        help="score only this split's clips (of those the manifest lists; default: all)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    args.clips = load(Path(args.set) / "realish.json", args.split)
    if not args.clips:
        parser.error(f"{args.set}/realish.json lists no clip of split '{args.split}'")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = _arguments(argv)
    folder, clips = Path(args.set), args.clips
    truth = truth_matrix(clips)
    rows = {"chance (every emotion / a random label)": chance(truth)}
    for ckpt in args.checkpoint:
        rows[f"MER-CLIP `{Path(ckpt).name}`"] = scores_summary(truth, *score_clips(clips, folder, merclip_predict(ckpt, args.device), Path(ckpt).name))
    if args.zero_shot:
        for part in ("combined", "language", "face"):
            scores, decisions = score_clips(clips, folder, zero_shot_predict(part), f"zero-shot {part}")
            rows[f"offline zero-shot reference, {part}"] = scores_summary(truth, scores, decisions)
    print(markdown(rows, len(clips), splits_present(clips)))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
