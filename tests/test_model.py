import dataclasses
import math

import pytest
import torch

from merclip.config import ModelConfig
from merclip.labels import EMOTION_SENTENCES, LABEL_SETS, QUERY_WORDS
from merclip.model_configs.presets import tiny_config
from merclip.models.batch import ModalityInputs, trim_token_padding
from merclip.pretrained.text_tower import trimmed_length
from merclip.models.merclip import build_model


def batch(model, b=2, t_v=4, t_a=3):
    ids = model.tokenizer(["what a lovely day", "I am so angry about it"][:b])
    return ModalityInputs(
        text_ids=ids,
        frames=torch.randn(b, t_v, 3, 224, 224),
        audio=torch.randn(b, t_a, 3, 224, 224),
        audio_mask=torch.tensor([[True] * t_a, [True] + [False] * (t_a - 1)][:b]),
    )


def test_every_stage_has_the_documented_shape(tiny_model):
    m, x = tiny_model, batch(tiny_model)
    with torch.no_grad():
        feats = m.encode_modalities(x)
        assert feats.tokens["V"].shape == (2, 4, 64) and feats.pooled["V"].shape == (2, 64)
        assert feats.tokens["A"].shape == (2, 3, 64) and feats.masks["A"].tolist()[1] == [True, False, False]
        n_text = max(len(m.tokenizer.encode(t)) for t in ("what a lovely day", "I am so angry about it")) + 2
        assert feats.tokens["L"].shape == (2, n_text, 64) and feats.pooled["L"].shape == (2, 64)  # trimmed past EOS
        assert feats.masks["L"][0].sum() == len(m.tokenizer.encode("what a lovely day")) + 2  # SOS .. EOS
        # audio pooling ignores padded segments
        assert torch.allclose(feats.pooled["A"][1], feats.tokens["A"][1, 0], atol=1e-5)
        assert m.label_embeddings().shape == (6, 64)
        assert m.query_embedding().shape == (64,)
        out = m(x)
    assert out.logits.shape == out.probs.shape == out.similarity.shape == (2, 6)
    assert out.fused.shape == (2, 64)
    assert [a.modality for a in out.attentions] == ["L", "V", "A"]
    assert out.attentions[0].cross_attn.shape == (2, 4, 1, n_text)
    assert out.attentions[1].cross_attn.shape == (2, 4, 1, 4)
    assert out.attentions[2].self_attn.shape == (2, 4, 1, 1)
    # attention rows are distributions over the valid keys only
    a = out.attentions[2].cross_attn
    assert torch.allclose(a.sum(-1), torch.ones(2, 4, 1), atol=1e-5)
    assert a[1, :, 0, 1:].abs().max() == 0


def test_paper_hyperparameters_by_default():
    cfg = ModelConfig()
    assert (cfg.clip_model, cfg.clip_pretrained, cfg.num_frames, cfg.n_ctx) == ("ViT-B-32", "openai", 12, 8)
    assert (cfg.num_cmd_layers, cfg.cmd_hidden, cfg.cmd_heads, cfg.modality_order) == (3, 512, 8, ("L", "V", "A"))
    assert cfg.cmd_mode == "pooled" and cfg.is_paper_cmd  # Algorithm 1's CMD is the default
    assert cfg.emotion_threshold == 0.6 and math.isclose(cfg.logit_scale_init, 1 / 0.07)


def test_label_encoder_is_frozen_but_its_context_trains(own_tiny_model):
    model = own_tiny_model
    le = model.label_encoder
    assert not any(p.requires_grad for p in le.tower.parameters())
    assert le.label_ctx.requires_grad and le.query_ctx.requires_grad
    assert le.label_ctx.shape == (8, 32)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert not any(n.startswith("label_encoder.tower.") for n in trainable)
    out = model(batch(model))
    target = torch.tensor([[1.0, 0, 0, 0, 0, 0], [0, 0, 1.0, 0, 0, 0]])
    torch.nn.functional.binary_cross_entropy_with_logits(out.logits, target).backward()
    assert le.label_ctx.grad is not None and le.label_ctx.grad.abs().sum() > 0
    assert le.query_ctx.grad is not None and le.query_ctx.grad.abs().sum() > 0


