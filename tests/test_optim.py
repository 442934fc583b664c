"""The optimiser's two options (merclip/training/optim.py): the cosine schedule against torch's own scheduler, and the
language parts' learning-rate share, seen in which parameters an optimiser step moves."""
import subprocess
import sys

import pytest
import torch

from merclip.config import TrainConfig
from merclip.model_configs.presets import tiny_config
from merclip.models.merclip import build_model
from merclip.training.optim import LANGUAGE_PREFIXES, build_optimizer, lr_factor, set_lr


def test_cosine_factor_matches_torchs_cosine_annealing():
    """torch.optim.lr_scheduler.CosineAnnealingLR (eta_min 0) is the independent reference, step by step."""
    total = 37
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    for step in range(total + 1):
        assert lr_factor("cosine", step, total) * 1e-3 == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9, abs=1e-15)
        opt.step()
        sched.step()
    assert lr_factor("constant", 5, total) == 1.0
    with pytest.raises(ValueError, match="unknown lr_schedule 'linear'"):
        lr_factor("linear", 0, total)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(tiny_config())


def _one_step(model, cfg: TrainConfig, factor: float = 1.0) -> dict[str, bool]:
    """Which trainable parameters one AdamW step with every gradient 1 moves, by name."""
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    opt = build_optimizer(model, cfg)
    set_lr(opt, factor)
    for p in model.parameters():
        p.grad = torch.ones_like(p) if p.requires_grad else None
    opt.step()
    moved = {n: not torch.equal(before[n], p.detach()) for n, p in model.named_parameters() if p.requires_grad}
    with torch.no_grad():  # put the shared module-scoped model back
        for n, p in model.named_parameters():
            if n in before:
                p.copy_(before[n])
    return moved


def test_language_scale_zero_freezes_the_words_and_trains_the_rest(model):
    moved = _one_step(model, TrainConfig(lr=1e-3, language_lr_scale=0.0))
    language = [n for n in moved if n.startswith(LANGUAGE_PREFIXES)]
    rest = [n for n in moved if not n.startswith(LANGUAGE_PREFIXES)]
    assert language and rest  # the tiny model has both kinds
    assert not any(moved[n] for n in language)
    assert all(moved[n] for n in rest)


def test_language_scale_sets_the_groups_rates_and_the_schedule_scales_both(model):
    cfg = TrainConfig(lr=1e-3, language_lr_scale=0.1)
    opt = build_optimizer(model, cfg)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-3, 1e-4])
    ids = {id(p) for p in opt.param_groups[1]["params"]}
    assert ids == {id(p) for n, p in model.named_parameters() if p.requires_grad and n.startswith(LANGUAGE_PREFIXES)}
    set_lr(opt, 0.5)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([5e-4, 5e-5])
    # the default keeps one group in the model's order, the layout of optimiser states saved by earlier runs
    plain = build_optimizer(model, TrainConfig(lr=1e-3))
    assert len(plain.param_groups) == 1
    assert [id(p) for p in plain.param_groups[0]["params"]] == [id(p) for p in model.parameters() if p.requires_grad]
    # a zero factor (the cosine schedule's last step) moves nothing
    assert not any(_one_step(model, TrainConfig(lr=1e-3), factor=0.0).values())


def test_language_scale_on_a_model_without_language_parts_is_refused():
    with pytest.raises(ValueError, match=r"needs trainable parameters named language\.\* or label_encoder\.\*"):
        build_optimizer(torch.nn.Linear(2, 2), TrainConfig(language_lr_scale=0.5))
    assert len(build_optimizer(torch.nn.Linear(2, 2), TrainConfig()).param_groups) == 1  # the default needs none


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr_schedule="linear"), "lr_schedule must be 'constant' or 'cosine', got 'linear'"),
    (dict(language_lr_scale=1.5), r"language_lr_scale must be in \[0, 1\], got 1.5"),
])
def test_train_config_refuses_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_train_cli_refuses_an_out_of_range_scale_before_any_work(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "merclip.train", "--dataset", "synthetic", "--root", str(tmp_path),
                           "--out", str(tmp_path / "run"), "--language-lr-scale", "2"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "argument --language-lr-scale: must be a number between 0 and 1 (both included), got '2'" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "run").exists()
