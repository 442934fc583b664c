"""The paper's metrics, computed as its references compute them.

Emotion (multi-label, CMU-MOSEI's six labels). The paper (sec. 4.1) cites [44, 45] for its four metrics and
compares with TAILOR [45] in Table 1, so accuracy follows TAILOR's `src/utils/eval.py`:
  Accuracy  = mean over clips of |Y_i ∩ Ŷ_i| / |Y_i ∪ Ŷ_i| (Jaccard); a clip with empty truth AND empty
              prediction counts 0 (TAILOR's 0/0 -> 0), not 1.
  Precision, Recall, Micro-F1 = micro-averaged over the N x 6 matrix of (clip, label) decisions:
              P = TP / (TP + FP), R = TP / (TP + FN), F1 = 2PR / (P + R) = 2TP / (2TP + FP + FN),
              i.e. sklearn `precision_recall_fscore_support(average='micro')`.
  Why micro and not per clip: every row of the paper's Tables 1, 7 and 9 but DFG's satisfies F1 = 2PR/(P+R)
  (53.1, 63.4 -> 57.8; DFG's 53.4, 45.6 give 49.2, not 49.4), which holds for micro-averaged P/R/F1 but not for
  example-based ones. An empty denominator gives 0 (sklearn's zero_division=0).
  TAILOR's precision and recall are swapped in TAILOR's own code: `get_metrics(y, y_pre)` takes the truth first,
  but its train.py and inference.py call `get_metrics(test_pred, test_label)`, so the "micro_precision" it logs is
  TP / (TP + FN), the recall, and its "micro_recall" is the precision (Jaccard accuracy and F1 are symmetric and
  unaffected). The baselines' P and R in the paper's Table 1 may carry that swap. This module computes the standard
  P and R above; compare precision and recall with Table 1 only with that in mind (accuracy and micro-F1 compare
  either way).
Sentiment: Acc2 and weighted F1, in two conventions (CMU-MultimodalSDK README, MMSA `metricsTop.py`):
  `has0` = negative (< 0) vs non-negative (>= 0) over all clips; `non0` = negative vs positive with the
  zero-score clips removed. The paper evaluates "two specific types of sentiment (positive and negative) that are
  more certain" (sec. 4.1), which this project reads as `non0`.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score


def _safe_div(num: float, den: float) -> float:
    """num / den, 0 when den is 0 (sklearn's zero_division=0, TAILOR's convention)."""
    return float(num / den) if den else 0.0


def jaccard_accuracy(t: np.ndarray, p: np.ndarray) -> float:
    """TAILOR's accuracy: mean_i |T_i ∩ P_i| / |T_i ∪ P_i|, a clip with an empty union counting 0.

    t, p: (N, C) bool. TAILOR divides with 0/0 -> 0, so an all-negative clip predicted all-negative scores 0:
    that matches the paper's numbers, though it is not the 'both empty = perfect' of some other papers.
    """
    inter = (t & p).sum(1).astype(float)  # (N,)
    union = (t | p).sum(1).astype(float)  # (N,)
    return float(np.where(union > 0, inter / np.maximum(union, 1), 0.0).mean()) if len(t) else 0.0


def micro_prf(t: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    """Micro-averaged (precision, recall, F1) over every (clip, label) cell of the (N, C) bool matrices."""
    tp, fp, fn = int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum())
    return _safe_div(tp, tp + fp), _safe_div(tp, tp + fn), _safe_div(2 * tp, 2 * tp + fp + fn)


def emotion_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """y_true, y_pred: (N, C) 0/1 arrays -> accuracy (Jaccard), micro precision / recall / F1."""
    t, p = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    precision, recall, f1 = micro_prf(t, p)
    return {"accuracy": jaccard_accuracy(t, p), "precision": precision, "recall": recall, "micro_f1": f1}


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
    """Single-label emotion (IEMOCAP, MELD): accuracy (IEMOCAP's WA), UA = mean per-class recall over the classes
    present in the truth (IEMOCAP's unweighted accuracy), weighted F1, and F1 per class (as the field reports)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    per_class = f1_score(y_true, y_pred, labels=list(range(len(labels))), average=None, zero_division=0)
    recalls = [float((y_pred[y_true == c] == c).mean()) for c in np.unique(y_true)]
    out = {"accuracy": float((y_true == y_pred).mean()),
           "ua": float(np.mean(recalls)) if recalls else 0.0,
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