def test_one_optimiser_step_moves_encoders_and_cmd_not_frozen_tower():
    torch.manual_seed(0)
    model = build_model(tiny_config(dropout=0.0)).train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=1e-3)
    out = model(batch(model))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(out.logits, torch.tensor([[1.0, 0, 0, 0, 0, 1], [0, 1.0, 1, 0, 0, 0]]))
    loss.backward()
    opt.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    for prefix in ("vision.visual.conv1", "audio.visual.conv1", "language.tower.transformer", "cmd.layers.0",
                   "cmd.layers.2", "label_encoder.label_ctx", "label_encoder.query_ctx"):
        assert any(n.startswith(prefix) for n in changed), prefix
    assert not any(n.startswith("label_encoder.tower.") for n in changed)
    assert "logit_scale" not in changed  # the emotion head standardises instead of scaling


def test_sentiment_step_trains_the_logit_scale():
    model = build_model(tiny_config(task="sentiment", labels=("positive", "negative"), query_word="Sentiment")).train()
    assert math.isclose(model.logit_scale.exp().item(), 1 / 0.07, rel_tol=1e-6)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    torch.nn.functional.cross_entropy(model(batch(model)).logits, torch.tensor([0, 1])).backward()
    opt.step()
    assert not math.isclose(model.logit_scale.exp().item(), 1 / 0.07, rel_tol=1e-6)


def test_any_label_set_and_query_word_work_at_inference(tiny_model):
    x = batch(tiny_model)
    with torch.no_grad():
        feats = tiny_model.encode_modalities(x)
        for words in (LABEL_SETS["emotion"]["sentence"], ("calm", "excited", "bored")):
            out = tiny_model.predict_from_features(feats, labels=words)
            assert out.probs.shape == (2, len(words))
        sent = tiny_model.predict_from_features(feats, labels=LABEL_SETS["sentiment"]["phrase"], task="sentiment")
        assert torch.allclose(sent.probs.sum(-1), torch.ones(2))
        fused = {q: tiny_model.predict_from_features(feats, query_word=q).fused for q in QUERY_WORDS}
    assert not torch.allclose(fused["Emotion"], fused["Mood"])
    assert not torch.allclose(fused["Emotion"], fused[None])
    assert len(EMOTION_SENTENCES) == 6


def test_label_set_of_one_is_refused(tiny_model):
    with torch.no_grad(), pytest.raises(ValueError, match="at least 2 non-empty labels"):
        tiny_model.predict_from_features(tiny_model.encode_modalities(batch(tiny_model)), labels=["happy", " "])


@pytest.mark.parametrize("use_cmd,use_le", [(False, True), (True, False), (False, False)])
def test_ablation_switches(use_cmd, use_le):
    model = build_model(tiny_config(use_cmd=use_cmd, use_label_encoder=use_le)).eval()
    assert hasattr(model, "cmd") == use_cmd and hasattr(model, "fusion") == (not use_cmd)
    assert hasattr(model, "classifier") == (not use_le) and hasattr(model, "logit_scale") == use_le
    with torch.no_grad():
        out = model(batch(model))
    assert out.logits.shape == (2, 6) and out.fused.shape == (2, 64)
    assert (out.similarity is None) == (not use_le)
    assert len(out.attentions) == (3 if use_cmd else 0)
    if not use_le:
        with pytest.raises(ValueError, match="label set is fixed"):
            model.predict_from_features(model.encode_modalities(batch(model)), labels=["a", "b"])


def test_modality_subset_order_and_pooled_mode():
    model = build_model(tiny_config(modality_order=("A", "L"), cmd_mode="pooled", cmd_layers=None)).eval()
    with torch.no_grad():
        out = model(batch(model))
    assert [a.modality for a in out.attentions] == ["A", "L"]  # |m| = 2 layers, one per modality, in order
    assert out.attentions[0].cross_attn.shape == (2, 4, 1, 1)
    assert not hasattr(model.cmd.modality_in, "V")


@pytest.mark.parametrize("order,layers", [("V", ["V"]), ("VL", ["V", "L"]), ("LVA", ["L", "V", "A"]),
                                          ("ALV", ["A", "L", "V"])])
def test_paper_cmd_has_one_layer_per_modality_in_order(order, layers):
    """Algorithm 1 / Table 3: |m| layers; V alone is one layer, VL is V then L (no cycling)."""
    cfg = tiny_config(modality_order=tuple(order), cmd_mode="pooled", cmd_layers=None)
    assert cfg.is_paper_cmd and cfg.num_cmd_layers == len(order)
    model = build_model(cfg).eval()
    assert len(model.cmd.layers) == len(order) and model.cmd.layer_modalities() == layers


