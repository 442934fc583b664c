"""A face-expression vision tower: the frozen FER2013 network as MER-CLIP's per-frame feature extractor.

Why: a random-init image tower reads nothing from a real face; the FER2013 mini-Xception (merclip.pretrained.fer_net)
already separates expressions. With `ModelConfig.vision_backbone = "fer"`, the vision tower becomes
frozen FER features (128-d pooled map + the 7 class logits) -> a trainable linear projection to the joint
width D, and the media pipeline crops each frame to its face first (`MediaConfig.face_crop`, merclip.media.faces;
the centre square with a note when no face is found).

Frames arrive as the rest of the pipeline makes them, (N, 3, S, S) normalised with the CLIP mean/std, so
data loaders, caches and the Predictor are unchanged; the tower undoes the normalisation, takes the grey
level as OpenCV does (ITU-R 601) and resizes to 64x64 before the network.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..config import FER_INPUT_SIZE
from .clip_towers import image_preprocess_config
from .fer_net import FER_CLASSES, FER_FEATURE_DIM, MiniXception, load_fer_weights

GREY_WEIGHTS = (0.299, 0.587, 0.114)  # RGB -> grey, as cv2.COLOR_RGB2GRAY


class FaceExpressionTower(nn.Module):
    """(N, 3, S, S) CLIP-normalised face crops -> (N, D): frozen FER features and logits, projected."""

    def __init__(self, embed_dim: int, mean: Sequence[float], std: Sequence[float], image_size: int):
        super().__init__()
        self.fer = MiniXception()
        for p in self.fer.parameters():
            p.requires_grad_(False)
        self.proj = nn.Linear(FER_FEATURE_DIM + len(FER_CLASSES), embed_dim)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("grey", torch.tensor(GREY_WEIGHTS).view(1, 3, 1, 1), persistent=False)
        # What clip_towers.image_preprocess_config reads: the pipeline keeps feeding CLIP-normalised S x S frames.
        self.image_size = image_size
        self.preprocess_cfg = {"size": image_size, "mean": tuple(mean), "std": tuple(std)}

    @classmethod
    def like(cls, clip_visual: nn.Module, embed_dim: int) -> "FaceExpressionTower":
        """A tower that takes the frames a CLIP image tower takes (its size, mean and std), FER weights not loaded."""
        pp = image_preprocess_config(clip_visual)
        return cls(embed_dim, pp["mean"], pp["std"], pp["image_size"])

    def load_pretrained(self) -> "FaceExpressionTower":
        """Load the shipped FER2013 weights into the frozen network (checkpoints hold them too)."""
        load_fer_weights(self.fer)
        return self

    def train(self, mode: bool = True) -> "FaceExpressionTower":
        super().train(mode)
        self.fer.eval()  # frozen BatchNorm statistics, always
        return self

    def set_grad_checkpointing(self, enabled: bool = True) -> None:
        """Nothing to checkpoint: the frozen network keeps no activations for backward."""

    def fer_input(self, images: torch.Tensor) -> torch.Tensor:
        # images (N, 3, S, S) CLIP-normalised -> (N, 1, 64, 64) in [-1, 1], fer's scaling
        rgb = (images * self.std + self.mean).clamp(0, 1)
        grey = (rgb * self.grey).sum(dim=1, keepdim=True)  # (N, 1, S, S) in [0, 1]
        grey = F.interpolate(grey, size=(FER_INPUT_SIZE, FER_INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False)
        return (grey - 0.5) * 2.0

    def fer_outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (N, 128), logits (N, 7)) of the frozen network; no gradient flows into it."""
        with torch.no_grad():
            fmap = self.fer.feature_map(self.fer_input(images))  # (N, 128, 4, 4)
            return fmap.mean(dim=(-2, -1)), self.fer.logits_from_map(fmap)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feats, logits = self.fer_outputs(images)
        return self.proj(torch.cat([feats, logits], dim=-1))  # (N, D)
