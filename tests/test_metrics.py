import numpy as np
import pytest

from merclip.metrics import emotion_metrics, markdown_table, sentiment_metrics


def test_emotion_metrics_hand_computed():
    y_true = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1]])
    y_pred = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    # per sample |∩|/|∪|: 1/3, 1, 1 (both empty), 0      -> accuracy 7/12
    # precision |∩|/|Ŷ|: 1/2, 1, 1, 0 (nothing predicted) -> 5/8
    # recall    |∩|/|Y|: 1/2, 1, 1, 0                     -> 5/8
    # micro: TP 2, FP 1, FN 3 -> F1 = 4 / (4 + 1 + 3) = 0.5
    m = emotion_metrics(y_true, y_pred)
    assert m == pytest.approx({"accuracy": 7 / 12, "precision": 5 / 8, "recall": 5 / 8, "micro_f1": 0.5})


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
    from merclip.metrics import single_label_metrics

    m = single_label_metrics(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), ["a", "b", "c"])
    # class a: P 1, R 1/2 -> F1 2/3; b: P 1/2, R 1 -> 2/3; c: 1. weighted by support (2, 1, 1) -> (4/3 + 2/3 + 1) / 4
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["f1_a"] == pytest.approx(2 / 3) and m["f1_c"] == pytest.approx(1.0)
    assert m["weighted_f1"] == pytest.approx((2 * 2 / 3 + 2 / 3 + 1) / 4)