def test_an_explicit_layer_count_still_cycles_for_old_checkpoints():
    cfg = tiny_config(modality_order=("V", "L"), cmd_layers=3)
    assert build_model(cfg).cmd.layer_modalities() == ["V", "L", "V"] and not cfg.is_paper_cmd


def test_pooled_cmd_keys_are_the_eos_and_mean_pooled_vectors():
    """The paper's CMD sees one vector per modality: the language EOS embedding, the mean frame and the mean
    audio segment; per-token / per-frame features beyond those pools do not change its output."""
    torch.manual_seed(0)
    model = build_model(tiny_config(cmd_mode="pooled", cmd_layers=None, dropout=0.0)).eval()
    x = batch(model)
    with torch.no_grad():
        feats = model.encode_modalities(x)
        eos = x.text_ids.argmax(-1)  # (B,)
        assert torch.allclose(feats.pooled["L"], feats.tokens["L"][torch.arange(2), eos], atol=1e-6)
        assert torch.allclose(feats.pooled["V"], feats.tokens["V"].mean(1), atol=1e-5)
        out = model.predict_from_features(feats)
        shuffled = dataclasses.replace(feats, tokens={m: torch.randn_like(t) for m, t in feats.tokens.items()})
        again = model.predict_from_features(shuffled)
    assert [a.cross_attn.shape[-1] for a in out.attentions] == [1, 1, 1]
    assert torch.allclose(out.fused, again.fused)


def test_absent_modality_leaves_query_unchanged_in_its_layer(tiny_model):
    x = batch(tiny_model)
    x.audio = None
    with torch.no_grad():
        out = tiny_model(x)
    assert torch.isfinite(out.fused).all()
    assert out.attentions[2].cross_attn.abs().max() == 0


def test_bad_configs_are_clear():
    with pytest.raises(ValueError, match="modality_order"):
        ModelConfig(modality_order=("L", "X"))
    with pytest.raises(ValueError, match="at least 2 labels"):
        ModelConfig(labels=("happy",))


def test_label_embeddings_are_memoised_only_at_inference():
    model = build_model(tiny_config()).eval()
    with torch.no_grad():
        a = model.label_embeddings(["calm", "tense"])
        assert model.label_embeddings(["calm", "tense"]) is a  # memo hit
        with torch.no_grad():
            model.label_encoder.label_ctx.add_(1.0)
        model.load_state_dict(model.state_dict())  # loading weights drops the memo
        b = model.label_embeddings(["calm", "tense"])
    assert not torch.allclose(a, b)
    model.train()
    c1 = model.label_embeddings(["calm", "tense"])
    assert c1.requires_grad and model.label_embeddings(["calm", "tense"]) is not c1  # never cached in training


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = build_model(tiny_config(dropout=0.0)).train()
    target = torch.tensor([[1.0, 0, 0, 0, 0, 1], [0, 1.0, 1, 0, 0, 0]])
    x = batch(model)

    def grads():
        model.zero_grad()
        model.training_loss(x, target).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    plain = grads()
    model.set_grad_checkpointing(True)
    assert model.vision.visual.transformer.grad_checkpointing and model.language.tower.transformer.grad_checkpointing
    checkpointed = grads()
    assert plain.keys() == checkpointed.keys()
    assert all(torch.allclose(plain[k], checkpointed[k], atol=1e-6) for k in plain)


def test_trimmed_text_tower_equals_the_full_length_tower(own_tiny_model):
    """The fast path (text towers run only up to the longest EOS) gives the plain path's outputs on CPU fp32."""
    model = own_tiny_model
    x = batch(model)
    with torch.no_grad():
        fast = model(x)
        fast_labels = model.label_encoder.labels(list(EMOTION_SENTENCES))
        for tower in (model.language.tower, model.label_encoder.tower):
            tower.trim_padding = False
        model.eval()  # drops the label/query memo, so the plain path recomputes them
        plain = model(x)
        plain_labels = model.label_encoder.labels(list(EMOTION_SENTENCES))
    assert plain.attentions[0].cross_attn.shape[-1] == 77 > fast.attentions[0].cross_attn.shape[-1]
    assert torch.allclose(fast.probs, plain.probs, atol=1e-5) and torch.allclose(fast.fused, plain.fused, atol=1e-5)
    assert torch.allclose(fast_labels, plain_labels, atol=1e-5)


