import json

import pytest
import torch
from safetensors.torch import save_file

from merclip.model_configs.presets import tiny_config
from merclip.models.batch import ModalityInputs
from merclip.models.checkpoint import CheckpointError, load_checkpoint, load_weights, read_config, save_checkpoint
from merclip.models.merclip import build_model


def _inputs(model):
    g = torch.Generator().manual_seed(0)
    return ModalityInputs(text_ids=model.tokenizer(["so happy today"]), frames=torch.randn(1, 4, 3, 224, 224, generator=g),
                          audio=torch.randn(1, 2, 3, 224, 224, generator=g))


def test_round_trip_gives_identical_outputs(tmp_path, tiny_model):
    save_checkpoint(tiny_model, tmp_path / "ck", extra={"note": "test"})
    assert (tmp_path / "ck" / "config.json").is_file()
    loaded = load_checkpoint(tmp_path / "ck")
    assert loaded.cfg == tiny_model.cfg
    x = _inputs(tiny_model)
    with torch.no_grad():
        a, b = tiny_model(x), loaded(x)
    assert torch.equal(a.logits, b.logits) and torch.equal(a.fused, b.fused)
    # the weights file alone rebuilds the model too (config embedded in its metadata)
    (tmp_path / "ck" / "config.json").unlink()
    assert read_config(tmp_path / "ck" / "model.safetensors") == tiny_model.cfg


def test_float16_shipping_copy_is_close(tmp_path, tiny_model):
    save_checkpoint(tiny_model, tmp_path / "half", dtype=torch.float16)
    loaded = load_checkpoint(tmp_path / "half")
    x = _inputs(tiny_model)
    with torch.no_grad():
        assert torch.allclose(tiny_model(x).probs, loaded(x).probs, atol=2e-2)


def test_checkpoint_from_another_config_fails_clearly(tmp_path, tiny_model):
    save_checkpoint(tiny_model, tmp_path / "ck")
    other = build_model(tiny_config(cmd_layers=2))
    with pytest.raises(CheckpointError, match="another model config.*cmd_layers: checkpoint 3 vs model 2"):
        load_weights(other, tmp_path / "ck")


def test_tampered_weights_fail_clearly(tmp_path, tiny_model):
    state = {k: v.contiguous() for k, v in tiny_model.state_dict().items() if not k.startswith("cmd.layers.2")}
    state["extra.weight"] = torch.zeros(2)
    (tmp_path / "bad").mkdir()
    save_file(state, str(tmp_path / "bad" / "model.safetensors"))
    (tmp_path / "bad" / "config.json").write_text(tiny_model.cfg.to_json())
    with pytest.raises(CheckpointError, match="missing tensors.*unexpected tensors"):
        load_checkpoint(tmp_path / "bad")


def test_only_safetensors_are_loaded(tmp_path):
    (tmp_path / "weights.pt").write_bytes(b"not a pickle we would ever open")
    with pytest.raises(CheckpointError, match="safetensors only"):
        load_checkpoint(tmp_path / "weights.pt")
    with pytest.raises(FileNotFoundError, match="no MER-CLIP checkpoint"):
        load_checkpoint(tmp_path / "nowhere")


def test_config_json_is_complete_and_readable(tmp_path, tiny_model):
    save_checkpoint(tiny_model, tmp_path / "ck")
    data = json.loads((tmp_path / "ck" / "config.json").read_text())
    assert data["clip_model"] == "merclip-tiny" and data["labels"] == list(tiny_model.cfg.labels)


@pytest.mark.parametrize("cut", [0.5, 0.001])
def test_truncated_checkpoint_is_named_and_nothing_is_loaded(tmp_path, tiny_model, cut):
    save_checkpoint(tiny_model, tmp_path / "ck")
    weights = tmp_path / "ck" / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: max(8, int(len(data) * cut))])
    target = build_model(tiny_config())
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"model.safetensors' is corrupt or truncated") as err:
        load_weights(target, tmp_path / "ck")
    assert err.value.__cause__ is not None  # the library's own error is kept as the cause, for the log
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())  # no partial load
    with pytest.raises(CheckpointError, match="corrupt or truncated") as err:
        load_checkpoint(tmp_path / "ck")
    assert err.value.__cause__ is not None


def test_building_for_a_checkpoint_logs_no_random_init_alarm(tmp_path, tiny_model, caplog):
    """open_clip warns "initialized randomly" whenever it loads no weights itself; a model built for a checkpoint
    (what every `python app.py` does) gets its weights right after, so it must not say so. A CLIP really left random
    still says it, which shows this log is where the warning would appear."""
    import logging

    from merclip.pretrained import clip_towers
    from merclip.pretrained.clip_towers import RANDOM_INIT_WARNING

    save_checkpoint(tiny_model, tmp_path / "ck")
    filters = list(logging.getLogger().filters)
    with caplog.at_level(logging.WARNING):
        load_checkpoint(tmp_path / "ck")
    assert not [r for r in caplog.records if RANDOM_INIT_WARNING in r.getMessage()]
    with caplog.at_level(logging.WARNING):
        clip_towers.create_clip("merclip-tiny", None)  # no weights, on purpose
    said = [r.getMessage() for r in caplog.records if RANDOM_INIT_WARNING in r.getMessage()]
    assert said == ["No pretrained weights loaded for model 'merclip-tiny'. Model initialized randomly."]
    assert logging.getLogger().filters == filters  # the build put the root logger back as it found it
