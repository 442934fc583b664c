"""Shared fixtures: a tiny random-init MER-CLIP and media clips generated in real formats.

No test may touch the network: sockets are blocked for the whole session, and the Hugging Face
hub is told to stay offline.
"""
from __future__ import annotations

import copy
import os
import socket

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np
import pytest
import torch

from merclip.data.writer import write_video, write_wav
from merclip.model_configs.presets import tiny_config
from merclip.models.checkpoint import save_checkpoint
from merclip.studio import Studio
from merclip.training.export import save_embeddings

SAMPLE_RATE = 16000
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def refuse_the_network():
    """Refuse, in this process, any connection that is not to this machine; returns the function that undoes it.
    (Also run by the app that tests/test_soak.py serves in a process of its own.)"""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host in _LOOPBACK or host.startswith("127.") or self.family == socket.AF_UNIX):
            return real_connect(self, address)
        raise RuntimeError(f"test tried to reach the network: {address!r}")

    socket.socket.connect = guarded
    return lambda: setattr(socket.socket, "connect", real_connect)


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    """Refuse any connection that is not to this machine (the app tests serve on loopback)."""
    undo = refuse_the_network()
    yield
    undo()


def tone(seconds: float, freq: float = 220.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * SAMPLE_RATE))) / SAMPLE_RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_clip(path, seconds: float, fps: int = 10, audio: bool = True, size=(64, 96), seed: int = 0):
    rng = np.random.default_rng(seed)
    n = max(1, int(round(seconds * fps)))
    frames = rng.integers(0, 255, (n, size[0], size[1], 3), dtype=np.uint8)
    return write_video(path, frames, fps=fps, audio=tone(seconds) if audio else None)


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """Named media files shared by the media, predictor and app tests."""
    d = tmp_path_factory.mktemp("clips")
    out = {
        "2s": make_clip(d / "two.mp4", 2.0),
        "5s": make_clip(d / "five.mp4", 5.0, seed=1),
        "0.5s": make_clip(d / "half.mp4", 0.5, seed=2),
        "noaudio": make_clip(d / "silent_video.mp4", 2.0, audio=False, seed=3),
        "oneframe": make_clip(d / "oneframe.mp4", 0.1, fps=10, seed=4),
        "wav": write_wav(d / "voice.wav", tone(2.0)),
    }
    (d / "empty.mp4").write_bytes(b"")
    (d / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    (d / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    out.update(empty=d / "empty.mp4", garbage=d / "garbage.mp4", png=d / "picture.png")
    return out


@pytest.fixture(scope="session")
def tiny_model():
    from merclip.models.merclip import build_model

    torch.manual_seed(0)
    return build_model(tiny_config()).eval()


@pytest.fixture
def own_tiny_model(tiny_model):
    """This test's own copy of the session's tiny model, for a test that changes its modules, attributes or grads."""
    return copy.deepcopy(tiny_model).eval()


@pytest.fixture
def no_clip_weights(monkeypatch, tmp_path):
    """No real CLIP weights to find, whatever this machine's caches hold: MERCLIP_CLIP_WEIGHTS unset and the caches
    that open_clip and the Hugging Face hub read moved to an empty folder. Returns that hub cache folder."""
    import huggingface_hub.constants as hub

    from merclip.pretrained import clip_towers

    cache = tmp_path / "cache"
    hf_home, hub_cache = cache / "huggingface", cache / "huggingface" / "hub"
    monkeypatch.delenv(clip_towers.WEIGHTS_ENV_VAR, raising=False)
    for var, path in (("XDG_CACHE_HOME", cache), ("HF_HOME", hf_home), ("HF_HUB_CACHE", hub_cache)):
        monkeypatch.setenv(var, str(path))
    # the hub reads its variables once, at import: before this fixture ran
    monkeypatch.setattr(hub, "HF_HOME", str(hf_home))
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(hub_cache))
    return hub_cache


# ---- app fixtures: a tiny checkpoint, an embeddings file in the export format, the Studio, the served app ----
@pytest.fixture(scope="session")
def tiny_ckpt(tiny_model, tmp_path_factory):
    return save_checkpoint(tiny_model, tmp_path_factory.mktemp("app") / "tiny")


def export_arrays(label_names, n: int = 60, width: int = 64, clusters: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Arrays in the export format (merclip.training.export): random vectors in `clusters` clusters, clip i in
    cluster i % clusters and labelled with that cluster's label (one flag per label)."""
    rng = np.random.default_rng(seed)
    names = np.array(label_names)
    centres = rng.normal(size=(clusters, width))
    cluster = np.arange(n) % clusters
    data = {m: (centres[cluster] + 0.3 * rng.normal(size=(n, width))).astype(np.float32)
            for m in ("language", "vision", "audio", "fused")}
    targets = np.zeros((n, len(names)), np.float32)
    targets[np.arange(n), cluster] = 1
    data.update(ids=np.array([f"clip{i}" for i in range(n)]), probs=rng.random((n, len(names))).astype(np.float32),
                targets=targets, sentiment=rng.normal(size=n).astype(np.float32), label_names=names,
                label_embeddings=rng.normal(size=(len(names), width)).astype(np.float32), task=np.array("emotion"))
    return data


@pytest.fixture(scope="session")
def embeddings(tmp_path_factory):
    """An export file in the real format (random vectors in 3 clusters)."""
    data = export_arrays(["happy", "sad", "angry", "surprise", "disgust", "fear"])
    return save_embeddings(tmp_path_factory.mktemp("emb") / "emb.npz", data)


@pytest.fixture(scope="session")
def tiny_lsgmer_ckpt(tmp_path_factory):
    from merclip.models.lsgmer import LSGMERConfig, build_lsgmer

    torch.manual_seed(0)
    model = build_lsgmer(LSGMERConfig(clip_model="merclip-tiny", clip_pretrained=None, attn_dim=32))
    return save_checkpoint(model, tmp_path_factory.mktemp("lsgmer") / "tiny_lsgmer")


@pytest.fixture(scope="session")
def studio(tiny_ckpt, embeddings, tiny_lsgmer_ckpt):
    return Studio(tiny_ckpt, embeddings, device="cpu", lsgmer_checkpoint=tiny_lsgmer_ckpt)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def served(tiny_ckpt, embeddings, tiny_lsgmer_ckpt):
    """The app as `python app.py` serves it: file access limited to uploads and assets."""
    from app import app_allowed_roots, build_app, queued

    port = _free_port()
    demo = queued(build_app(Studio(tiny_ckpt, embeddings, device="cpu", allowed_roots=app_allowed_roots(),
                                   lsgmer_checkpoint=tiny_lsgmer_ckpt)))  # as app.py serves it
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


