"""The model-family registry: every checkpoint is read, rebuilt and checked through `merclip.models.registry`."""
import json

import pytest
import torch

from merclip.model_configs.presets import TINY_LSGMER_HEADS, tiny_config
from merclip.models.batch import ModalityInputs
from merclip.models.checkpoint import CheckpointError, load_checkpoint, load_weights, read_config, save_checkpoint
from merclip.models.lsgmer import LSGMERConfig
from merclip.models.registry import FAMILIES, family_of
from merclip.pretrained.clip_towers import image_preprocess_config

TINY = {"merclip": lambda **kw: tiny_config(**kw),
        "lsgmer": lambda **kw: LSGMERConfig(clip_model="merclip-tiny", clip_pretrained=None, **TINY_LSGMER_HEADS, **kw)}


def _inputs(model) -> ModalityInputs:
    g, size = torch.Generator().manual_seed(0), image_preprocess_config(model.audio.visual)["image_size"]
    return ModalityInputs(text_ids=model.tokenizer(["so happy today", "leave me alone"]),
                          frames=torch.randn(2, 4, 3, size, size, generator=g),
                          audio=torch.randn(2, 2, 3, size, size, generator=g))


def _save(name, tmp_path, **overrides):
    torch.manual_seed(0)
    cfg = TINY[name](**overrides)
    model = FAMILIES[name].build(cfg, load_clip_weights=False).eval()
    return model, save_checkpoint(model, tmp_path / name)


def test_every_family_names_itself_and_the_registry_agrees():
    assert set(FAMILIES) == {"merclip", "lsgmer"}
    for name, family in FAMILIES.items():
        assert family.name == name and family.config_cls.family == name
        assert family_of(TINY[name]()) is family
        assert family.predictor_class().__name__ == {"merclip": "Predictor", "lsgmer": "LSGMERPredictor"}[name]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_a_checkpoint_of_each_family_round_trips_through_the_registry(name, tmp_path):
    model, ckpt = _save(name, tmp_path)
    cfg = read_config(ckpt)
    assert type(cfg) is FAMILIES[name].config_cls and cfg == model.cfg
    loaded = load_checkpoint(ckpt, family=name)
    assert type(loaded) is type(model)
    x = _inputs(model)
    with torch.no_grad():
        assert torch.equal(model(x).probs, loaded(x).probs)


def test_an_unknown_family_is_a_checkpoint_error_that_names_it(tmp_path):
    _, ckpt = _save("merclip", tmp_path)
    (ckpt / "config.json").write_text(json.dumps({**json.loads((ckpt / "config.json").read_text()), "model": "vitmer"}))
    with pytest.raises(CheckpointError, match="unknown model family 'vitmer'.*merclip, lsgmer"):
        read_config(ckpt)
    with pytest.raises(CheckpointError, match="unknown model family 'vitmer'"):
        load_checkpoint(ckpt)


def test_a_checkpoint_of_another_family_is_refused_with_the_predictor_it_needs(tmp_path):
    from merclip.serving.lsgmer_predictor import LSGMERPredictor
    from merclip.serving.predictor import Predictor

    _, lsgmer = _save("lsgmer", tmp_path)
    _, merclip = _save("merclip", tmp_path)
    with pytest.raises(CheckpointError, match="lsgmer checkpoint, not merclip.*lsgmer_predictor:LSGMERPredictor"):
        Predictor.from_checkpoint(lsgmer, device="cpu")
    with pytest.raises(CheckpointError, match="merclip checkpoint, not lsgmer.*merclip.serving.predictor:Predictor"):
        LSGMERPredictor.from_checkpoint(merclip, device="cpu")
    # a model of the other family: the family itself is the differing field
    with pytest.raises(CheckpointError, match="model: checkpoint 'lsgmer' vs model 'merclip'"):
        load_weights(FAMILIES["merclip"].build(tiny_config(), load_clip_weights=False), lsgmer)


@pytest.mark.parametrize("name, runtime, structural", [
    ("merclip", {"emotion_threshold": 0.3, "query_word": "Mood", "dropout": 0.0}, {"cmd_mode": "pooled"}),
    ("lsgmer", {"apc_weight": 0.1, "use_apc": False, "apc_temperature": 2.0}, {"equations": "v1"}),
])
def test_runtime_fields_may_differ_structural_ones_may_not(name, runtime, structural, tmp_path):
    model, ckpt = _save(name, tmp_path)
    other = FAMILIES[name].build(TINY[name](**runtime), load_clip_weights=False)
    load_weights(other, ckpt)  # the weights fit: these fields change none of them
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in model.state_dict().items())
    field, value = next(iter(structural.items()))
    with pytest.raises(CheckpointError, match=f"another model config \\({field}: checkpoint .* vs model {value!r}"):
        load_weights(FAMILIES[name].build(TINY[name](**structural), load_clip_weights=False), ckpt)


def test_merclip_labels_are_runtime_with_the_label_encoder_only(tmp_path):
    _, with_le = _save("merclip", tmp_path)
    load_weights(FAMILIES["merclip"].build(tiny_config(labels=("calm", "tense")), load_clip_weights=False), with_le)
    _, fc = _save("merclip", tmp_path / "fc", use_label_encoder=False)
    relabelled = FAMILIES["merclip"].build(tiny_config(use_label_encoder=False, labels=tuple("abcdef")),
                                           load_clip_weights=False)  # same size: only the config can tell
    with pytest.raises(CheckpointError, match="labels: checkpoint"):
        load_weights(relabelled, fc)


def test_lsgmer_labels_are_runtime_with_the_v1_equations_only(tmp_path):
    """"summary" sizes a classifier and the label moving average by the labels, so a relabelled checkpoint of the
    same size fits every tensor: only the config can tell, and it must refuse, naming the field."""
    _, summary = _save("lsgmer", tmp_path / "summary")
    relabelled = FAMILIES["lsgmer"].build(TINY["lsgmer"](labels=tuple("abcdefg")), load_clip_weights=False)
    assert relabelled.classifier.weight.shape == (7, 64)  # as the saved one: only the names differ
    with pytest.raises(CheckpointError, match=r"labels: checkpoint \['neutral', .* vs model \['a', 'b'"):
        load_weights(relabelled, summary)
    _, v1 = _save("lsgmer", tmp_path / "v1", equations="v1")  # cosine with label embeddings: any label set
    load_weights(FAMILIES["lsgmer"].build(TINY["lsgmer"](equations="v1", labels=("calm", "tense")),
                                          load_clip_weights=False), v1)


def test_both_families_configs_share_one_json_round_trip():
    from merclip.config import FamilyConfig, ModelConfig

    for name in FAMILIES:
        cfg = TINY[name]()
        assert isinstance(cfg, FamilyConfig)
        data = json.loads(cfg.to_json())
        assert ("model" in data) == (name == "lsgmer")  # MER-CLIP's JSON never names its family (older readers)
        assert type(cfg).from_json(cfg.to_json()) == cfg == type(cfg).from_dict({**data, "model": name})
    with pytest.raises(ValueError, match="a 'lsgmer' config is not a ModelConfig"):
        ModelConfig.from_dict(json.loads(TINY["lsgmer"]().to_json()))
    with pytest.raises(ValueError, match=r"unknown LSGMERConfig fields \['cmd_mode'\]"):
        LSGMERConfig.from_dict({"cmd_mode": "pooled"})
