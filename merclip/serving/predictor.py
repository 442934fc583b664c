"""One clip in, one PredictionResult out.

The Predictor caches each clip's modality features (the media decoders and the three towers are
the expensive part), so trying another query word, label set or dropped modality on the same clip
re-runs only the label encoder and the CMD: milliseconds rather than seconds.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..arguments import (
    ArgumentError,
    check_batch_size,
    check_clip_files,
    check_labels,
    check_modalities,
    check_path,
    check_query_word,
    check_task,
)
from ..config import MODALITY_NAMES, MediaConfig, ModelConfig
from ..device import select_device
from ..errors import ensure_something_left
from ..labels import LABEL_SETS, QUERY_WORDS
from ..media import file_identity, load_clip
from ..memo import LockedLRU
from ..models.batch import collate_clips, truncation_note
from ..models.checkpoint import load_checkpoint
from ..models.losses import decisions
from ..models.merclip import MERCLIP, USE_CONFIG, ModalityFeatures
from ..models.speed import SpeedConfig, apply_speed, autocast
from ..pretrained import clip_towers
from .items import audio_labels, frame_labels, token_strings  # noqa: F401 - token_strings: public here too
from .sources import DecodedSource


@dataclass
class AttentionMap:
    layer: int
    modality: str  # 'L', 'V' or 'A'
    weights: np.ndarray  # (heads, T) cross-attention of the query over this modality's items
    items: list[str]  # what each key is: a token, a frame time, an audio segment


@dataclass
class PredictionResult:
    task: str
    labels: list[str]
    query_word: str | None
    probabilities: dict[str, float]
    decisions: dict[str, bool]
    similarities: dict[str, float] | None
    embeddings: dict[str, np.ndarray]  # 'language' / 'vision' / 'audio' -> (D,), pooled encoder outputs
    present: dict[str, bool]  # which modalities the clip actually has
    fused: np.ndarray  # (D,) CMD output
    label_embeddings: np.ndarray  # (C, D)
    attention: list[AttentionMap]
    timings: dict[str, float]
    notes: list[str] = field(default_factory=list)
    features_cached: bool = False
    thumbnails: list = field(default_factory=list)  # PIL images of the sampled frames

    def modality_label_similarity(self) -> dict[str, np.ndarray]:
        """Cosine similarity of each modality embedding and of the fused output with every label: name -> (C,)."""
        labels = self.label_embeddings / (np.linalg.norm(self.label_embeddings, axis=1, keepdims=True) + 1e-8)
        rows = {**self.embeddings, "fused": self.fused}
        return {name: labels @ (v / (np.linalg.norm(v) + 1e-8)) for name, v in rows.items()}

    @property
    def predicted(self) -> list[str]:
        return [label for label, on in self.decisions.items() if on]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (embeddings as lists)."""
        return {
            "task": self.task, "labels": self.labels, "query_word": self.query_word,
            "probabilities": self.probabilities, "decisions": self.decisions, "predicted": self.predicted,
            "similarities": self.similarities, "present": self.present,
            "embeddings": {k: v.tolist() for k, v in self.embeddings.items()}, "fused": self.fused.tolist(),
            "attention": [{"layer": a.layer, "modality": a.modality, "weights": a.weights.tolist(), "items": a.items}
                          for a in self.attention],
            "timings": self.timings, "notes": self.notes, "features_cached": self.features_cached,
        }


@dataclass
class _CachedClip:
    features: ModalityFeatures
    items: dict[str, list[str]]
    present: dict[str, bool]
    notes: list[str]
    timings: dict[str, float]
    thumbnails: list


def _file_id(path: str | Path | DecodedSource | None) -> str:
    """A file's identity for the cache: resolved path, size and modification time (a rewritten file is a new key)."""
    if path is None:
        return "-"
    if isinstance(path, DecodedSource):
        return path.cache_id
    return file_identity(path)


