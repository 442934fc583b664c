import math

import torch

from merclip import losses


def test_standardise_and_threshold_match_hand_computation():
    sims = torch.tensor([[0.2, 0.4, 0.6]])
    # mean 0.4, population std sqrt(0.08 / 3) = 0.163299 -> z = (-1.224745, 0, 1.224745),
    # sigmoid(1.224745) = 1 / (1 + e^-1.224745) = 0.772898
    z = losses.standardise(sims)
    assert torch.allclose(z, torch.tensor([[-1.224745, 0.0, 1.224745]]), atol=1e-4)
    probs = losses.probabilities("emotion", z)
    assert torch.allclose(probs, torch.tensor([[0.227102, 0.5, 0.772898]]), atol=1e-4)
    assert losses.decisions("emotion", probs, 0.6).tolist() == [[False, False, True]]
    # standardisation is shift- and scale-invariant per sample
    assert torch.allclose(losses.standardise(sims * 3 + 1), z, atol=1e-4)


def test_threshold_is_inclusive_at_point_six():
    probs = torch.tensor([[0.6, 0.5999, 0.61]])
    assert losses.decisions("emotion", probs, 0.6).tolist() == [[True, False, True]]


def test_sentiment_scale_softmax_argmax_and_ce():
    log_scale = torch.tensor(math.log(1 / 0.07))
    sims = torch.tensor([[0.30, 0.10]])
    logits = losses.scale_logits(sims, log_scale)
    assert torch.allclose(logits, torch.tensor([[0.30 / 0.07, 0.10 / 0.07]]))
    probs = losses.probabilities("sentiment", logits)
    assert torch.allclose(probs[0, 0], torch.sigmoid(torch.tensor(0.2 / 0.07)))
    assert losses.decisions("sentiment", probs).tolist() == [[True, False]]
    loss = losses.task_loss("sentiment", logits, torch.tensor([0]))
    assert torch.isclose(loss, -torch.log(probs[0, 0]))


def test_emotion_bce_equals_formula():
    logits = torch.tensor([[1.0, -1.0]])
    target = torch.tensor([[1.0, 0.0]])
    p = torch.sigmoid(logits)
    expected = -(target * p.log() + (1 - target) * (1 - p).log()).mean()
    assert torch.isclose(losses.task_loss("emotion", logits, target), expected)


def test_logit_scale_is_clamped_at_100():
    assert losses.scale_logits(torch.ones(1, 2), torch.tensor(10.0)).max() == 100.0
