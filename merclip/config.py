"""Typed configuration for MER-CLIP (ready-made configs: `merclip.model_configs.presets`).

Configs are plain dataclasses so that they serialise to JSON beside every checkpoint:
a checkpoint rebuilds its own model, and a run's hyperparameters are never lost
(the main reproducibility complaint about existing MER toolkits).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

Task = Literal["emotion", "sentiment"]  # MER-CLIP's tasks
# LSGMER's task: one emotion per utterance (IEMOCAP, MELD): a class index, cross-entropy, weighted F1.
SINGLE_EMOTION = "single"
Modality = Literal["L", "V", "A"]
CMDMode = Literal["sequence", "pooled"]
TextBackbone = Literal["clip", "wordllama"]
VisionBackbone = Literal["clip", "fer"]

MODALITIES: tuple[str, ...] = ("L", "V", "A")
MODALITY_NAMES = {"L": "language", "V": "vision", "A": "audio"}

EMOTION_LABELS: tuple[str, ...] = ("happy", "sad", "angry", "surprise", "disgust", "fear")
SENTIMENT_LABELS: tuple[str, ...] = ("positive", "negative")
# The FER2013 network's input side (merclip.pretrained.fer_net): the media step crops faces to it
# (merclip.media.faces), so the fact lives below both.
FER_INPUT_SIZE = 64
DEFAULT_QUERY_WORD = {"emotion": "Emotion", "sentiment": "Sentiment"}


C = TypeVar("C", bound="FamilyConfig")


@dataclass
class FamilyConfig:
    """What every model family's config shares: a JSON round trip and the fields a checkpoint may differ in.

    A subclass names its family (its entry in merclip.models.registry), its weight-free fields and the values of
    fields that configs saved by older versions lack: what that version's model did, so an old checkpoint rebuilds
    the model it was trained as (the dataclass defaults are for new models).
    """

    family: ClassVar[str] = ""
    # Fields that change no weight: a checkpoint loads into a model whose config differs only in these.
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset()
    LEGACY_DEFAULTS: ClassVar[dict[str, Any]] = {}
    # Whether the JSON names the family under "model" (a JSON without that key is MER-CLIP's: merclip.models.registry).
    FAMILY_KEY: ClassVar[bool] = True

    def runtime_fields(self) -> frozenset[str]:
        return self.RUNTIME_FIELDS

    def to_dict(self) -> dict[str, Any]:
        fields = dataclasses.asdict(self)
        return {"model": self.family, **fields} if self.FAMILY_KEY else fields

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        """The config `data` describes (a "model" key, if any, must name this family)."""
        data = dict(data)
        family = data.pop("model", cls.family)
        if family != cls.family:
            raise ValueError(f"a {family!r} config is not a {cls.__name__} ({cls.family!r})")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {unknown}: was this config written by another version?")
        return cls(**{**cls.LEGACY_DEFAULTS, **data})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls: type[C], text: str) -> C:
        return cls.from_dict(json.loads(text))


@dataclass
class ModelConfig(FamilyConfig):
    """Everything needed to rebuild a MER-CLIP model (saved as JSON with the weights)."""

    family: ClassVar[str] = "merclip"
    # Labels are weight-free too with the label encoder only: the FC classifier is sized by them (runtime_fields).
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset({"clip_pretrained", "query_word", "emotion_threshold", "dropout"})
    LEGACY_DEFAULTS: ClassVar[dict[str, Any]] = {"fc_activation": "none"}
    FAMILY_KEY: ClassVar[bool] = False  # older versions refuse a config with a key they do not know

    clip_model: str = "ViT-B-32"  # open_clip architecture name, or 'merclip-tiny'
    clip_pretrained: str | None = "openai"  # open_clip tag, local weights path, or None (random init)
    task: Task = "emotion"
    labels: tuple[str, ...] = EMOTION_LABELS
    query_word: str | None = "Emotion"  # None: the query is the learnable context alone
    num_frames: int = 12
    n_ctx: int = 8  # learnable context vectors for label prompts and for the query prompt
    # None: one CMD layer per modality in `modality_order` (the paper's |m| layers: 3 for LVA, 1 for V alone).
    # An explicit count cycles over the order (layer i -> order[i % |m|]); checkpoints saved before this field
    # could be None store 3, and keep their cycling layers.
    cmd_layers: int | None = None
    cmd_hidden: int = 512
    cmd_heads: int = 8
    # "pooled": the paper's CMD (Algorithm 1), one key/value vector per modality (language EOS embedding, mean of
    # the frame embeddings, mean of the audio-segment embeddings). "sequence": this project's extension, keys over
    # tokens / frames / audio segments, so the app can show which items the query attended to.
    cmd_mode: CMDMode = "pooled"
    modality_order: tuple[str, ...] = ("L", "V", "A")
    use_cmd: bool = True
    use_label_encoder: bool = True
    # Table 4 "w/o CMD, LE": concatenation -> FC -> this nonlinearity -> FC classifier ("fully connected layers").
    # Configs saved before the field existed load as "none" (they were trained as one linear map).
    fc_activation: Literal["relu", "none"] = "relu"
    logit_scale_init: float = 1 / 0.07
    emotion_threshold: float = 0.6
    dropout: float = 0.1
    # "clip" is the paper's. This project's offline option "wordllama" puts the language tower and the frozen label
    # encoder on wordllama's pretrained word embeddings (merclip/pretrained/wordllama_text.py), which ship with that
    # package, so label embeddings mean something without downloadable CLIP weights.
    text_backbone: TextBackbone = "clip"
    # "clip" is the paper's. This project's option "fer" makes the vision tower the frozen FER2013 face-expression
    # network on face crops (merclip/pretrained/face_vision.py) with a trainable projection, so a face is read
    # without CLIP weights; the audio tower stays a CLIP image tower.
    vision_backbone: VisionBackbone = "clip"
    # This project's extension, not the paper's (the shipped demo's recipe, docs/design.md "The pooled skip"):
    # fused = CMD(query, memory) + sum over m of g_m * pooled_m / |pooled_m|, one learnable gate g_m per modality,
    # starting at 1 for language and 0 for the others, with the CMD's output layer starting at zero. The untrained
    # model then scores labels by the pretrained language tower's similarity alone (what the offline reference
    # does), and training learns the corrections the other modalities and the CMD bring, instead of first
    # unlearning it.
    pooled_skip: bool = False
    # The pooled skip's starting gate for vision and audio (language starts at 1). At 0 their skip vectors get no
    # gradient until the gate moves, and the gate none that is not noise until they mean something, so they stay
    # near 0 and a face reaches the fused vector only through the CMD; a small start lets both learn together.
    skip_gate_init: float = 0.0
    # This project's extension of the pooled skip: vision's and audio's gates become per clip, g_m x 2 sigmoid(w_m .
    # pooled_m / |pooled_m| + b_m), with w_m, b_m starting at 0 (so the factor starts at 1). Why: one gate per modality
    # must be as small for a cartoon, whose expression follows the label, as for a photograph, whose expression says
    # nothing about it; a gate read off the face's own embedding can open for one and close for the other.
    trust_gates: bool = False

    def __post_init__(self) -> None:
        self.labels = tuple(self.labels)
        self.modality_order = tuple(self.modality_order)
        if self.task not in ("emotion", "sentiment"):
            raise ValueError(f"task must be 'emotion' or 'sentiment', got {self.task!r}")
        if self.text_backbone not in ("clip", "wordllama"):
            raise ValueError(f"text_backbone must be 'clip' or 'wordllama', got {self.text_backbone!r}")
        if self.vision_backbone not in ("clip", "fer"):
            raise ValueError(f"vision_backbone must be 'clip' or 'fer', got {self.vision_backbone!r}")
        if self.cmd_mode not in ("sequence", "pooled"):
            raise ValueError(f"cmd_mode must be 'sequence' or 'pooled', got {self.cmd_mode!r}")
        bad = [m for m in self.modality_order if m not in MODALITIES]
        if bad or not self.modality_order or len(set(self.modality_order)) != len(self.modality_order):
            raise ValueError(
                f"modality_order must be distinct letters from L, V, A (e.g. ('L','V','A')), got {self.modality_order!r}"
            )
        if len(self.labels) < 2:
            raise ValueError(f"a label set needs at least 2 labels, got {list(self.labels)!r}")
        if self.fc_activation not in ("relu", "none"):
            raise ValueError(f"fc_activation must be 'relu' or 'none', got {self.fc_activation!r}")
        if self.cmd_layers is not None and self.cmd_layers < 1:
            raise ValueError(f"cmd_layers must be >= 1 (or None: one per modality), got {self.cmd_layers!r}")
        if not 0 < self.emotion_threshold < 1:  # at 0 or 1 every label, or none, would be predicted
            raise ValueError(f"emotion_threshold must be between 0 and 1 (both excluded), "
                             f"got {self.emotion_threshold!r}")
        if not (isinstance(self.skip_gate_init, (int, float)) and 0 <= self.skip_gate_init <= 1):
            raise ValueError(f"skip_gate_init must be a number in [0, 1], got {self.skip_gate_init!r}")
        if self.skip_gate_init and not self.pooled_skip:
            raise ValueError("skip_gate_init is the pooled skip's starting gate: it needs pooled_skip=True")
        if self.trust_gates and not self.pooled_skip:
            raise ValueError("trust_gates make the pooled skip's gates per clip: they need pooled_skip=True")
        if self.pooled_skip and not self.use_cmd:
            raise ValueError("pooled_skip adds the pooled modalities to the CMD's output: it needs use_cmd=True")
        if self.cmd_hidden % self.cmd_heads:
            raise ValueError(f"cmd_hidden ({self.cmd_hidden}) must be divisible by cmd_heads ({self.cmd_heads})")

    def runtime_fields(self) -> frozenset[str]:
        return self.RUNTIME_FIELDS | ({"labels"} if self.use_label_encoder else set())

    @property
    def num_cmd_layers(self) -> int:
        """How many CMD layers the model builds: cmd_layers, or |m| (one per modality) when it is None."""
        return self.cmd_layers if self.cmd_layers is not None else len(self.modality_order)

    @property
    def is_paper_cmd(self) -> bool:
        """True for the CMD of Algorithm 1: pooled keys, one layer per modality in the given order."""
        return self.use_cmd and self.cmd_mode == "pooled" and self.num_cmd_layers == len(self.modality_order)


@dataclass
class MediaConfig:
    """How raw media become model inputs (paper: 12 frames, 2-s audio segments, 224-bin log-mel)."""

    num_frames: int = 12
    image_size: int = 224
    sample_rate: int = 16000
    segment_seconds: float = 2.0
    n_mels: int = 224
    win_seconds: float = 0.064
    hop_seconds: float = 0.032
    max_seconds: float = 60.0
    long_clip: Literal["refuse", "window"] = "refuse"
    max_transcript_chars: int = 100_000  # ~15k words: longer texts are refused; beyond 77 tokens CLIP truncates
    max_file_mb: float = 500.0  # larger files are refused before any decoding
    face_crop: bool = False  # crop frames to the face (merclip.media.faces): what vision_backbone="fer" reads
    # The paper, sec. 4.3: "For the visual and audio encoders, we use the regularly selected 12 frames": a clip with
    # more than 12 two-second segments gives its audio tower 12 regularly selected ones. "all" keeps every segment
    # (T_A = ceil(tau / 2), sec. 3.1.3 read alone), this project's earlier reading, as a named option.
    audio_segments: int | Literal["all"] = 12

    def __post_init__(self) -> None:
        if self.audio_segments != "all" and not (isinstance(self.audio_segments, int) and self.audio_segments >= 1):
            raise ValueError(f"audio_segments must be a positive number of segments or 'all', got {self.audio_segments!r}")


LR_SCHEDULES = ("constant", "cosine")  # merclip/training/optim.py: constant (the paper gives one rate, no schedule); cosine (ours)


@dataclass
class TrainConfig:
    """Optimisation hyperparameters; defaults are the paper's (CMU-MOSEI)."""

    lr: float = 8e-6
    weight_decay: float = 1e-3
    batch_size: int = 16
    epochs: int = 20
    seed: int = 0
    grad_checkpointing: bool = False
    num_workers: int = 0
    amp: bool = True  # bf16 autocast on CUDA only
    compile: bool = False  # torch.compile the towers (GPU: see bench/throughput.py for what it buys)
    init: str | None = None  # fine-tuning: the checkpoint whose weights the run starts from (None: the model's own)
    # This project's options (merclip/training/optim.py). The defaults keep one rate for every parameter throughout:
    # the paper (sec. 4.3) gives AdamW one learning rate and names no schedule.
    lr_schedule: Literal["constant", "cosine"] = "constant"  # one of LR_SCHEDULES
    language_lr_scale: float = 1.0  # the language tower's and the label encoder's rate, as a share of `lr`

    def __post_init__(self) -> None:
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if not 0.0 <= self.language_lr_scale <= 1.0:
            raise ValueError(f"language_lr_scale must be in [0, 1], got {self.language_lr_scale!r}")


__all__ = [
    "FamilyConfig", "ModelConfig", "MediaConfig", "TrainConfig",
    "EMOTION_LABELS", "SENTIMENT_LABELS", "MODALITIES", "MODALITY_NAMES", "DEFAULT_QUERY_WORD", "LR_SCHEDULES",
]
