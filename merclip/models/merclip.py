"""MER-CLIP: modality encoders + label encoder + cross-modal decoder + label-similarity prediction.

Read top to bottom: inputs -> `encode_modalities` (the expensive part, cached per clip by the
Predictor) -> `fuse` (CMD with the emotion query, or FC fusion) -> `head` (cosine with label
embeddings, or an FC classifier in the w/o-LE ablation) -> probabilities.

Ablation switches (paper, Table 4, sec. 4.5.2):
  use_cmd=False                           concatenated pooled embeddings -> one FC layer -> cosine with labels
  use_label_encoder=False                 CMD (with a learnable query: there is no LE to embed 'Emotion') -> FC
  use_cmd=False, use_label_encoder=False  concatenation -> FC -> ReLU (cfg.fc_activation) -> FC classifier
Modality subset and order (Table 3) come from `modality_order`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..errors import LabelError
from ..labels import validate_labels
from ..memo import LockedLRU
from ..pretrained import clip_towers
from ..pretrained.wordllama_text import load_wordllama_embeddings
from .batch import ModalityInputs
from .cross_modal_decoder import CrossModalDecoder, LayerAttention
from .losses import probabilities, scale_logits, standardise, task_loss
from .towers import Towers, clip_for, image_towers, text_towers

TEXT_MEMO_SIZE = 256  # distinct label sets + query words memoised (a label set is one entry)


def _all_valid(items: torch.Tensor) -> torch.Tensor:
    return torch.ones(items.shape[:2], dtype=torch.bool, device=items.device)


class _UseConfig:
    def __repr__(self) -> str:
        return "<config default>"


USE_CONFIG = _UseConfig()  # sentinel: "use the config's query word" (None means: no query word)


@dataclass
class ModalityFeatures:
    """Encoder outputs per modality letter: tokens (B, T, D), mask (B, T), pooled (B, D)."""

    tokens: dict[str, torch.Tensor] = field(default_factory=dict)
    masks: dict[str, torch.Tensor] = field(default_factory=dict)
    pooled: dict[str, torch.Tensor] = field(default_factory=dict)

    def present(self, m: str) -> torch.Tensor:
        return self.masks[m].any(dim=1)  # (B,)

    def without(self, dropped: Sequence[str]) -> "ModalityFeatures":
        """A copy with the given modalities masked out (as if absent), for the app's drop toggles."""
        masks = {m: (torch.zeros_like(v) if m in dropped else v) for m, v in self.masks.items()}
        pooled = {m: (torch.zeros_like(v) if m in dropped else v) for m, v in self.pooled.items()}
        return ModalityFeatures(tokens=self.tokens, masks=masks, pooled=pooled)


@dataclass
class ModelOutput:
    logits: torch.Tensor  # (B, C) what the loss sees
    probs: torch.Tensor  # (B, C)
    fused: torch.Tensor  # (B, D)
    similarity: torch.Tensor | None  # (B, C) cosine with labels; None without the label encoder
    attentions: list[LayerAttention]


