"""Zero-shot CLIP baseline: no training, frames and transcript scored against label prompts.

Only meaningful with real CLIP weights (open_clip's ViT-B-32/openai in the local cache, or a local
weights file); the app offers it beside the trained model so a user with real weights sees how
plain CLIP reads their clip. Vision: mean of the per-frame image embeddings against
"a photo of a person who looks {label}."; language: the transcript embedding against
"someone saying something {label}."; the two softmax distributions (CLIP's scale 100) are averaged.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..arguments import check_clip_files, check_labels
from ..config import MediaConfig
from ..media import load_clip
from . import clip_towers

IMAGE_TEMPLATE = "a photo of a person who looks {}."
TEXT_TEMPLATE = "someone saying something {}."


def real_weights_source(weights_path: str | None = None, arch: str = "ViT-B-32", tag: str = "openai") -> str | None:
    """Where real CLIP weights can be had offline: an explicit file, $MERCLIP_CLIP_WEIGHTS, or the HF cache."""
    for candidate in (weights_path, os.environ.get(clip_towers.WEIGHTS_ENV_VAR)):
        if candidate and os.path.isfile(candidate):
            return candidate
    try:
        import open_clip
        from huggingface_hub import try_to_load_from_cache

        cfg = open_clip.get_pretrained_cfg(arch, tag)
        hub = cfg.get("hf_hub", "").rstrip("/")
        if hub:
            for name in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
                hit = try_to_load_from_cache(hub, name)
                if isinstance(hit, str):
                    return tag
    except ImportError:  # no hub library: no cached weights to find. Anything else is a bug, and is raised
        return None
    return None


@dataclass
class ZeroShotResult:
    labels: list[str]
    vision: dict[str, float]
    language: dict[str, float] | None
    combined: dict[str, float]


class ZeroShotCLIP:
    def __init__(self, arch: str = "ViT-B-32", source: str | None = "openai", device: str | torch.device = "cpu"):
        weights_path = source if source and os.path.isfile(source) else None
        self.clip = clip_towers.create_clip(arch, None if weights_path else source, weights_path).to(device).eval()
        self.tokenizer = clip_towers.get_tokenizer(arch)
        self.device = torch.device(device)
        self.pp = clip_towers.image_preprocess_config(self.clip.visual)
        self.arch = arch

    @torch.inference_mode()
    def _text(self, texts: Sequence[str]) -> torch.Tensor:
        return F.normalize(self.clip.encode_text(self.tokenizer(list(texts)).to(self.device)), dim=-1)

    @torch.inference_mode()
    def predict(self, video, transcript: str | None, labels: Sequence[str], media_cfg: MediaConfig | None = None,
                transcript_file=None) -> ZeroShotResult:
        """`transcript` is text (never opened); a .txt / .srt file goes in `transcript_file`."""
        check_clip_files(video, None, transcript_file)
        labels = check_labels(labels, "zero-shot", required=True)
        cfg = media_cfg or MediaConfig(image_size=self.pp["image_size"])
        clip = load_clip(video, transcript, cfg, self.pp["mean"], self.pp["std"], transcript_file=transcript_file)
        image = F.normalize(self.clip.encode_image(clip.frames.to(self.device)).mean(0, keepdim=True), dim=-1)
        vision = (100 * image @ self._text([IMAGE_TEMPLATE.format(l) for l in labels]).T).softmax(-1)[0]
        language = None
        if clip.transcript:
            said = self._text([clip.transcript])
            language = (100 * said @ self._text([TEXT_TEMPLATE.format(l) for l in labels]).T).softmax(-1)[0]
        combined = vision if language is None else (vision + language) / 2
        as_dict = lambda t: {l: float(p) for l, p in zip(labels, t.cpu())}  # noqa: E731
        return ZeroShotResult(list(labels), as_dict(vision), as_dict(language) if language is not None else None, as_dict(combined))
