import pytest
import torch
from safetensors.torch import save_file

from merclip.pretrained import clip_towers


def test_tiny_config_is_registered_and_random_init():
    clip = clip_towers.create_clip("merclip-tiny", None)
    assert clip_towers.embed_dim(clip) == 64
    assert clip_towers.image_preprocess_config(clip.visual)["image_size"] == 224


def test_missing_weights_file_names_path_and_both_ways(tmp_path):
    missing = tmp_path / "nope" / "clip.safetensors"
    with pytest.raises(clip_towers.MissingWeightsError) as err:
        clip_towers.create_clip("merclip-tiny", None, weights_path=str(missing))
    msg = str(err.value)
    assert str(missing) in msg and "--clip-weights" in msg and "MERCLIP_CLIP_WEIGHTS" in msg


def test_local_weights_file_loads_exact_tensors(tmp_path, monkeypatch):
    torch.manual_seed(1)
    source = clip_towers.create_clip("merclip-tiny", None)
    path = tmp_path / "tiny_clip.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    loaded = clip_towers.create_clip("merclip-tiny", None, weights_path=str(path))
    assert torch.equal(loaded.visual.conv1.weight, source.visual.conv1.weight)
    # the environment variable is the second way, and overrides a pretrained tag
    monkeypatch.setenv(clip_towers.WEIGHTS_ENV_VAR, str(path))
    via_env = clip_towers.create_clip("merclip-tiny", "openai")
    assert torch.equal(via_env.token_embedding.weight, source.token_embedding.weight)


def test_env_var_pointing_nowhere_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(clip_towers.WEIGHTS_ENV_VAR, str(tmp_path / "missing.pt"))
    with pytest.raises(clip_towers.MissingWeightsError, match="missing.pt"):
        clip_towers.create_clip("merclip-tiny", "openai")


def test_openai_tag_offline_uncached_is_a_clear_error(monkeypatch, no_clip_weights):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(clip_towers.MissingWeightsError, match="ViT-B-32.*--clip-weights"):
        clip_towers.create_clip("ViT-B-32", "openai")


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown CLIP architecture 'ViT-Z'"):
        clip_towers.create_clip("ViT-Z", None)


def test_a_tagged_clip_is_built_once(monkeypatch):
    """open_clip builds and loads a tagged model in one call: the architecture is not built a second time first."""
    import open_clip

    calls = []
    monkeypatch.delenv(clip_towers.WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.setattr(open_clip, "create_model", lambda arch, **kw: calls.append((arch, kw)) or "model")
    assert clip_towers.create_clip("merclip-tiny", "openai") == "model"
    assert calls == [("merclip-tiny", {"pretrained": "openai", "require_pretrained": True})]


def test_a_local_weights_file_is_loaded_without_a_random_init_alarm(tmp_path, caplog):
    import logging

    path = tmp_path / "tiny_clip.safetensors"
    save_file({k: v.contiguous() for k, v in clip_towers.create_clip("merclip-tiny", None).state_dict().items()},
              str(path))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        clip_towers.create_clip("merclip-tiny", None, weights_path=str(path))
    assert not [r for r in caplog.records if clip_towers.RANDOM_INIT_WARNING in r.getMessage()]
