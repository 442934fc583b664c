import math

import pytest
import torch

from merclip.models import losses


def test_standardise_and_threshold_match_hand_computation():
    sims = torch.tensor([[0.2, 0.4, 0.6]])
    # mean 0.4, unbiased std sqrt(0.08 / 2) = 0.2 -> z = (-1, 0, 1), sigmoid(1) = 0.731059
    z = losses.standardise(sims)
    assert torch.allclose(z, torch.tensor([[-1.0, 0.0, 1.0]]), atol=1e-4)
    probs = losses.probabilities("emotion", z)
    assert torch.allclose(probs, torch.tensor([[0.268941, 0.5, 0.731059]]), atol=1e-4)
    assert losses.decisions("emotion", probs, 0.6).tolist() == [[False, False, True]]
    # standardisation is shift- and scale-invariant per sample
    assert torch.allclose(losses.standardise(sims * 3 + 1), z, atol=1e-4)


def test_threshold_is_strict_at_point_six():
    """Algorithm 1, line 6: values *greater than* the threshold become 1."""
    probs = torch.tensor([[0.6, 0.5999, 0.61]])
    assert losses.decisions("emotion", probs, 0.6).tolist() == [[False, False, True]]


FIG5_PROBS = [0.239, 0.647, 0.781, 0.303, 0.680, 0.342]  # paper, Fig. 5 (c), happy .. fear


def test_fig5_probabilities_come_from_unbiased_standardisation():
    """Inverting Fig. 5's sigmoid gives standardised logits: mean ~0 and sum of squares ~n - 1 = 5 (unbiased std),
    not n = 6 (population std). Any similarities that are an affine map of those logits reproduce the figure."""
    p = torch.tensor([FIG5_PROBS], dtype=torch.float64)
    z = torch.log(p / (1 - p))  # (1, 6)
    assert abs(z.mean().item()) < 0.01
    assert z.pow(2).sum().item() == pytest.approx(5.0, abs=0.05)  # 5.016; population std would give 6
    sims = 0.21 + 0.03 * z  # a plausible band of cosines with the same standardised shape
    probs = losses.probabilities("emotion", losses.standardise(sims))
    assert torch.allclose(probs, p, atol=2e-3)  # three-decimal rounding of the figure
    # bold in the figure = the labels above 0.6: sad, angry, disgust (the clip's ground truth)
    assert losses.decisions("emotion", probs, 0.6).tolist() == [[False, True, True, False, True, False]]
    population = torch.sigmoid((sims - sims.mean()) / sims.std(unbiased=False))
    assert not torch.allclose(population, p, atol=2e-3)


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
