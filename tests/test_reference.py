"""The shipped checkpoints give the stored reference outputs on fixed inputs (scripts/make_reference_outputs.py).

A failure here means a change moved a shipped model's outputs. If that was meant (a fix, a retrained checkpoint),
rerun `python scripts/make_reference_outputs.py` and commit the new reference with the change.
"""
import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from merclip.models.checkpoint import WEIGHTS_NAME, load_checkpoint
from merclip.models.reference import SHIPPED, file_sha256, reference_outputs

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference" / "shipped_outputs.safetensors"


def stored(name: str) -> tuple[dict[str, torch.Tensor], str]:
    with safe_open(str(REFERENCE), framework="pt") as f:
        digest = json.loads(f.metadata()["checkpoint_sha256"])[name]
        prefix = f"{name}/"
        return {k[len(prefix):]: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}, digest


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_reproduces_its_reference_outputs(name):
    expected, digest = stored(name)
    ckpt = ROOT / "checkpoints" / name
    assert file_sha256(ckpt / WEIGHTS_NAME) == digest, (
        f"checkpoints/{name} changed since the reference was made: rerun scripts/make_reference_outputs.py")
    got = reference_outputs(load_checkpoint(ckpt))
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key].shape == value.shape, key
        assert torch.allclose(got[key], value, atol=1e-4, rtol=1e-4), (
            f"{name}/{key} moved by up to {(got[key] - value).abs().max():.2e}")


def test_reference_decisions_follow_the_paper_rule():
    """The stored emotion probabilities are sigmoid(unbiased standardised cosines), thresholded strictly at 0.6."""
    expected, _ = stored("merclip-tiny-synthetic")
    sims = expected["similarity"]  # (3, 6)
    z = (sims - sims.mean(-1, keepdim=True)) / sims.std(-1, unbiased=True, keepdim=True)
    assert torch.allclose(torch.sigmoid(z), expected["probs"], atol=1e-4)


def test_make_reference_outputs_help_writes_nothing(tmp_path, monkeypatch, capsys):
    """`--help` printed help: it ran the script and overwrote the tracked reference file."""
    import importlib.util

    path = ROOT / "scripts" / "make_reference_outputs.py"
    spec = importlib.util.spec_from_file_location("make_reference_outputs", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "OUT", tmp_path / "out.safetensors")
    monkeypatch.setattr(script, "load_checkpoint", lambda *a, **k: pytest.fail("--help loaded a checkpoint"))
    for argv, code in ((["--help"], 0), (["--out", "x"], 2)):
        with pytest.raises(SystemExit) as done:
            script.main(argv)
        assert done.value.code == code
    assert "Takes no arguments" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
