import pytest
import torch
from safetensors.torch import save_file

from merclip import backbone


def test_tiny_config_is_registered_and_random_init():
    clip = backbone.create_clip("merclip-tiny", None)
    assert backbone.embed_dim(clip) == 64
    assert backbone.image_preprocess_config(clip.visual)["image_size"] == 224


def test_missing_weights_file_names_path_and_both_ways(tmp_path):
    missing = tmp_path / "nope" / "clip.safetensors"
    with pytest.raises(backbone.MissingWeightsError) as err:
        backbone.create_clip("merclip-tiny", None, weights_path=str(missing))
    msg = str(err.value)
    assert str(missing) in msg and "--clip-weights" in msg and "MERCLIP_CLIP_WEIGHTS" in msg


def test_local_weights_file_loads_exact_tensors(tmp_path, monkeypatch):
    torch.manual_seed(1)
    source = backbone.create_clip("merclip-tiny", None)
    path = tmp_path / "tiny_clip.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    loaded = backbone.create_clip("merclip-tiny", None, weights_path=str(path))
    assert torch.equal(loaded.visual.conv1.weight, source.visual.conv1.weight)
    # the environment variable is the second way, and overrides a pretrained tag
    monkeypatch.setenv(backbone.WEIGHTS_ENV_VAR, str(path))
    via_env = backbone.create_clip("merclip-tiny", "openai")
    assert torch.equal(via_env.token_embedding.weight, source.token_embedding.weight)


def test_env_var_pointing_nowhere_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(backbone.WEIGHTS_ENV_VAR, str(tmp_path / "missing.pt"))
    with pytest.raises(backbone.MissingWeightsError, match="missing.pt"):
        backbone.create_clip("merclip-tiny", "openai")


def test_openai_tag_offline_uncached_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv(backbone.WEIGHTS_ENV_VAR, raising=False)
    with pytest.raises(backbone.MissingWeightsError, match="ViT-B-32.*--clip-weights"):
        backbone.create_clip("ViT-B-32", "openai")


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown CLIP architecture 'ViT-Z'"):
        backbone.create_clip("ViT-Z", None)
