"""Only the project's own user errors are shown as bad input; anything else is a logged bug."""
from __future__ import annotations

import logging
import re
import sys
import types

import gradio as gr
import pytest

from merclip.errors import LabelError, UserError
from merclip.media import MediaError
from merclip.studio import StudioError


def test_user_errors_share_one_base():
    from merclip.models.checkpoint import CheckpointError, CheckpointNotFoundError

    for cls in (MediaError, StudioError, LabelError, CheckpointError, CheckpointNotFoundError):
        assert issubclass(cls, UserError)
    assert issubclass(CheckpointNotFoundError, FileNotFoundError)


def test_app_shows_user_errors_as_they_are():
    from app_events import friendly

    @friendly
    def bad_input():
        raise LabelError("a label set needs at least 2 non-empty labels")

    with pytest.raises(gr.Error, match="at least 2 non-empty labels"):
        bad_input()


@pytest.mark.parametrize("bug", [ValueError("operands could not be broadcast together with shapes (3,) (4,)"),
                                 FileNotFoundError("/srv/secret/path/weights.bin"), KeyError("logits")])
def test_app_logs_a_bug_with_an_id_and_shows_only_the_id(bug, caplog):
    """A numpy ValueError is a bug, not bad input: the user sees only an id, the log the traceback."""
    from app_events import friendly

    @friendly
    def buggy():
        raise bug

    with caplog.at_level(logging.ERROR, logger="merclip.app"), pytest.raises(gr.Error) as err:
        buggy()
    message = err.value.message
    error_id = re.search(r"internal error \(id ([0-9a-f]{8})\)", message).group(1)
    assert str(bug).strip("'") not in message and "/srv" not in message
    record = next(r for r in caplog.records if error_id in r.getMessage())
    assert record.exc_info is not None and record.exc_info[1] is bug  # the traceback is in the log, under the id


def test_zero_shot_lookup_failure_is_not_reported_as_missing_weights(monkeypatch):
    from merclip.pretrained import zeroshot

    def broken(*args, **kwargs):
        raise RuntimeError("cache index unreadable")

    monkeypatch.delenv("MERCLIP_CLIP_WEIGHTS", raising=False)
    monkeypatch.setattr("huggingface_hub.try_to_load_from_cache", broken)
    with pytest.raises(RuntimeError, match="cache index unreadable"):
        zeroshot.real_weights_source(None, "ViT-B-32")
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # not installed: no cached weights, no error
    assert zeroshot.real_weights_source(None, "ViT-B-32") is None


def test_zero_shot_finds_weights_only_in_the_hub_cache_it_is_pointed_at(no_clip_weights):
    """The no_clip_weights fixture isolates what the lookup reads: empty, nothing is found; with open_clip's `openai`
    file cached there (as the hub lays it out), the tag is found."""
    import open_clip

    from merclip.pretrained import zeroshot

    assert zeroshot.real_weights_source(None, "ViT-B-32") is None
    repo = open_clip.get_pretrained_cfg("ViT-B-32", "openai")["hf_hub"].rstrip("/")
    cached = no_clip_weights / f"models--{repo.replace('/', '--')}"
    (cached / "refs").mkdir(parents=True)
    (cached / "refs" / "main").write_text("abc123")
    (cached / "snapshots" / "abc123").mkdir(parents=True)
    (cached / "snapshots" / "abc123" / "open_clip_model.safetensors").write_bytes(b"0")
    assert zeroshot.real_weights_source(None, "ViT-B-32") == "openai"


def test_tensorboard_missing_is_fine_but_a_broken_one_is_raised(monkeypatch, tmp_path):
    from merclip.training import loop

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    assert loop._tensorboard(tmp_path) is None
    broken = types.ModuleType("torch.utils.tensorboard")

    def explode(name):
        raise RuntimeError("protobuf version clash")

    broken.__getattr__ = explode
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", broken)
    with pytest.raises(RuntimeError, match="protobuf version clash"):
        loop._tensorboard(tmp_path)


def test_unknown_choices_over_the_studio_are_user_errors(studio):
    example = "assets/examples/happy_surprised.mp4"
    with pytest.raises(UserError, match="unknown task 'joy': choose one of emotion, sentiment"):
        studio.analyse(example, "hi", task="joy")
    with pytest.raises(UserError, match="no 'poem' label set for task 'emotion'"):
        studio.analyse(example, "hi", label_kind="poem")
    with pytest.raises(UserError, match="heads must be"):
        studio.analyse(example, "hi", head="99")
    with pytest.raises(UserError, match="unknown projection"):
        studio.projection(None, method="PCA")
