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

from ..arguments import user_errors_exit
from ..data.realish import EMOTIONS, SPLIT_CHOICES, RealishClip, load
from ..device import select_device
from ..files import check_writable
from ..models.checkpoint import check_checkpoint
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


# The model with every modality, then each modality alone (the others dropped, as the app's toggles drop them):
# the paper's Table 3 question, whether fusion adds to each single modality, asked on real-ish clips.
MODALITY_ROWS: dict[str, tuple[str, ...]] = {"LVA": (), "L only": ("V", "A"), "V only": ("L", "A"),
                                             "A only": ("L", "V")}


def _predictor(checkpoint: str | Path, device: str, clips: int = 0):
    """A Predictor whose feature cache holds `clips` clips (a clip's entry is its towers' outputs, ~40 KB), so that
    scoring every clip once per row decodes each clip only once."""
    from .predictor import Predictor

    predictor = Predictor.from_checkpoint(checkpoint, device=device, cache_size=max(32, clips))
    if [l.lower() for l in predictor.cfg.labels] != list(EMOTIONS):
        raise ValueError(f"the real-ish set is labelled {list(EMOTIONS)}; checkpoint '{checkpoint}' predicts "
                         f"{list(predictor.cfg.labels)}")
    return predictor


def merclip_predict(predictor, drop: tuple[str, ...] = ()):
    """A `predict` for score_clips from a Predictor of a checkpoint whose labels are the six emotion words (built
    by `_predictor`); `drop` names modalities to leave out, as the app's toggles do."""
    def predict(video: Path, transcript: str):
        r = predictor.predict(video, transcript, drop_modalities=drop)
        return (np.array([r.probabilities[l] for l in r.labels]), np.array([r.decisions[l] for l in r.labels]))

    return predict


def merclip_outputs(checkpoint: str | Path, clips: Sequence[RealishClip], folder: Path, device: str = "cpu",
                    per_modality: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"LVA" | "L only" | "V only" | "A only": (scores (N, C), decisions (N, C))} of one checkpoint. One Predictor
    serves every row, so the clips are decoded and encoded once (its feature cache) and a dropped modality re-runs
    only the CMD."""
    predictor = _predictor(checkpoint, device, len(clips))
    wanted = MODALITY_ROWS if per_modality else {"LVA": ()}
    return {name: score_clips(clips, folder, merclip_predict(predictor, drop), f"{Path(checkpoint).name} {name}")
            for name, drop in wanted.items()}


def merclip_rows(checkpoint: str | Path, clips: Sequence[RealishClip], folder: Path, device: str = "cpu",
                 per_modality: bool = True) -> dict[str, dict[str, float]]:
    """{"LVA" | "L only" | "V only" | "A only": metrics} of one checkpoint (`merclip_outputs`, summarised)."""
    return summaries(truth_matrix(clips), merclip_outputs(checkpoint, clips, folder, device, per_modality))


def summaries(truth: np.ndarray, outputs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict[str, float]]:
    """{row: metrics} of `merclip_outputs`' {row: (scores, decisions)}."""
    return {name: scores_summary(truth, *out) for name, out in outputs.items()}


def fusion_doubt(truth: np.ndarray, outputs: dict[str, tuple[np.ndarray, np.ndarray]], resamples: int = 2000,
                 seed: int = 0) -> dict[str, tuple[float, float]]:
    """For each single-modality row of `outputs` (as `merclip_outputs` gives), the share of paired bootstrap
    resamples of the clips in which the full model ("LVA") scores *below* that row: (micro-F1, top-1 hit rate).

    Why: on the real-ish set only the words carry the label (a still photograph, a voice without emotional
    prosody), so the full model and its words alone differ by a few points either way, and on a few hundred clips
    a point estimate of "fusion adds" (the paper's Table 3 question) is as likely to flip between dev and test as
    not (docs/results.md, sessions 7 and 8). A doubt of 0.05 or less in both measures says the margin is not one
    resampling of the clips away from turning. Paired: each resample draws the same clips for both rows."""
    t = truth.astype(bool)
    picks = np.random.default_rng(seed).integers(0, len(t), size=(resamples, len(t)))  # (B, N) clip indices

    def resampled(scores: np.ndarray, decisions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = decisions.astype(bool)
        tp, fp, fn = ((t & p).sum(1)[picks].sum(1), (~t & p).sum(1)[picks].sum(1), (t & ~p).sum(1)[picks].sum(1))
        f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(resamples), where=(2 * tp + fp + fn) > 0)
        hit = t[np.arange(len(t)), scores.argmax(axis=1)].astype(float)[picks].mean(1)
        return f1, hit  # (B,), (B,)

    full = resampled(*outputs["LVA"])
    doubt = {}
    for name, out in outputs.items():
        if name != "LVA":
            single = resampled(*out)
            doubt[name] = (float((full[0] < single[0]).mean()), float((full[1] < single[1]).mean()))
    return doubt


