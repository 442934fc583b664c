"""The fast paths (batched cheap stage, bf16 autocast, compiled towers) give the plain path's predictions."""
import time

import numpy as np
import pytest
import torch

from merclip.models.speed import SpeedConfig, apply_speed, towers
from merclip.serving.predictor import Predictor

NAMES = ["2s", "5s", "noaudio", "0.5s", "2s", "oneframe"]
TEXTS = ["so happy", "what a terrible day it was for all of us", "hm", "", "so happy", "oh"]


def _probs(results):
    return np.array([list(r.probabilities.values()) for r in results])


def test_predict_batch_beyond_the_cache_size_with_labels_query_and_drops(tiny_ckpt, clips):
    videos = [clips[n] for n in NAMES]
    kwargs = dict(labels=["joy", "grief", "calm"], query_word="Mood", drop_modalities=("A",))
    single = Predictor.from_checkpoint(tiny_ckpt, device="cpu")
    one_by_one = [single.predict(v, t, **kwargs) for v, t in zip(videos, TEXTS)]
    small = Predictor(Predictor.from_checkpoint(tiny_ckpt, device="cpu").model, device="cpu", cache_size=2)
    together = small.predict_batch(videos, TEXTS, batch_size=4, **kwargs)
    assert len(small._cache) == 2  # the cache stayed bounded, and no clip was needed back from it
    assert [r.predicted for r in together] == [r.predicted for r in one_by_one]
    assert np.abs(_probs(together) - _probs(one_by_one)).max() < 1e-5
    for a, b in zip(one_by_one, together):
        assert a.labels == b.labels == ["joy", "grief", "calm"] and a.query_word == b.query_word == "Mood"
        assert not b.present["audio"] and np.all(b.embeddings["audio"] == 0)
        assert [x.weights.shape for x in a.attention] == [x.weights.shape for x in b.attention]
        for x, y in zip(a.attention, b.attention):
            assert np.allclose(x.weights, y.weights, atol=1e-5) and x.items == y.items


def test_bf16_fast_path_agrees_with_fp32_within_bf16_tolerance(tiny_ckpt, clips):
    videos = [clips[n] for n in NAMES[:4]]
    plain = Predictor.from_checkpoint(tiny_ckpt, device="cpu")
    fast = Predictor.from_checkpoint(tiny_ckpt, device="cpu", speed=SpeedConfig(bf16=True))
    assert plain.speed == SpeedConfig() and fast.speed.bf16
    p32 = _probs(plain.predict_batch(videos, TEXTS[:4]))
    p16 = _probs(fast.predict_batch(videos, TEXTS[:4]))
    assert p16.dtype == np.float64 and np.isfinite(p16).all()
    assert np.abs(p16 - p32).max() < 0.03  # bf16 keeps 8 bits of mantissa
    assert not np.array_equal(p16, p32)  # bf16 really ran


def test_compiled_towers_keep_checkpoint_keys_and_predictions(tiny_ckpt, clips):
    plain = Predictor.from_checkpoint(tiny_ckpt, device="cpu")
    keys = set(plain.model.state_dict())
    compiled = Predictor.from_checkpoint(tiny_ckpt, device="cpu",
                                         speed=SpeedConfig(compile=True, compile_backend="aot_eager"))
    assert len(towers(compiled.model)) == 4  # vision, audio, language, frozen label-encoder text tower
    assert set(compiled.model.state_dict()) == keys
    apply_speed(compiled.model, compiled.speed)  # idempotent: no double wrapping
    for name, text in (("2s", "so happy"), ("5s", "what a terrible day")):
        a, b = plain.predict(clips[name], text), compiled.predict(clips[name], text)
        assert a.predicted == b.predicted
        assert np.abs(_probs([a]) - _probs([b])).max() < 1e-5


def test_speed_presets_per_device():
    assert SpeedConfig.interactive("cpu") == SpeedConfig()
    assert SpeedConfig.throughput("cpu") == SpeedConfig()
    assert SpeedConfig.interactive("cuda") == SpeedConfig()  # bf16 loses at batch 1 (H100: docs/benchmarks.md)
    assert SpeedConfig.throughput("cuda") == SpeedConfig(bf16=True, compile=True, patch_matmul=True)


def test_warm_up_text_embeds_every_built_in_label_set_and_query_word(tiny_ckpt):
    from merclip.labels import LABEL_SETS, QUERY_WORDS

    predictor = Predictor.from_checkpoint(tiny_ckpt, device="cpu")
    assert len(predictor.model.text_memo) == 0
    predictor.warm_up_text()
    memo = predictor.model.text_memo.snapshot()
    built_in = {("labels", *labels) for kinds in LABEL_SETS.values() for labels in kinds.values()}
    assert set(memo) == built_in | {("query", w) for w in QUERY_WORDS}  # each embedded once, nothing else
    before = {k: v.clone() for k, v in memo.items()}
    predictor.warm_up_text()  # a second warm-up computes nothing new
    memo = predictor.model.text_memo.snapshot()
    assert memo.keys() == before.keys() and all(memo[k] is before[k] or torch.equal(memo[k], before[k]) for k in memo)


