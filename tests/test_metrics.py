import numpy as np
import pytest

from merclip.training.metrics import (
    emotion_metrics,
    markdown_table,
    micro_prf,
    sentiment_metrics,
)


def test_emotion_metrics_hand_computed():
    y_true = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1]])
    y_pred = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    # per clip |∩|/|∪|: 1/3, 1, 0 (both empty counts 0, as TAILOR), 0 -> accuracy (1/3 + 1) / 4 = 1/3
    # micro over the 4x4 matrix: TP 2, FP 1, FN 3 -> P 2/3, R 2/5, F1 = 4 / (4 + 1 + 3) = 0.5
    m = emotion_metrics(y_true, y_pred)
    assert m == pytest.approx({"accuracy": 1 / 3, "precision": 2 / 3, "recall": 2 / 5, "micro_f1": 0.5})


def test_both_empty_clip_counts_zero_and_empty_denominators_give_zero():
    assert emotion_metrics(np.zeros((3, 6)), np.zeros((3, 6))) == {
        "accuracy": 0.0, "precision": 0.0, "recall": 0.0, "micro_f1": 0.0}


# (precision, recall, micro-F1) in percent: MER-CLIP's own rows of the paper's Tables 1, 7 and 9, and the
# baselines of Table 1 it copies from TAILOR.
PAPER_PRF_ROWS = [
    (53.1, 63.4, 57.8),  # Table 1, MER-CLIP
    (63.3, 42.9, 51.1), (63.6, 44.5, 52.3), (48.2, 48.6, 48.4), (37.1, 57.1, 45.0), (59.1, 47.6, 52.8),
    (63.9, 45.2, 52.9),  # Table 1, RAVEN, MulT, SIMM, MISA, HHMPN, TAILOR
    (54.8, 59.2, 56.9),  # Table 7, sentence labels
    (55.1, 59.5, 57.2), (52.3, 64.3, 57.7), (54.7, 59.0, 56.8), (53.3, 61.9, 57.3), (55.5, 59.6, 57.5),
    (52.7, 62.8, 57.3),  # Table 9, query words
]
DFG_ROW = (53.4, 45.6, 49.4)  # Table 1's DFG, copied from TAILOR: the one row that does not fit


def decisions_with_prf(precision: float, recall: float) -> tuple[np.ndarray, np.ndarray]:
    """(N, 6) truth and decision matrices whose micro precision and recall (percent) lie within 0.01 of the given
    ones: the fewest true positives for which the rounded false-positive and false-negative counts get there."""
    for tp in range(1, 10_000):
        fp, fn = round(tp * (100 / precision - 1)), round(tp * (100 / recall - 1))
        if abs(100 * tp / (tp + fp) - precision) <= 0.01 and abs(100 * tp / (tp + fn) - recall) <= 0.01:
            break
    cells = tp + fp + fn
    truth = np.zeros(cells + (-cells) % 6, bool)  # padded with true negatives to whole clips of six labels
    decided = truth.copy()
    truth[: tp + fn] = True  # cells [0, tp): true positives; [tp, tp + fn): false negatives
    decided[:tp] = True
    decided[tp + fn : cells] = True  # [tp + fn, cells): false positives
    return truth.reshape(-1, 6), decided.reshape(-1, 6)


@pytest.mark.parametrize("precision,recall,f1", PAPER_PRF_ROWS)
def test_micro_f1_of_the_papers_precision_and_recall_is_the_papers_f1(precision, recall, f1):
    """Decisions with a paper row's P and R give, through metrics.py, that row's F1 to the rounding of one decimal
    (P, R and F1 +-0.05 each): the paper's rows obey F1 = 2PR/(P+R), which holds for micro-averaged P/R/F1 (as
    sklearn's average='micro') but not for per-clip averages, which is why metrics.py micro-averages."""
    from sklearn.metrics import precision_recall_fscore_support

    truth, decided = decisions_with_prf(precision, recall)
    P, R, F = micro_prf(truth, decided)
    assert (100 * P, 100 * R) == pytest.approx((precision, recall), abs=0.01)
    assert 100 * F == pytest.approx(f1, abs=0.1)
    assert F == pytest.approx(2 * P * R / (P + R), rel=1e-12)
    assert (P, R, F) == pytest.approx(precision_recall_fscore_support(truth, decided, average="micro")[:3], rel=1e-12)
    m = emotion_metrics(truth, decided)
    assert (m["precision"], m["recall"], m["micro_f1"]) == (P, R, F)


def test_dfg_row_of_table_1_does_not_fit_the_micro_identity():
    """The check above can fail: DFG's printed P and R give a micro-F1 of 49.2, not its printed 49.4."""
    precision, recall, f1 = DFG_ROW
    F = micro_prf(*decisions_with_prf(precision, recall))[2]
    assert 100 * F == pytest.approx(49.2, abs=0.05) and abs(100 * F - f1) > 0.15


