"""LSGMER: LSE shapes and gradients, the APC constraint, ablation switches, a tiny run that beats chance."""
import copy
import json

import numpy as np
import pytest
import torch

from merclip.config import MediaConfig
from merclip.data.synthetic import synthesise_voice
from merclip.media import log_mel_images, normalise_images
from merclip.models.batch import ModalityInputs
from merclip.models.lsgmer import LSGMERConfig, build_lsgmer, js_divergence

LABELS = ("neutral", "joy", "sadness", "anger")


def tiny(**kw):
    torch.manual_seed(0)
    return build_lsgmer(LSGMERConfig(clip_model="merclip-tiny", clip_pretrained=None, labels=LABELS, attn_dim=32, **kw))


def batch(model, n=3, t_a=2):
    return ModalityInputs(text_ids=model.tokenizer(["oh no", "great news", "I hate this"][:n]),
                          audio=torch.randn(n, t_a, 3, 224, 224),
                          audio_mask=torch.tensor([[True, True], [True, False], [True, True]][:n]))


def js_numpy(p, q) -> np.ndarray:
    """Jensen-Shannon divergence per row, natural log, written out again from its definition."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    m = (p + q) / 2
    return 0.5 * (p * np.log(p / m)).sum(-1) + 0.5 * (q * np.log(q / m)).sum(-1)


def loss_slope(model, x, targets, name, direction, eps=1e-4) -> float:
    """d loss / dt at parameter `name` + t * direction, by central differences in float64, on a copy of `model` just
    after its training forward on `x`: the label average L_{t-1} is then that forward's L' and, as in training, a
    constant (no gradient flows into it), so each probe starts from it again."""
    probe = copy.deepcopy(model).double().train()
    x64 = ModalityInputs(text_ids=x.text_ids, audio=x.audio.double(), audio_mask=x.audio_mask)
    param, step = dict(probe.named_parameters())[name], eps * direction.double()
    previous = probe.label_ema.clone()
    losses = []
    with torch.no_grad():
        for sign in (1, -1):
            probe.label_ema.copy_(previous)
            param.add_(sign * step)
            losses.append(probe.loss(probe(x64), targets)[0].item())
            param.sub_(sign * step)
    return (losses[0] - losses[1]) / (2 * eps)


def test_lse_shapes_and_gradients():
    model = tiny().train()
    x = batch(model)
    out = model(x)
    assert out.logits.shape == out.probs.shape == out.attribution.shape == (3, 4)
    n_text = max(len(model.tokenizer.encode(t)) for t in ("oh no", "great news", "I hate this")) + 2
    assert out.label_attention["L"].shape == (3, 4, n_text) and out.label_attention["A"].shape == (3, 4, 2)
    assert out.token_weights["A"].shape == (3, 2)
    assert torch.allclose(out.label_attention["A"][1, :, 1], torch.zeros(4))  # padded segment gets no attention
    assert torch.allclose(out.attribution.sum(-1), torch.ones(3), atol=1e-5)
    targets = torch.tensor([0, 1, 3])
    loss, parts = model.loss(out, targets)
    loss.backward()
    for name in ("lse.A.q.weight", "lse.L.k.weight", "lse.A.v.weight", "fusion.weight", "label_encoder.label_ctx"):
        grad = dict(model.named_parameters())[name].grad  # the loss's slope along grad / |grad| is |grad|
        slope = loss_slope(model, x, targets, name, grad / grad.norm())
        assert slope == pytest.approx(grad.norm().item(), rel=1e-3), name
    assert all(p.grad is None for p in model.label_encoder.tower.parameters())
    assert parts["apc"] == pytest.approx(js_numpy(out.attribution.detach(), out.probs.detach()).mean(), rel=1e-5)


def test_apc_is_zero_when_attribution_agrees_and_positive_otherwise():
    p = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert torch.allclose(js_divergence(p, p), torch.zeros(2), atol=1e-6)
    q = torch.tensor([[0.1, 0.2, 0.7], [0.1, 0.1, 0.8]])
    d = js_divergence(p, q)
    assert d.numpy() == pytest.approx(js_numpy(p, q), abs=1e-6) and abs(d[1]) < 1e-6
    assert torch.allclose(js_divergence(p, q), js_divergence(q, p))  # symmetric
    assert d.max() <= np.log(2) + 1e-6  # bounded


def test_ablation_switches_change_the_graph():
    no_lse = tiny(use_lse=False)
    assert not hasattr(no_lse, "lse")
    out = no_lse(batch(no_lse))
    assert out.label_attention == {} and out.token_weights == {}
    no_apc = tiny(use_apc=False)
    out = no_apc(batch(no_apc))
    loss, parts = no_apc.loss(out, torch.tensor([0, 1, 2]))
    assert torch.isclose(loss, torch.tensor(parts["ce"]))  # the APC is still reported, but not added
    assert parts["apc"] == pytest.approx(js_numpy(out.attribution.detach(), out.probs.detach()).mean(), rel=1e-5)
    full = tiny()
    out = full(batch(full))
    loss, parts = full.loss(out, torch.tensor([0, 1, 2]))
    assert loss.item() == pytest.approx(parts["ce"] + 0.5 * parts["apc"], rel=1e-5)


def _generated(n, seed):
    """Audio + text clips: anger -> the generator's angry voice, sadness/joy/neutral -> words (text carries 3 of 4)."""
    rng = np.random.default_rng(seed)
    words = {0: ["we talked about the plan", "it happened on monday"], 1: ["what a wonderful time", "this is fantastic"],
             2: ["I really regret that", "it was awful and sad"], 3: ["we talked about the plan", "it happened on monday"]}
    cfg = MediaConfig()
    ys, texts, audio = [], [], []
    for i in range(n):
        y = int(rng.integers(0, 4))
        labels = np.array([0, 0, 0, 1.0 if y == 3 else 0, 0, 0, 0], np.float32)
        wave = synthesise_voice(labels, 2.0, rng)
        audio.append(normalise_images(torch.from_numpy(log_mel_images(wave, cfg)), (0.48, 0.46, 0.41), (0.27, 0.26, 0.28)))
        texts.append(str(rng.choice(words[y])))
        ys.append(y)
    return texts, torch.stack(audio), torch.tensor(ys)