def zero_shot_predict(part: str = "combined"):
    """A `predict` for score_clips from the offline zero-shot reference (`part`: combined, language or face)."""
    from ..pretrained.offline_zeroshot import OfflineZeroShot

    reference = OfflineZeroShot.from_packages()
    labels = list(EMOTIONS)

    def predict(video: Path, transcript: str):
        r = reference.predict_media(video, transcript if part != "face" else "", labels) if part != "language" \
            else reference.predict([], transcript, labels)
        p = reference_distribution(r, part, labels)
        return p, reference_decisions(p)

    return predict


def reference_distribution(result, part: str, labels: Sequence[str]) -> np.ndarray:
    """(C,) the offline reference's probabilities of one part (combined, language or face) of an
    OfflineZeroShotResult."""
    dist = getattr(result, part)
    return np.array([dist[l] for l in labels])


def reference_decisions(probabilities: np.ndarray) -> np.ndarray:
    """The reference "predicts" a label whose probability is above the uniform 1/C (this project's choice: it has
    no threshold of its own)."""
    return probabilities > 1.0 / probabilities.shape[-1]


REFERENCE_PARTS = ("combined", "language", "face")


def zero_shot_rows(clips: Sequence[RealishClip], folder: Path) -> dict[str, dict[str, float]]:
    """{combined | language | face: metrics} of the offline reference, from one decode per clip: its face reading
    does not depend on the words, so one `predict_media` call gives all three distributions."""
    from ..pretrained.offline_zeroshot import OfflineZeroShot

    reference = OfflineZeroShot.from_packages()
    labels = list(EMOTIONS)
    parts: dict[str, list[np.ndarray]] = {part: [] for part in REFERENCE_PARTS}
    for clip in tqdm(clips, desc="zero-shot reference", leave=False):
        r = reference.predict_media(folder / clip.video, clip.transcript, labels)
        for part in REFERENCE_PARTS:
            parts[part].append(reference_distribution(r, part, labels))
    truth = truth_matrix(clips)
    return {part: scores_summary(truth, np.stack(p), reference_decisions(np.stack(p)).astype(np.int64))
            for part, p in parts.items()}


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
    parser.add_argument("--per-modality", action="store_true",
                        help="also each checkpoint with one modality alone (L, V, A only: the others dropped)")
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="all",
                        help="score only this split's clips (of those the manifest lists; default: all)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    args.prog = parser.prog
    # everything that can be checked without scoring, before the first checkpoint is scored: a missing or damaged
    # set, an unknown device, a checkpoint that is not MER-CLIP's and an --out that cannot be written were tracebacks
    with user_errors_exit(parser.prog):
        args.clips = load(Path(args.set) / "realish.json", args.split)
        select_device(args.device)
        for ckpt in args.checkpoint:
            check_checkpoint(ckpt, family="merclip")
        if args.out:
            check_writable(args.out, "results JSON")
    if not args.clips:
        parser.error(f"{args.set}/realish.json lists no clip of split '{args.split}'")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = _arguments(argv)
    folder, clips = Path(args.set), args.clips
    truth = truth_matrix(clips)
    rows = {"chance (every emotion / a random label)": chance(truth)}
    with user_errors_exit(args.prog):  # a clip of the set that is missing or does not decode
        for ckpt in args.checkpoint:
            for name, metrics in merclip_rows(ckpt, clips, folder, args.device, args.per_modality).items():
                rows[f"MER-CLIP `{Path(ckpt).name}`" + ("" if name == "LVA" else f", {name}")] = metrics
        if args.zero_shot:
            for part, metrics in zero_shot_rows(clips, folder).items():
                rows[f"offline zero-shot reference, {part}"] = metrics
    print(markdown(rows, len(clips), splits_present(clips)))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
