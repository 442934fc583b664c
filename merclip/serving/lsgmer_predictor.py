"""One clip in, one LSGMER result out (audio + transcript; the clip's frames are not used)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..arguments import check_clip_files
from ..config import MediaConfig
from ..device import select_device
from ..errors import ensure_something_left
from ..media import load_clip
from ..models.batch import collate_clips, truncation_note
from ..models.checkpoint import load_checkpoint
from ..models.lsgmer import LSGMER, LSGMERConfig, js_divergence
from ..pretrained import clip_towers
from .items import audio_labels, token_strings


@dataclass
class LSGMERResult:
    labels: list[str]
    probabilities: dict[str, float]  # p_pred
    attribution: dict[str, float]  # p_attr (APC's attribution distribution)
    apc: float  # JS(p_attr || p_pred) for this clip
    label_attention: dict[str, np.ndarray]  # 'A' / 'L' -> (C, T) labels x items
    items: dict[str, list[str]]  # 'A': audio segments, 'L': tokens
    timings: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def predicted(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)


class LSGMERPredictor:
    def __init__(self, model: LSGMER, media_cfg: MediaConfig | None = None, device=None):
        self.device = select_device(device)
        self.model = model.to(self.device).eval()
        pp = clip_towers.image_preprocess_config(model.audio.visual)
        self._mean, self._std = pp["mean"], pp["std"]
        self.media_cfg = replace(media_cfg or MediaConfig(), num_frames=1, image_size=pp["image_size"])

    @classmethod
    def from_checkpoint(cls, path: str | Path, device=None, media_cfg: MediaConfig | None = None) -> "LSGMERPredictor":
        device = select_device(device)
        return cls(load_checkpoint(path, device=device, family=LSGMERConfig.family), media_cfg, device)

    @torch.inference_mode()
    def predict(self, video, transcript: str | None, audio=None, transcript_file=None) -> LSGMERResult:
        """`transcript` is text (never opened); a .txt / .srt file goes in `transcript_file`."""
        t0 = time.perf_counter()
        check_clip_files(video, audio, transcript_file)
        clip = load_clip(video, transcript, self.media_cfg, self._mean, self._std, audio=audio, require_video=False,
                         transcript_file=transcript_file)
        ensure_something_left(clip.present, reads=("L", "A"))  # LSGMER reads audio and transcript only
        timings = dict(clip.timings)
        notes = list(clip.notes)
        batch = collate_clips([clip], self.model.tokenizer)
        if (note := truncation_note(self.model.tokenizer, clip.transcript)) is not None:
            notes.append(note)
        t1 = time.perf_counter()
        out = self.model(batch.to(self.device))
        timings["lsgmer_forward"] = time.perf_counter() - t1
        labels = list(self.model.cfg.labels)
        n_tokens = int(batch.text_ids[0].argmax()) + 1
        n_segments = 0 if clip.audio is None else clip.audio.shape[0]
        attention = {}
        if out.label_attention:
            attention = {"L": out.label_attention["L"][0, :, :n_tokens].float().cpu().numpy(),
                         "A": out.label_attention["A"][0, :, :n_segments].float().cpu().numpy()}
        items = {"L": token_strings(self.model.tokenizer, batch.text_ids[0, :n_tokens].tolist()),
                 "A": audio_labels(n_segments, clip.duration, self.media_cfg)}
        timings["total"] = time.perf_counter() - t0
        as_dict = lambda t: {l: float(p) for l, p in zip(labels, t[0].float().cpu())}  # noqa: E731
        return LSGMERResult(labels=labels, probabilities=as_dict(out.probs), attribution=as_dict(out.attribution),
                            apc=float(js_divergence(out.attribution, out.probs)[0]), label_attention=attention,
                            items=items, timings=timings, notes=notes)