def test_host_trimmed_ids_give_the_full_length_outputs(own_tiny_model):
    """collate_clips and the label encoder cut the padding on the host (so that a GPU never waits for the host to
    learn the longest row); the text towers are causal, so no output changes."""
    ids = own_tiny_model.tokenizer(["a short one", "a somewhat longer transcript than the first one is"])  # (2, 77)
    trimmed = trim_token_padding(ids)
    n = int(ids.argmax(dim=-1).max()) + 1
    assert trimmed.shape == (2, n) and n < ids.shape[1]
    assert torch.equal(trimmed, ids[:, :n]) and not ids[:, n:].any()
    tower = own_tiny_model.language.tower
    tower.trim_padding = False
    with torch.no_grad():
        full_tokens, full_eos = tower(ids)
        cut_tokens, cut_eos = tower(trimmed)
    assert full_tokens.shape[1] == 77 and cut_tokens.shape[1] == n
    assert torch.allclose(full_eos, cut_eos, atol=1e-5) and torch.allclose(full_tokens[:, :n], cut_tokens, atol=1e-5)


def test_text_towers_read_the_longest_row_only_from_host_tensors():
    """On a CPU the tower trims itself (free); elsewhere it runs what it is given: reading eos.max() back from a GPU
    would be a host sync in every step (meta tensors stand in for the accelerator: they have no values to read)."""
    assert trimmed_length(torch.zeros(2, 77, 8), torch.tensor([3, 5]), trim=True) == 6
    assert trimmed_length(torch.zeros(2, 77, 8), torch.tensor([3, 5]), trim=False) == 77
    on_meta = torch.empty(2, 77, 8, device="meta"), torch.empty(2, dtype=torch.long, device="meta")
    assert trimmed_length(*on_meta, trim=True) == 77


def test_label_prompt_ids_are_tokenised_once_per_label_set(own_tiny_model):
    """Training asks for the same labels and query every step: their ids are made (and copied to the device) once."""
    encoder, calls = own_tiny_model.label_encoder, []
    real = encoder.tokenizer
    encoder.tokenizer = lambda texts: calls.append(list(texts)) or real(texts)
    encoder._ids_memo.clear()
    first = encoder.labels(["happy", "sad"])
    again = encoder.labels(["happy", "sad"])
    other = encoder.labels(["angry", "calm"])
    assert len(calls) == 2 and all(len(c) == 2 for c in calls)
    assert torch.equal(first, again) and not torch.allclose(first, other)
    ids = encoder._prompt_ids(["happy", "sad"], torch.device("cpu"))
    assert ids.shape[1] == int(ids.argmax(dim=-1).max()) + 1  # trimmed on the host


def test_without_cmd_and_le_is_fc_relu_fc_not_one_linear_map():
    """Table 4 'w/o CMD, LE': concatenation -> fully connected layers with a nonlinearity between them."""
    model = build_model(tiny_config(use_cmd=False, use_label_encoder=False)).eval()
    x = batch(model)
    with torch.no_grad():
        feats = model.encode_modalities(x)
        out = model.predict_from_features(feats)
        stacked = torch.cat([feats.pooled[m] for m in "LVA"], dim=-1)  # (B, 3D)
        expected = model.classifier(torch.relu(model.fusion(stacked)))  # (B, C)
        linear = model.classifier(model.fusion(stacked))
    assert torch.allclose(out.logits, expected, atol=1e-6) and not torch.allclose(out.logits, linear, atol=1e-4)


def test_without_cmd_with_le_is_one_fc_layer_then_cosine():
    model = build_model(tiny_config(use_cmd=False)).eval()
    with torch.no_grad():
        feats = model.encode_modalities(batch(model))
        out = model.predict_from_features(feats)
        fused = model.fusion(torch.cat([feats.pooled[m] for m in "LVA"], dim=-1))
    assert torch.allclose(out.fused, fused, atol=1e-6) and (out.fused < 0).any()  # no ReLU here


def test_configs_older_than_fc_activation_rebuild_the_linear_map_they_were_trained_as():
    old = tiny_config(use_cmd=False, use_label_encoder=False).to_dict()
    del old["fc_activation"]
    assert ModelConfig.from_dict(old).fc_activation == "none"
    assert ModelConfig().fc_activation == "relu"