def test_patch_embedding_as_matmul_equals_the_strided_convolution():
    """ViT-B-32's patch embedding shape (3 -> 768, 32x32, stride 32, no bias), and an odd size whose remainder the
    convolution drops, against torch's own conv2d, forward and gradients."""
    from torch import nn

    from merclip.models.speed import PatchEmbedMatmul, is_patch_embedding

    torch.manual_seed(0)
    for channels, size, bias in ((768, 224, False), (16, 70, True)):
        conv = nn.Conv2d(3, channels, kernel_size=32, stride=32, bias=bias)
        assert is_patch_embedding(conv)
        twin = nn.Conv2d(3, channels, kernel_size=32, stride=32, bias=bias)
        twin.load_state_dict(conv.state_dict())
        fast = PatchEmbedMatmul.from_conv(twin)
        assert fast.state_dict().keys() == conv.state_dict().keys() and fast.weight is twin.weight
        x = torch.randn(2, 3, size, size, requires_grad=True)
        x2 = x.detach().clone().requires_grad_(True)
        want, got = conv(x), fast(x2)
        assert got.shape == want.shape == (2, channels, size // 32, size // 32)
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
        grad = torch.randn_like(want)
        want.backward(grad)
        got.backward(grad)
        torch.testing.assert_close(x2.grad, x.grad, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(fast.weight.grad, conv.weight.grad, atol=1e-3, rtol=1e-4)
    assert not is_patch_embedding(nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1))


def test_patch_matmul_keeps_keys_and_predictions(tiny_ckpt, clips):
    from merclip.models.speed import PatchEmbedMatmul

    plain = Predictor.from_checkpoint(tiny_ckpt, device="cpu")
    fast = Predictor.from_checkpoint(tiny_ckpt, device="cpu", speed=SpeedConfig(patch_matmul=True))
    keys = set(plain.model.state_dict())
    assert set(fast.model.state_dict()) == keys
    assert any(isinstance(m, PatchEmbedMatmul) for m in fast.model.modules())
    a, b = plain.predict(clips["2s"], "so happy"), fast.predict(clips["2s"], "so happy")
    assert a.predicted == b.predicted
    assert np.abs(_probs([a]) - _probs([b])).max() < 1e-5


def test_compile_mode_reaches_torch_compile(tiny_model, monkeypatch):
    """SpeedConfig.compile_mode ("reduce-overhead": CUDA graphs for the launch-bound training step) is what each tower
    is compiled with; the default mode passes none, so the aot_eager test backend keeps working."""
    import copy

    from torch import nn

    calls = []
    monkeypatch.setattr(nn.Module, "compile", lambda self, **kwargs: calls.append(kwargs))
    apply_speed(copy.deepcopy(tiny_model), SpeedConfig(compile=True, compile_mode="reduce-overhead"))
    assert len(calls) == 4 and all(c == {"backend": "inductor", "mode": "reduce-overhead"} for c in calls)
    calls.clear()
    model, speed = copy.deepcopy(tiny_model), SpeedConfig(compile=True, compile_backend="aot_eager")
    apply_speed(model, speed)
    assert len(calls) == 4 and all(c == {"backend": "aot_eager"} for c in calls)
    calls.clear()
    apply_speed(model, speed)
    assert calls == []  # idempotent: a compiled tower is not wrapped again


def test_patch_matmul_replaces_the_convolution_module_on_the_same_parameters(tiny_model):
    """The fast patch embedding is a module of its own holding the convolution's very parameters (so the state-dict
    keys and an optimiser's references stay); a second apply_speed finds nothing left to replace."""
    import copy

    from merclip.models.speed import PatchEmbedMatmul, patch_embeddings_as_matmul

    model = copy.deepcopy(tiny_model)
    params = dict(model.named_parameters())
    apply_speed(model, SpeedConfig(patch_matmul=True))
    assert type(model.vision.visual.conv1) is PatchEmbedMatmul and type(model.audio.visual.conv1) is PatchEmbedMatmul
    assert params.keys() == dict(model.named_parameters()).keys()
    assert all(p is params[k] for k, p in model.named_parameters())
    assert patch_embeddings_as_matmul(model) == 0
    with pytest.raises(ValueError, match="not a patch embedding"):
        PatchEmbedMatmul.from_conv(torch.nn.Conv2d(3, 8, kernel_size=3, padding=1))
