"""The wordllama text backbone: offline, frozen, zero-shot sensible, and kept out of checkpoints."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("wordllama")

from merclip.config import EMOTION_LABELS, ModelConfig  # noqa: E402
from merclip.model_configs.presets import tiny_config  # noqa: E402
from merclip.models.batch import ModalityInputs  # noqa: E402
from merclip.models.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from merclip.models.merclip import build_model  # noqa: E402
from merclip.pretrained.wordllama_text import (
    FrozenEmbedding,
    WordLlamaTextTower,
    load_tokenizer,
    read_embeddings,
    wordllama_dir,
)
from merclip.serving.predictor import token_strings  # noqa: E402

LABELS = list(EMOTION_LABELS)  # happy, sad, angry, surprise, disgust, fear


@pytest.fixture(scope="module")
def wl_model():
    torch.manual_seed(0)
    return build_model(tiny_config(text_backbone="wordllama")).eval()


def _zero_shot(model, sentences):
    with torch.no_grad():
        _, sent, _ = model.language(model.tokenizer(sentences))  # (N, D)
        labels = model.label_embeddings(LABELS)  # (C, D), with the label encoder's context vectors
    return F.normalize(sent, dim=-1) @ F.normalize(labels, dim=-1).T  # (N, C)


def test_zero_shot_label_words_pick_the_emotion(wl_model):
    sims = _zero_shot(wl_model, ["I am so happy today, everything went wonderfully", "I'm scared something bad will happen"])
    assert [LABELS[i] for i in sims.argmax(-1).tolist()] == ["happy", "fear"]


def test_tokenizer_lays_rows_out_like_clip():
    tok = load_tokenizer()
    ids = tok(["I am so happy today", "a " * 200])  # (2, 77)
    assert ids.shape == (2, 77) and (ids[:, 0] == tok.sos_id).all()
    assert ids.argmax(-1).tolist() == [6, 76]  # EOS: after 5 tokens, and at the end of a truncated text
    assert len(tok.encode("X X X X X X X X happy")) == 9  # one token per context placeholder, as LabelEncoder splices
    assert token_strings(tok, ids[0, :7].tolist()) == ["<sos>", "I", "am", "so", "happy", "today", "<eos>"]


def test_tower_keeps_wordllamas_own_cosines_when_wide_enough():
    from wordllama import WordLlama

    wl = WordLlama.load(cache_dir=wordllama_dir(), disable_download=True)  # offline reference, wordllama's own code
    table = FrozenEmbedding()
    table.weight[: 32000].copy_(read_embeddings())
    tower = WordLlamaTextTower(table, embed_dim=512)  # orthonormal columns: inner products preserved
    texts = ["I'm scared something bad will happen", "fear", "calm", "what a lovely surprise"]
    with torch.no_grad():
        ours = F.normalize(tower(load_tokenizer()(texts))[1], dim=-1)
    theirs = wl.embed(texts, norm=True)
    np.testing.assert_allclose((ours @ ours.T).numpy(), theirs @ theirs.T, atol=1e-3)


def test_frozen_parts_and_trainable_parts(wl_model):
    trainable = {n for n, p in wl_model.named_parameters() if p.requires_grad}
    assert "language.tower.text_projection.weight" in trainable
    assert {"label_encoder.label_ctx", "label_encoder.query_ctx"} <= trainable
    assert not any(n.startswith("label_encoder.tower") for n in trainable)  # the label encoder's tower is frozen
    assert not any("token_embedding" in k for k in wl_model.state_dict())  # the table ships with wordllama
    assert wl_model.language.tower.token_embedding.weight.abs().sum() > 0  # ... and build_model loaded it


def test_training_step_reaches_context_and_projection():
    torch.manual_seed(0)
    model = build_model(tiny_config(text_backbone="wordllama")).train()
    inputs = ModalityInputs(text_ids=model.tokenizer(["I am so happy", "I am so scared"]))
    loss = model.training_loss(inputs, torch.tensor([[1.0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1.0]]))
    loss.backward()
    assert model.label_encoder.label_ctx.grad.abs().sum() > 0
    assert model.language.tower.text_projection.weight.grad.abs().sum() > 0


def test_checkpoint_round_trip_without_the_table(wl_model, tmp_path):
    save_checkpoint(wl_model, tmp_path / "wl")
    loaded = load_checkpoint(tmp_path / "wl")
    assert loaded.cfg.text_backbone == "wordllama"
    sentences = ["I'm scared something bad will happen"]
    torch.testing.assert_close(_zero_shot(loaded, sentences), _zero_shot(wl_model, sentences))


def test_config_default_and_validation():
    assert ModelConfig().text_backbone == "clip"
    assert ModelConfig.from_json(ModelConfig(text_backbone="wordllama").to_json()).text_backbone == "wordllama"
    with pytest.raises(ValueError, match="text_backbone"):
        ModelConfig(text_backbone="bert")


def test_checkpoints_saved_before_the_option_load_as_clip_and_refuse_wordllama(wl_model, tmp_path):
    import json

    from safetensors.torch import load_file, save_file

    from merclip.models.checkpoint import CONFIG_NAME, WEIGHTS_NAME, CheckpointError, load_weights, read_metadata

    # a checkpoint as written before the option existed: its config has no text_backbone / vision_backbone field
    old = save_checkpoint(build_model(tiny_config()), tmp_path / "old")
    config = {k: v for k, v in json.loads((old / CONFIG_NAME).read_text()).items()
              if k not in ("text_backbone", "vision_backbone")}
    metadata = {**read_metadata(old), "config": json.dumps(config)}
    save_file(load_file(str(old / WEIGHTS_NAME)), str(old / WEIGHTS_NAME), metadata=metadata)
    (old / CONFIG_NAME).write_text(json.dumps(config))
    assert load_checkpoint(old).cfg.text_backbone == "clip"
    with pytest.raises(CheckpointError, match="text_backbone: checkpoint 'clip' vs model 'wordllama'"):
        load_weights(wl_model, old)


def test_the_configs_towers_are_the_only_ones_and_each_knows_its_checkpointing():
    """wordllama text + FER vision: the model holds those towers from construction (no CLIP text tower left behind
    or placeholder transformer), and gradient checkpointing reaches the one tower that has activations to drop."""
    from merclip.pretrained.face_vision import FaceExpressionTower
    from merclip.pretrained.text_tower import TextTower

    torch.manual_seed(0)
    model = build_model(tiny_config(text_backbone="wordllama", vision_backbone="fer"))
    assert type(model.language.tower) is type(model.label_encoder.tower) is WordLlamaTextTower
    assert isinstance(model.vision.visual, FaceExpressionTower)
    assert not any(isinstance(m, TextTower) for m in model.modules())
    assert not hasattr(model.language.tower, "transformer")
    assert model.tokenizer is model.label_encoder.tokenizer is load_tokenizer()
    assert not model.audio.visual.transformer.grad_checkpointing
    model.set_grad_checkpointing(True)
    assert model.audio.visual.transformer.grad_checkpointing  # the CLIP audio tower; the others keep nothing