def test_tiny_training_beats_chance():
    model = tiny().train()
    texts, audio, ys = _generated(96, seed=0)
    t_texts, t_audio, t_ys = _generated(48, seed=1)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=1e-3)
    torch.manual_seed(0)
    for epoch in range(6):
        for idx in torch.randperm(96).split(16):
            out = model(ModalityInputs(text_ids=model.tokenizer([texts[i] for i in idx]), audio=audio[idx]))
            loss, _ = model.loss(out, ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(ModalityInputs(text_ids=model.tokenizer(t_texts), audio=t_audio)).probs.argmax(-1)
    accuracy = (pred == t_ys).float().mean().item()
    majority = torch.bincount(t_ys, minlength=4).max().item() / len(t_ys)
    assert accuracy > max(0.25, majority) + 0.15, (accuracy, majority)


def test_checkpoint_round_trip(tmp_path):
    from merclip.models.checkpoint import load_checkpoint, read_config, save_checkpoint

    model = tiny().eval()
    save_checkpoint(model, tmp_path / "ls")
    assert type(read_config(tmp_path / "ls")).__name__ == "LSGMERConfig"
    loaded = load_checkpoint(tmp_path / "ls")
    x = batch(model)
    with torch.no_grad():
        assert torch.equal(model(x).probs, loaded(x).probs)


def _cli(root, *extra):
    import argparse

    from merclip.training.options import add_data_args, add_model_args

    p = argparse.ArgumentParser()
    add_data_args(p)
    add_model_args(p)
    return p.parse_args(["--root", str(root), "--model", "lsgmer", "--clip-model", "merclip-tiny", "--workers", "1", *extra])


def _csv_rows(meld_root, split: str) -> int:
    """Utterances of one split in a MELD-layout folder, counted from its CSV."""
    import csv

    from merclip.data.synthetic import MELD_SPLITS

    with open(meld_root / MELD_SPLITS[split][0], newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.DictReader(f))


def _valid_metrics(checkpoint, args) -> dict[str, float]:
    """A checkpoint the training saved, evaluated again on the validation split: what its epoch's row must say."""
    from merclip.data.loading import build_loaders
    from merclip.models.checkpoint import load_checkpoint
    from merclip.training.evaluate import evaluate_model
    from merclip.training.options import data_config_from_args

    model = load_checkpoint(checkpoint)
    loaders, scores = build_loaders(model, data_config_from_args(args), ("valid",), shuffle=False)
    return evaluate_model(model, loaders["valid"], torch.device("cpu"), scores).metrics


def test_training_evaluation_and_ablation_on_the_meld_layout(tmp_path):
    from merclip.config import TrainConfig
    from merclip.data.loading import build_loaders
    from merclip.data.synthetic import write_meld
    from merclip.training.ablate import AblationSetup, run_grid
    from merclip.training.evaluate import evaluate_model
    from merclip.training.loop import train
    from merclip.training.options import data_config_from_args, model_config_from_args

    root = write_meld(tmp_path / "meld", n=60, seed=2, progress=False)
    args = _cli(root, "--dataset", "meld", "--batch-size", "8")
    cfg = model_config_from_args(args)
    assert type(cfg).__name__ == "LSGMERConfig" and cfg.labels[:2] == ("neutral", "joy")
    data = data_config_from_args(args)
    result = train(cfg, TrainConfig(lr=1e-3, batch_size=8, epochs=2), data, tmp_path / "run", progress=False)
    assert len(result["history"]) == 2 and "valid_weighted_f1" in result["history"][0]
    assert (tmp_path / "run" / "best" / "model.safetensors").is_file()
    loaders, scores = build_loaders(result["model"], data, ("test",), shuffle=False)
    ev = evaluate_model(result["model"], loaders["test"], torch.device("cpu"), scores)
    assert {"accuracy", "weighted_f1", "f1_joy", "f1_disgust"} <= set(ev.metrics)
    # values, not only keys: the metrics are those of the model's own predictions on every test clip
    from sklearn.metrics import f1_score

    truth = ev.targets if ev.targets.ndim == 1 else ev.targets.argmax(1)
    pred = ev.probs.argmax(1)
    assert len(ev.ids) == len(set(ev.ids)) == len(loaders["test"].dataset) == len(pred) == _csv_rows(root, "test")
    assert np.allclose(ev.probs.sum(1), 1.0, atol=1e-4)
    assert ev.metrics["accuracy"] == pytest.approx(float((pred == truth).mean()))
    assert ev.metrics["weighted_f1"] == pytest.approx(float(f1_score(truth, pred, average="weighted")))
    joy = cfg.labels.index("joy")
    assert ev.metrics["f1_joy"] == pytest.approx(float(f1_score(truth == joy, pred == joy, zero_division=0)))
    for row in result["history"]:  # every train clip seen in each epoch
        assert np.isfinite(row["train_loss"])
        assert row["clips_per_second"] == pytest.approx(_csv_rows(root, "train") / row["train_seconds"], rel=1e-6)
    # the validation metrics are those of the saved models: the last epoch's checkpoint and best/
    last, best = result["history"][-1], result["history"][result["best_epoch"] - 1]
    run = tmp_path / "run"
    assert last["valid_weighted_f1"] == pytest.approx(_valid_metrics(run / "ckpt-epoch002", args)["weighted_f1"])
    assert best["valid_weighted_f1"] == pytest.approx(_valid_metrics(run / "best", args)["weighted_f1"])
    assert result["best"] == max(r["valid_weighted_f1"] for r in result["history"])
    setup = AblationSetup(cfg, TrainConfig(lr=1e-3, batch_size=8, epochs=1), data, tmp_path / "abl")
    table = run_grid("lsgmer", setup, cells=["LSGMER", "w/o APC"])
    assert "| LSGMER |" in table and "| w/o APC |" in table and "weighted_f1" in table


def test_iemocap_leave_one_session_out_training(tmp_path):
    from test_erc_data import _iemocap

    from merclip.config import TrainConfig
    from merclip.data.erc import iemocap_split
    from merclip.training.loop import train
    from merclip.training.options import data_config_from_args, model_config_from_args

    _iemocap(tmp_path)
    split = iemocap_split(tmp_path, "6class", fold=2)
    assert {u.split for u in split if u.clip_id.startswith("Ses02")} == {"test"}
    assert all(u.video.suffix == ".wav" for u in split)
    args = _cli(tmp_path, "--dataset", "iemocap", "--iemocap-setup", "6class", "--fold", "2", "--batch-size", "2")
    cfg = model_config_from_args(args)
    assert cfg.labels == ("happy", "sad", "neutral", "angry", "excited", "frustrated")
    result = train(cfg, TrainConfig(lr=1e-3, batch_size=2, epochs=1), data_config_from_args(args), tmp_path / "run",
                   progress=False)
    row = result["history"][0]
    assert np.isfinite(row["train_loss"])
    valid = _valid_metrics(tmp_path / "run" / "ckpt-epoch001", args)
    assert (row["valid_accuracy"], row["valid_weighted_f1"]) == pytest.approx((valid["accuracy"], valid["weighted_f1"]))
    n_train = sum(u.split == "train" for u in split)
    assert row["clips_per_second"] == pytest.approx(n_train / row["train_seconds"], rel=1e-6)  # every train clip seen


def test_summary_gate_equation():
    """H2 = Attn(L_t, H1, H1); H = sigmoid(H2) * H0 + H2, H0 the utterance feature; h = mean over labels."""
    from merclip.models.lsgmer import LabelGuidedGate

    torch.manual_seed(0)
    gate = LabelGuidedGate(8, 4)
    tokens, labels = torch.randn(2, 5, 8), torch.randn(3, 8)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    pooled, h, alpha, weights = gate(tokens, mask, labels)
    s = (gate.q(labels) @ gate.k(tokens[1, :2]).T) / 2.0  # (C, 2) the valid items of clip 1, sqrt(4) = 2
    h2 = s.softmax(-1) @ gate.v(tokens[1, :2])  # (C, D)
    expected = torch.sigmoid(h2) * tokens[1, :2].mean(0) + h2
    assert torch.allclose(h[1], expected, atol=1e-5) and torch.allclose(pooled[1], expected.mean(0), atol=1e-5)
    assert alpha.shape == (2, 3, 5) and alpha[1, :, 2:].abs().max() == 0 and weights.shape == (2, 5)


def test_label_embeddings_follow_a_moving_average_and_apc_uses_their_cosines():
    model = tiny(label_momentum=0.75).train()
    x = batch(model)
    current = model.label_encoder.labels(list(LABELS)).detach()
    model(x)  # first step: the average starts at L'
    assert torch.allclose(model.label_ema, current, atol=1e-6) and model.label_ema_steps.item() == 1
    with torch.no_grad():
        model.label_encoder.label_ctx.add_(0.5)  # L' moves
    moved = model.label_encoder.labels(list(LABELS)).detach()
    out = model(x)
    assert torch.allclose(model.label_ema, 0.75 * current + 0.25 * moved, atol=1e-5)
    sims = torch.nn.functional.normalize(out.fused, dim=-1) @ torch.nn.functional.normalize(model.label_ema, dim=-1).T
    assert torch.allclose(out.attribution, (sims / 0.07).softmax(-1), atol=1e-4)  # q, at the initial scale
    assert torch.allclose(out.probs, model.classifier(out.fused).softmax(-1), atol=1e-6)  # p from the FC head
    model.eval()
    steps = model.label_ema_steps.item()
    model(x)
    assert model.label_ema_steps.item() == steps  # evaluation reads the average without moving it


def test_configs_before_the_summary_equations_rebuild_v1():
    from merclip.models.checkpoint import read_config

    assert LSGMERConfig().equations == "summary"
    old = json.loads(LSGMERConfig(clip_model="merclip-tiny", clip_pretrained=None).to_json())
    del old["equations"], old["label_momentum"]
    assert LSGMERConfig.from_dict(old).equations == "v1"
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[1] / "checkpoints" / "lsgmer-tiny-synthetic"
    assert read_config(shipped).equations == "v1"  # the shipped demo