def _clip_key(video: str | Path, transcript: str | None, audio: Any, media_cfg: MediaConfig,
              transcript_file: str | Path | None = None) -> str:
    raw = (f"{_file_id(video)}|text:{transcript!r}|file:{_file_id(transcript_file)}|audio:{_file_id(audio)}"
           f"|{media_cfg}")
    return hashlib.sha1(raw.encode()).hexdigest()


class Predictor:
    """Wraps a MERCLIP model for single-clip inference with per-clip feature caching."""

    def __init__(self, model: MERCLIP, media_cfg: MediaConfig | None = None, device=None, cache_size: int = 32,
                 speed: SpeedConfig | None = None):
        self.device = select_device(device)
        self.speed = speed or SpeedConfig.interactive(self.device)
        self.model = apply_speed(model.to(self.device).eval(), self.speed)
        pp = clip_towers.image_preprocess_config(model.vision.visual)
        self._mean, self._std = pp["mean"], pp["std"]
        base = media_cfg or MediaConfig()
        self.media_cfg = replace(base, num_frames=model.cfg.num_frames, image_size=pp["image_size"])
        if getattr(model.cfg, "vision_backbone", "clip") == "fer":  # the FER tower reads face crops
            self.media_cfg = replace(self.media_cfg, face_crop=True)
        self.cache_size = cache_size
        self._cache: LockedLRU[_CachedClip] = LockedLRU(cache_size)  # shared by every user the app serves

    @classmethod
    def from_checkpoint(cls, path: str | Path, device=None, media_cfg: MediaConfig | None = None,
                        speed: SpeedConfig | None = None, cache_size: int = 32) -> "Predictor":
        device = select_device(device)
        return cls(load_checkpoint(path, device=device, family=ModelConfig.family), media_cfg=media_cfg, device=device,
                   speed=speed, cache_size=cache_size)

    @property
    def cfg(self):
        return self.model.cfg

    @property
    def image_norm(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(mean, std) of the vision tower's image normalisation, which the front end applies to frames and log-mel
        images alike."""
        return self._mean, self._std

    @torch.inference_mode()
    def warm_up_text(self) -> float:
        """Embed every built-in label set and query word once; returns the seconds it took.

        The model memoises label and query embeddings at inference, so afterwards the first swap to any built-in
        label set or query word costs what every later one does (for ViT-B-32 on a CPU, a new label set otherwise
        runs the text tower for ~0.1 s inside the user's request). The app calls this in its warm-up thread.
        """
        t0 = time.perf_counter()
        if self.cfg.use_label_encoder:
            with autocast(self.device, self.speed):
                for kinds in LABEL_SETS.values():
                    for labels in kinds.values():
                        self.model.label_embeddings(labels)
                for word in QUERY_WORDS:
                    self.model.query_embedding(word)
        return time.perf_counter() - t0

    # -- stage 1: media -> cached modality features ---------------------------------------------
    @torch.inference_mode()
    def features(self, video: str | Path, transcript: str | None, audio: str | Path | None = None,
                 transcript_file: str | Path | None = None):
        """Modality features for a clip, from the cache when this clip was seen before.

        `transcript` is text, never opened; `transcript_file` is a .txt / .srt file to read instead.
        """
        check_clip_files(video, audio, transcript_file)
        key = _clip_key(video, transcript, audio, self.media_cfg, transcript_file)
        if (hit := self._cache.get(key)) is not None:
            return hit, True
        clip = load_clip(video, transcript, self.media_cfg, self._mean, self._std, audio=audio,
                         transcript_file=transcript_file)
        return self._encode_and_cache([(key, clip)])[0], False

    def _encode_and_cache(self, keyed_clips: list, cache: LockedLRU[_CachedClip] | None = None) -> list[_CachedClip]:
        """Run the towers once over a batch of decoded clips, then cache one entry per clip (in `cache`, default the
        shared one).

        Each clip's features are cut back to its own valid items, so a clip encoded in a batch caches the same
        shapes (and, up to float rounding, the same values) as when it is encoded alone. Masks and token ids are
        read from the host-side batch, so the loop over clips never waits on the GPU.
        """
        clips = [c for _, c in keyed_clips]
        host_batch = collate_clips(clips, self.model.tokenizer)
        batch = host_batch.to(self.device, non_blocking=True)
        encoded, seconds = {}, {}
        for m in self.cfg.modality_order:  # timed per tower
            t0 = time.perf_counter()
            with autocast(self.device, self.speed):
                tokens, mask, pooled = self.model.encode_modality(m, batch)
            encoded[m] = (tokens.float(), mask, pooled.float(), mask.cpu())
            seconds[m] = (time.perf_counter() - t0) / len(clips)  # mask.cpu() waited for the tower
        out = []
        for i, (key, clip) in enumerate(keyed_clips):
            feats = ModalityFeatures()
            for m, (tokens, mask, pooled, host_mask) in encoded.items():
                n = int(host_mask[i].sum())
                if n == 0:  # absent for this clip: one masked placeholder, as a batch of one gets
                    feats.tokens[m] = tokens.new_zeros(1, 1, tokens.shape[-1])
                    feats.masks[m] = mask.new_zeros(1, 1)
                else:
                    feats.tokens[m], feats.masks[m] = tokens[i : i + 1, :n], mask[i : i + 1, :n]
                feats.pooled[m] = pooled[i : i + 1]
            notes = list(clip.notes)
            if (note := truncation_note(self.model.tokenizer, clip.transcript)) is not None:
                notes.append(note)
            timings = dict(clip.timings) | {f"encode_{MODALITY_NAMES[m]}": t for m, t in seconds.items()}
            items = {
                "L": token_strings(self.model.tokenizer, host_batch.text_ids[i].tolist()),
                "V": frame_labels(self.media_cfg.num_frames, clip.duration),
                "A": audio_labels(clip.audio.shape[0], clip.duration, self.media_cfg) if clip.audio is not None else [],
            }
            cached = _CachedClip(features=feats, items=items, present=clip.present, notes=notes, timings=timings,
                                 thumbnails=clip.thumbnails)
            (self._cache if cache is None else cache).put(key, cached)
            out.append(cached)
        return out

    @torch.inference_mode()
    def predict_batch(self, videos: Sequence, transcripts: Sequence, batch_size: int = 16,
                      audios: Sequence | None = None, labels: Sequence[str] | None = None, query_word=USE_CONFIG,
                      task: str | None = None, drop_modalities: Sequence[str] = (),
                      cache: LockedLRU[_CachedClip] | None = None) -> list[PredictionResult]:
        """Many clips, `batch_size` at a time: decode the uncached ones, run the towers over them together, then the
        label encoder + CMD once for the whole batch (padded keys are masked out).

        `cache`: where the clips' features are looked up and kept, instead of the predictor's own cache (shared by
        every user the app serves): a caller with many one-off clips (a timeline's windows) passes a small one of its
        own, so that they do not evict everyone else's clips.

        Gives the same predictions as calling `predict` per clip (tests/test_predict.py checks it); works for any
        number of clips, whatever the cache size.
        """
        batch_size = check_batch_size(batch_size)
        task, label_list, query_word, drop_modalities = self._choices(labels, query_word, task, drop_modalities)
        audios = _batch_files(videos, transcripts, audios)
        results: list[PredictionResult] = []
        requests = list(zip(videos, transcripts, audios))
        for start in range(0, len(requests), batch_size):
            chunk = requests[start : start + batch_size]
            keys = [_clip_key(v, t, a, self.media_cfg) for v, t, a in chunk]
            entries: dict[str, _CachedClip] = {}
            store = self._cache if cache is None else cache
            cached = {k: hit for k in keys if (hit := store.get(k)) is not None}
            pending = {}
            for key, (v, t, a) in zip(keys, chunk):
                if key not in cached and key not in pending:
                    pending[key] = _load_request(v, t, self.media_cfg, self._mean, self._std, a)
            if pending:
                entries.update(zip(pending, self._encode_and_cache(list(pending.items()), store)))
            clips = [cached.get(k) or entries[k] for k in keys]
            for i, clip in enumerate(clips):
                ensure_something_left(clip.present, drop_modalities, what=f"clip {start + i + 1}")
            t0 = time.perf_counter()
            feats = _stack_features([c.features for c in clips])
            if drop_modalities:
                feats = feats.without(drop_modalities)
            with autocast(self.device, self.speed):
                out = self.model.predict_from_features(feats, label_list, query_word, task)
            seconds = (time.perf_counter() - t0) / len(clips)
            host = self._to_host(out, label_list)
            results.extend(self._result(host, i, clip, key in cached, label_list, query_word, task, drop_modalities,
                                        seconds) for i, (key, clip) in enumerate(zip(keys, clips)))
        return results

    # -- stage 2: cached features + labels + query -> prediction -----------------------------------
    @torch.inference_mode()
    def predict(
        self,
        video: str | Path,
        transcript: str | None = None,
        labels: Sequence[str] | None = None,
        query_word=USE_CONFIG,
        task: str | None = None,
        drop_modalities: Sequence[str] = (),
        audio: str | Path | None = None,
        transcript_file: str | Path | None = None,
    ) -> PredictionResult:
        """One clip's prediction. `transcript` is the words as text (never opened as a file, whatever it looks
        like); a .txt / .srt transcript goes in `transcript_file`."""
        t_start = time.perf_counter()
        task, label_list, query_word, drop_modalities = self._choices(labels, query_word, task, drop_modalities)
        clip, was_cached = self.features(video, transcript, audio, transcript_file)
        ensure_something_left(clip.present, drop_modalities)
        feats = clip.features.without(drop_modalities) if drop_modalities else clip.features
        t0 = time.perf_counter()
        with autocast(self.device, self.speed):
            out = self.model.predict_from_features(feats, label_list, query_word, task)
        _sync(self.device)
        result = self._result(self._to_host(out, label_list), 0, clip, was_cached, label_list, query_word, task, drop_modalities,
                              time.perf_counter() - t0)
        result.timings["total"] = time.perf_counter() - t_start
        return result

    def _choices(self, labels, query_word, task, drop_modalities) -> tuple[str, list[str], Any, tuple[str, ...]]:
        """A request's choices checked before any decoding: (task, label list, query word, dropped modality
        letters). Full modality names are accepted beside the letters."""
        task = self.cfg.task if task is None else check_task(task)
        checked = check_labels(labels, task)
        self.model.check_label_set(checked)
        query_word = query_word if query_word is USE_CONFIG else check_query_word(query_word)
        return task, list(checked or self.cfg.labels), query_word, check_modalities(drop_modalities)

    def _to_host(self, out, label_list: list[str]) -> tuple[dict, np.ndarray]:
        """A (batched) model output on the host in one go, plus the label embeddings: one copy per batch, not per clip."""
        host = {"probs": out.probs.float().cpu(), "fused": out.fused.float().cpu().numpy(),
                "similarity": out.similarity.float().cpu().numpy() if out.similarity is not None else None,
                "attention": [(a.layer, a.modality, a.cross_attn[:, :, 0].float().cpu().numpy(), a.key_mask.cpu().numpy())
                              for a in out.attentions]}
        label_emb = (self.model.label_embeddings(label_list) if self.cfg.use_label_encoder
                     else self.model.classifier.weight).float().cpu().numpy()
        return host, label_emb

    def _result(self, host_out: tuple[dict, np.ndarray], i: int, clip: _CachedClip, was_cached: bool, label_list: list[str], query_word, task: str,
                drop_modalities: Sequence[str], decode_time: float) -> PredictionResult:
        """Row `i` of a host-side batch output (`_to_host`) as a PredictionResult."""
        host, label_emb = host_out
        dec = decisions(task, host["probs"][i : i + 1], self.cfg.emotion_threshold)[0].numpy()
        probs = host["probs"][i].numpy()
        sims = host["similarity"][i] if host["similarity"] is not None else None
        attention = []
        for layer, modality, cross_attn, key_mask in host["attention"]:
            n_valid = int(key_mask[i].sum())
            items = clip.items[modality][:n_valid] if self.cfg.cmd_mode == "sequence" else [MODALITY_NAMES[modality]] * n_valid
            weights = cross_attn[i, :, :n_valid]  # (heads, T_valid)
            attention.append(AttentionMap(layer=layer, modality=modality, weights=weights, items=items))
        present = {MODALITY_NAMES[m]: bool(clip.present[m]) and m not in drop_modalities for m in ("L", "V", "A")}
        timings = dict(clip.timings) if not was_cached else {}
        timings["label_encoder+cmd"] = decode_time
        query = self.cfg.query_word if query_word is USE_CONFIG else query_word
        notes = list(clip.notes) + [f"{MODALITY_NAMES[m]} modality dropped by request" for m in drop_modalities]
        pooled = clip.features.pooled
        return PredictionResult(
            task=task, labels=label_list, query_word=query,
            probabilities={l: float(p) for l, p in zip(label_list, probs)},
            decisions={l: bool(d) for l, d in zip(label_list, dec)},
            similarities={l: float(s) for l, s in zip(label_list, sims)} if sims is not None else None,
            embeddings={MODALITY_NAMES[m]: (pooled[m][0] * (m not in drop_modalities)).float().cpu().numpy()
                        for m in self.cfg.modality_order},
            present=present, fused=host["fused"][i], label_embeddings=label_emb,
            attention=attention, timings=timings, notes=notes, features_cached=was_cached, thumbnails=clip.thumbnails,
        )


def _batch_files(videos: Sequence, transcripts: Sequence, audios: Sequence | None) -> list:
    """A batch's audio files (None for each clip when none are given), once the videos, transcripts and audios are
    as many and each video is a path or a decoded window."""
    audios = list(audios) if audios is not None else [None] * len(videos)
    if not len(videos) == len(transcripts) == len(audios):
        raise ArgumentError(f"videos, transcripts and audios must be as many: got {len(videos)} videos, "
                            f"{len(transcripts)} transcripts and {len(audios)} audio files")
    for i, (video, audio) in enumerate(zip(videos, audios)):
        if not isinstance(video, DecodedSource):
            check_path(video, f"videos[{i}]")
            check_path(audio, f"audios[{i}]", required=False)
    return audios


def _stack_features(rows: list[ModalityFeatures]) -> ModalityFeatures:
    """Clips' cached features (each batch 1, own length) -> one batch, keys padded and masked out."""
    if len(rows) == 1:
        return rows[0]
    out = ModalityFeatures()
    for m in rows[0].tokens:
        t_max = max(r.tokens[m].shape[1] for r in rows)
        out.tokens[m] = torch.cat([F.pad(r.tokens[m], (0, 0, 0, t_max - r.tokens[m].shape[1])) for r in rows])
        out.masks[m] = torch.cat([F.pad(r.masks[m], (0, t_max - r.masks[m].shape[1])) for r in rows])
        out.pooled[m] = torch.cat([r.pooled[m] for r in rows])
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _load_request(video, transcript, media_cfg: MediaConfig, mean, std, audio):
    """One predict_batch request's decoded inputs: a file is decoded by `load_clip`; a `DecodedSource` already is."""
    if isinstance(video, DecodedSource):
        return video.inputs
    return load_clip(video, transcript, media_cfg, mean, std, audio=audio)
