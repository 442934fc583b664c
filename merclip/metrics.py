"""The paper's metrics.

Emotion (multi-label, example-based, as in the multi-label MER literature the paper compares with):
  Accuracy  = mean_i |Y_i ∩ Ŷ_i| / |Y_i ∪ Ŷ_i|
  Precision = mean_i |Y_i ∩ Ŷ_i| / |Ŷ_i|
  Recall    = mean_i |Y_i ∩ Ŷ_i| / |Y_i|
  Micro-F1  = 2 TP / (2 TP + FP + FN) over all (sample, label) pairs
  A ratio with an empty denominator counts as 1 when both sets are empty (nothing to find, nothing
  claimed) and as 0 otherwise.
Sentiment: Acc2 and weighted F1, in two conventions (DESIGN.md): `non0` = negative vs positive with
neutral (score 0) dropped, the paper's 'certain classes'; `has0` = negative vs non-negative.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score


def _ratio(num: np.ndarray, den: np.ndarray, both_empty: np.ndarray) -> np.ndarray:
    out = np.where(den > 0, num / np.maximum(den, 1), 0.0)
    return np.where(both_empty, 1.0, out)


def emotion_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """y_true, y_pred: (N, C) 0/1 arrays."""
    t, p = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    inter = (t & p).sum(1).astype(float)
    union = (t | p).sum(1).astype(float)
    both_empty = (t.sum(1) == 0) & (p.sum(1) == 0)
    tp, fp, fn = (t & p).sum(), (~t & p).sum(), (t & ~p).sum()
    return {
        "accuracy": float(_ratio(inter, union, both_empty).mean()),
        "precision": float(_ratio(inter, p.sum(1).astype(float), both_empty).mean()),
        "recall": float(_ratio(inter, t.sum(1).astype(float), both_empty).mean()),
        "micro_f1": float(2 * tp / (2 * tp + fp + fn)) if (2 * tp + fp + fn) else 1.0,
    }


def sentiment_metrics(pred_negative: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """pred_negative: (N,) bool model decisions; scores: (N,) ground-truth sentiment in [-3, 3]."""
    pred_negative = np.asarray(pred_negative).astype(bool)
    scores = np.asarray(scores, dtype=float)
    out = {}
    nonzero = scores != 0
    if nonzero.any():
        truth = scores[nonzero] < 0
        out["acc2_non0"] = float((pred_negative[nonzero] == truth).mean())
        out["f1_non0"] = float(f1_score(truth, pred_negative[nonzero], average="weighted"))
    truth0 = scores < 0
    out["acc2_has0"] = float((pred_negative == truth0).mean())
    out["f1_has0"] = float(f1_score(truth0, pred_negative, average="weighted"))
    return out


def single_label_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> dict[str, float]:
    """Single-label emotion (IEMOCAP, MELD): accuracy, weighted F1, and F1 per class (as the field reports)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    per_class = f1_score(y_true, y_pred, labels=list(range(len(labels))), average=None, zero_division=0)
    out = {"accuracy": float((y_true == y_pred).mean()),
           "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", zero_division=0))}
    out.update({f"f1_{name}": float(v) for name, v in zip(labels, per_class)})
    return out


def markdown_table(rows: list[dict], columns: list[str], title: str | None = None, percent: bool = True) -> str:
    """A markdown table in the paper's style (values as percentages with one decimal)."""
    def fmt(v):
        if isinstance(v, float):
            return f"{100 * v:.1f}" if percent else f"{v:.3f}"
        return str(v)

    lines = [f"**{title}**", ""] if title else []
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines) + "\n"