class MERCLIP(nn.Module):
    def __init__(self, cfg: ModelConfig, towers: Towers):
        super().__init__()
        self.text_memo: LockedLRU[torch.Tensor] = LockedLRU(TEXT_MEMO_SIZE)  # label/query embeddings at inference
        self.cfg = cfg
        self.tokenizer = towers.tokenizer
        dim = towers.embed_dim
        self.embed_dim = dim
        self.vision = towers.vision
        self.audio = towers.audio
        self.language = towers.language
        self.label_encoder = towers.label_encoder  # LE: a frozen text-tower copy
        if cfg.use_cmd:
            self.cmd = CrossModalDecoder(
                dim, cfg.cmd_hidden, cfg.cmd_heads, cfg.num_cmd_layers, cfg.modality_order, cfg.dropout
            )
            if not cfg.use_label_encoder:
                self.learned_query = nn.Parameter(torch.randn(dim) * 0.02)
            if cfg.pooled_skip:  # this project's extension (config.py): start as the language tower's own reading
                self.skip_gates = nn.Parameter(torch.tensor(  # (M,): 1 for language, skip_gate_init for the others
                    [1.0 if m == "L" else cfg.skip_gate_init for m in cfg.modality_order]))
                nn.init.zeros_(self.cmd.out.weight)
                nn.init.zeros_(self.cmd.out.bias)
            if cfg.trust_gates:  # per-clip factors on the non-language skips, starting at 1 (config.py)
                self.trust = nn.ModuleDict({m: nn.Linear(dim, 1) for m in cfg.modality_order if m != "L"})
                for layer in self.trust.values():
                    nn.init.zeros_(layer.weight)
                    nn.init.zeros_(layer.bias)
        else:
            self.fusion = nn.Linear(len(cfg.modality_order) * dim, dim)
        if cfg.use_label_encoder:
            self.logit_scale = nn.Parameter(torch.tensor(math.log(cfg.logit_scale_init)))
        else:
            self.classifier = nn.Linear(dim, len(cfg.labels))

    # ---- modality encoders (media-dependent, cacheable) -------------------------------------------
    def encode_modality(self, m: str, inputs: ModalityInputs):
        """(tokens (B, T, D), mask (B, T), pooled (B, D)) for modality letter m."""
        B = inputs.batch_size
        device = self.label_encoder.label_ctx.device
        if m == "L" and inputs.text_ids is not None:
            tokens, pooled, mask = self.language(inputs.text_ids)
            if inputs.text_present is not None:
                mask = mask & inputs.text_present[:, None]
        elif m == "V" and inputs.frames is not None:
            mask = inputs.frame_mask if inputs.frame_mask is not None else _all_valid(inputs.frames)
            tokens, pooled = self.vision(inputs.frames, mask)
        elif m == "A" and inputs.audio is not None:
            mask = inputs.audio_mask if inputs.audio_mask is not None else _all_valid(inputs.audio)
            tokens, pooled = self.audio(inputs.audio, mask)
        else:  # modality missing for the whole batch: one masked-out placeholder item
            tokens = torch.zeros(B, 1, self.embed_dim, device=device)
            mask = torch.zeros(B, 1, dtype=torch.bool, device=device)
            pooled = torch.zeros(B, self.embed_dim, device=device)
        return tokens, mask, pooled * mask.any(dim=1, keepdim=True).to(pooled.dtype)

    def encode_modalities(self, inputs: ModalityInputs) -> ModalityFeatures:
        feats = ModalityFeatures()
        for m in self.cfg.modality_order:
            feats.tokens[m], feats.masks[m], feats.pooled[m] = self.encode_modality(m, inputs)
        return feats

    # ---- label side (text-only, cheap, memoised at inference) ------------------------------------
    def _text_cached(self, key: tuple, compute):
        """Label/query embeddings depend only on the text and fixed weights at inference: compute them once.

        The memo is used only outside training and without autograd, and is emptied whenever the model
        switches mode or loads weights, so it can never serve stale embeddings. It is a bounded, locked LRU
        (`merclip.memo`): the app's users share one model and bring their own label sets from several threads.
        """
        if self.training or torch.is_grad_enabled():
            return compute()
        return self.text_memo.get_or_compute(key, compute)

    def train(self, mode: bool = True) -> "MERCLIP":
        self.text_memo.clear()
        return super().train(mode)

    def load_state_dict(self, *args, **kwargs):
        self.text_memo.clear()
        return super().load_state_dict(*args, **kwargs)

    def label_embeddings(self, labels: Sequence[str] | None = None) -> torch.Tensor:
        labels = list(labels or self.cfg.labels)
        return self._text_cached(("labels", *labels), lambda: self.label_encoder.labels(labels))  # (C, D)

    def query_embedding(self, query_word: str | None | _UseConfig = USE_CONFIG) -> torch.Tensor:
        if not self.cfg.use_label_encoder:
            return self.learned_query
        word = self.cfg.query_word if isinstance(query_word, _UseConfig) else query_word
        return self._text_cached(("query", word), lambda: self.label_encoder.query(word))  # (D,)

    # ---- fusion and prediction ------------------------------------------------------------------
    def fuse(self, feats: ModalityFeatures, query_word=USE_CONFIG) -> tuple[torch.Tensor, list[LayerAttention]]:
        if not self.cfg.use_cmd:
            stacked = torch.cat([feats.pooled[m] for m in self.cfg.modality_order], dim=-1)  # (B, M*D)
            fused = self.fusion(stacked)  # (B, D)
            if not self.cfg.use_label_encoder and self.cfg.fc_activation == "relu":
                fused = F.relu(fused)  # "fully connected layers" with a nonlinearity between fusion and classifier
            return fused, []
        if self.cfg.cmd_mode == "pooled":  # Algorithm 1: X^L (EOS), X^V (mean of frames), X^A (mean of segments)
            memory = {m: (feats.pooled[m].unsqueeze(1), feats.present(m).unsqueeze(1))  # (B, 1, D), (B, 1)
                      for m in self.cfg.modality_order}
        else:  # this project's extension: every token / frame / segment is a key
            memory = {m: (feats.tokens[m], feats.masks[m]) for m in self.cfg.modality_order}  # (B, T_m, D), (B, T_m)
        fused, attentions = self.cmd(self.query_embedding(query_word), memory)  # (B, D)
        if self.cfg.pooled_skip:  # unit vectors, so a gate weighs its modality against the CMD's output (whose
            # scale its last layer learns); absent modalities have pooled zeros (encode_modality) and add nothing
            fused = fused + sum(g * self.skip_trust(m, feats.pooled[m]) * F.normalize(feats.pooled[m], dim=-1)
                                for g, m in zip(self.skip_gates, self.cfg.modality_order))
        return fused, attentions

    def skip_trust(self, m: str, pooled: torch.Tensor) -> torch.Tensor | float:
        """(B, 1) per-clip factor on modality m's skip, in (0, 2), read off its own embedding (ModelConfig.trust_gates);
        1 for language and without trust gates."""
        if not self.cfg.trust_gates or m not in self.trust:
            return 1.0
        return 2 * torch.sigmoid(self.trust[m](F.normalize(pooled, dim=-1)))  # (B, 1)

    def head(self, fused: torch.Tensor, labels: Sequence[str] | None = None, task: str | None = None):
        """(logits, cosine similarity or None) for `labels` (default: the trained label set)."""
        task = task or self.cfg.task
        self.check_label_set(labels)
        if not self.cfg.use_label_encoder:
            return self.classifier(fused), None
        label_emb = self.label_embeddings(labels)
        sims = F.normalize(fused, dim=-1) @ F.normalize(label_emb, dim=-1).T  # (B, C)
        logits = standardise(sims) if task == "emotion" else scale_logits(sims, self.logit_scale)
        return logits, sims

    def check_label_set(self, labels: Sequence[str] | None) -> None:
        """Refuse labels this model cannot score: any set but its own without the label encoder (an FC classifier)."""
        if not self.cfg.use_label_encoder and labels is not None and tuple(labels) != self.cfg.labels:
            raise LabelError(
                "this model was trained without the label encoder (FC classifier), so its label set is fixed "
                f"to {list(self.cfg.labels)}; custom labels need a model with the label encoder"
            )

    def predict_from_features(
        self, feats: ModalityFeatures, labels: Sequence[str] | None = None, query_word=USE_CONFIG, task: str | None = None
    ) -> ModelOutput:
        task = task or self.cfg.task
        if labels is not None:
            labels = validate_labels(labels, task)
        fused, attentions = self.fuse(feats, query_word)
        logits, sims = self.head(fused, labels, task)
        return ModelOutput(logits=logits, probs=probabilities(task, logits), fused=fused, similarity=sims, attentions=attentions)

    def forward(self, inputs: ModalityInputs, labels: Sequence[str] | None = None, query_word=USE_CONFIG) -> ModelOutput:
        return self.predict_from_features(self.encode_modalities(inputs), labels, query_word)

    def loss(self, out: ModelOutput, targets: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """BCE (emotion) or cross-entropy (sentiment) on the trained label set (and no parts to report)."""
        return task_loss(self.cfg.task, out.logits.float(), targets), {}

    def training_loss(self, inputs: ModalityInputs, targets: torch.Tensor) -> torch.Tensor:
        return self.loss(self(inputs), targets)[0]

    def set_grad_checkpointing(self, enabled: bool = True) -> None:
        """Trade compute for memory in the trainable towers (each tower knows whether it has anything to keep)."""
        for tower in (self.vision.visual, self.audio.visual, self.language.tower):
            tower.set_grad_checkpointing(enabled)


def build_model(cfg: ModelConfig, clip_weights: str | None = None, load_clip_weights: bool = True) -> MERCLIP:
    """Construct MER-CLIP; CLIP weights come from cfg.clip_pretrained or `clip_weights` (a local file).

    `load_clip_weights=False` builds the architecture only, for loading a MER-CLIP checkpoint next.
    """
    clip, tokenizer = clip_for(cfg.clip_model, cfg.clip_pretrained, clip_weights, load_clip_weights)
    language, label_encoder, tokenizer = text_towers(cfg.text_backbone, clip, tokenizer, cfg.n_ctx)
    vision, audio = image_towers(cfg.vision_backbone, clip)
    model = MERCLIP(cfg, Towers(tokenizer, clip_towers.embed_dim(clip), language, label_encoder, audio, vision))
    if cfg.text_backbone == "wordllama":  # the frozen table ships with wordllama, never in checkpoints
        load_wordllama_embeddings(model)
    if cfg.vision_backbone == "fer" and load_clip_weights:  # a checkpoint holds the FER weights it was trained with
        model.vision.visual.load_pretrained()
    return model