@pytest.mark.parametrize("seed", range(5))
def test_emotion_metrics_match_sklearn_on_random_data(seed):
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(seed)
    t = rng.random((200, 6)) < rng.uniform(0.05, 0.5)
    p = rng.random((200, 6)) < rng.uniform(0.05, 0.5)
    t[:5] = p[:5] = False  # a few all-negative clips
    m = emotion_metrics(t, p)
    P, R, F, _ = precision_recall_fscore_support(t, p, average="micro", zero_division=0)
    assert (m["precision"], m["recall"], m["micro_f1"]) == pytest.approx((P, R, F))
    assert m["micro_f1"] == pytest.approx(2 * P * R / (P + R))
    inter, union = (t & p).sum(1), (t | p).sum(1)
    expected_acc = np.mean([i / u if u else 0.0 for i, u in zip(inter, union)])
    assert m["accuracy"] == pytest.approx(expected_acc)


def test_sentiment_metrics_both_conventions():
    scores = np.array([2.0, -1.0, 0.0, -0.3, 1.0])
    pred_negative = np.array([False, True, True, False, False])
    m = sentiment_metrics(pred_negative, scores)
    # non0 drops the neutral: truths neg = [F, T, T, F], preds [F, T, F, F] -> 3/4
    assert m["acc2_non0"] == pytest.approx(0.75)
    # has0: neutral counts as non-negative: truths [F, T, F, T, F], preds [F, T, T, F, F] -> 3/5
    assert m["acc2_has0"] == pytest.approx(0.6)
    # weighted F1 of the non0 case: class F (2 true, 3 pred, 2 tp) f1 = 0.8; class T (2 true, 1 pred, 1 tp) f1 = 2/3
    assert m["f1_non0"] == pytest.approx(0.5 * 0.8 + 0.5 * 2 / 3)


def test_markdown_table_in_paper_format():
    table = markdown_table([{"model": "MER-CLIP", "accuracy": 0.4932}], ["model", "accuracy"], title="MOSEI")
    assert "| MER-CLIP | 49.3 |" in table and table.startswith("**MOSEI**")


def test_single_label_metrics_hand_computed():
    from merclip.training.metrics import single_label_metrics

    m = single_label_metrics(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), ["a", "b", "c"])
    # class a: P 1, R 1/2 -> F1 2/3; b: P 1/2, R 1 -> 2/3; c: 1. weighted by support (2, 1, 1) -> (4/3 + 2/3 + 1) / 4
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["f1_a"] == pytest.approx(2 / 3) and m["f1_c"] == pytest.approx(1.0)
    assert m["weighted_f1"] == pytest.approx((2 * 2 / 3 + 2 / 3 + 1) / 4)
    # UA: mean per-class recall (a 1/2, b 1, c 1) = 5/6, as sklearn's balanced accuracy
    from sklearn.metrics import balanced_accuracy_score

    assert m["ua"] == pytest.approx(5 / 6) == balanced_accuracy_score([0, 0, 1, 2], [0, 1, 1, 2])


def test_acc2_has0_and_non0_differ_when_zero_scores_are_kept():
    """MMSA metricsTop.py: has0 = (truth < 0) vs (pred < 0) over all clips; non0 drops the zero-score clips."""
    scores = np.array([0.0, 0.0, 0.0, 1.0, -1.0, 2.0])
    pred_negative = np.array([True, True, False, False, True, False])
    m = sentiment_metrics(pred_negative, scores)
    assert m["acc2_non0"] == pytest.approx(1.0)  # the three non-zero clips are all right
    assert m["acc2_has0"] == pytest.approx(4 / 6)  # two zeros predicted negative: wrong under has0
    assert m["f1_has0"] < m["f1_non0"] == pytest.approx(1.0)


def test_evaluation_splits_keep_zero_score_clips_even_when_training_drops_them(tmp_path):
    from pathlib import Path

    from merclip.config import MediaConfig
    from merclip.data.features import CachedClipDataset, cache_path
    from merclip.data.loading import neutral_policy_for
    from merclip.data.mosi_mosei import Sample

    samples = [Sample(f"c{i}", "v", "test", Path(f"/x/{i}.mp4"), None, "t", score, None)
               for i, score in enumerate([0.0, 1.5, -2.0])]
    cfg = MediaConfig()
    for s in samples:
        cache_path(tmp_path, s, cfg).touch()  # the dataset only checks that the cached clip exists
    kept = {split: len(CachedClipDataset(samples, tmp_path, cfg, "sentiment", None, None,
                                         neutral_policy_for(split, "drop")))
            for split in ("train", "valid", "test")}
    assert kept == {"train": 2, "valid": 3, "test": 3}
    assert neutral_policy_for("train", "nonnegative") == "nonnegative"
