"""Label encoder (LE), label-set presets and query words.

The LE is CLIP's text tower, frozen, with 8 learnable context vectors spliced in front of each
label: the prompt "{ctx_1 .. ctx_8} {label}", read out at EOS. Because labels are text, any
label set works at inference: words, phrases, sentences, or a user's own labels.
The emotion query Z^E is the same frozen tower with its own learnable context followed by a query
word ("Emotion", "Sentiment", any word) or by nothing at all.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .config import EMOTION_LABELS, SENTIMENT_LABELS
from .encoders import TextTower
from .errors import LabelError

# A label set is encoded by the text tower in one batch on every request with new labels: bound its size so that a
# request cannot make the server encode (and the memo hold) arbitrarily many prompts. 256 is far above any real
# emotion taxonomy (the paper's largest set has 7); CLIP reads 77 tokens, so longer labels would be cut anyway.
MAX_LABELS = 256
MAX_LABEL_CHARS = 300

CTX_PLACEHOLDER = "X"

QUERY_WORDS: tuple[str | None, ...] = ("Emotion", "Sentiment", "Feeling", "Impression", "Mood", "Sensation", None)

# Paper, Table 5: sentence descriptions of the emotion labels.
EMOTION_SENTENCES: tuple[str, ...] = (
    "A state of feeling delighted, content, and fulfilled, often accompanied by a bright expression and a sense of inner peace.",
    "A feeling of deep sorrow or unhappiness, often resulting from loss, disappointment, or misfortune.",
    "A strong feeling of annoyance, displeasure, or hostility that often leads to impulsive reactions or confrontations.",
    "An unexpected event or piece of information that causes a strong emotional reaction, such as astonishment or wonder.",
    "A profound sense of revulsion or profound disapproval elicited by something unpleasant or offensive.",
    "An intense sensation of dread or apprehension about a potential or imagined danger or threat.",
)
# Paper, Table 6: phrase descriptions of the sentiment labels.
SENTIMENT_PHRASES: tuple[str, ...] = (
    "Feelings of satisfaction, approval, or optimism.",
    "Feelings of dissatisfaction, disapproval, or pessimism.",
)
# Not in the paper (it has no emotion phrases or sentiment sentences); ours, so the app can show all three kinds.
EMOTION_PHRASES: tuple[str, ...] = (
    "feeling joyful and content",
    "feeling sorrowful and down",
    "feeling annoyed and hostile",
    "feeling astonished by the unexpected",
    "feeling revulsion and disapproval",
    "feeling dread of a threat",
)
SENTIMENT_SENTENCES: tuple[str, ...] = (
    "The speaker expresses a favourable opinion and sounds pleased with what they describe.",
    "The speaker expresses an unfavourable opinion and sounds displeased with what they describe.",
)

LABEL_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    "emotion": {"word": EMOTION_LABELS, "phrase": EMOTION_PHRASES, "sentence": EMOTION_SENTENCES},
    "sentiment": {"word": SENTIMENT_LABELS, "phrase": SENTIMENT_PHRASES, "sentence": SENTIMENT_SENTENCES},
}
PAPER_LABEL_SETS = {("emotion", "word"), ("emotion", "sentence"), ("sentiment", "word"), ("sentiment", "phrase")}


def label_set(task: str, kind: str = "word") -> tuple[str, ...]:
    if not isinstance(task, str) or task not in LABEL_SETS:
        raise LabelError(f"unknown task {task!r}: choose one of {', '.join(LABEL_SETS)}")
    try:
        return LABEL_SETS[task][kind]
    except (KeyError, TypeError):
        raise LabelError(f"no '{kind}' label set for task '{task}'; tasks: {', '.join(LABEL_SETS)}; "
                         "kinds: word, phrase, sentence") from None


def validate_labels(labels: Sequence[str], task: str) -> tuple[str, ...]:
    """Clean a user label set; a set of one cannot be classified (softmax/standardisation need >= 2).

    Labels are only ever text for the text tower: one that looks like a path or like HTML is just words.
    """
    if isinstance(labels, str):
        raise LabelError("a label set is a list of labels, not one string")
    cleaned = tuple(" ".join(str(l).split()) for l in labels if str(l).strip())
    if len(cleaned) > MAX_LABELS:
        raise LabelError(f"a label set may have at most {MAX_LABELS} labels, got {len(cleaned)}")
    if len(cleaned) < 2:
        raise LabelError(f"a label set needs at least 2 non-empty labels for the {task} task, got {list(cleaned)!r}")
    too_long = [l for l in cleaned if len(l) > MAX_LABEL_CHARS]
    if too_long:
        raise LabelError(f"a label may have at most {MAX_LABEL_CHARS} characters; {len(too_long)} label(s) are longer "
                         f"(the first starts {too_long[0][:40]!r})")
    if len(set(cleaned)) != len(cleaned):
        raise LabelError(f"label set has duplicates: {list(cleaned)!r}")
    return cleaned


class LabelEncoder(nn.Module):
    """Frozen CLIP text tower + learnable label context + learnable query context."""

    def __init__(self, tower: TextTower, tokenizer, n_ctx: int = 8):
        super().__init__()
        self.tower = tower
        for p in self.tower.parameters():
            p.requires_grad_(False)
        self.tokenizer = tokenizer
        self.n_ctx = n_ctx
        width = tower.width
        self.label_ctx = nn.Parameter(torch.randn(n_ctx, width) * 0.02)
        self.query_ctx = nn.Parameter(torch.randn(n_ctx, width) * 0.02)

    def train(self, mode: bool = True) -> "LabelEncoder":
        super().train(mode)
        self.tower.eval()  # the frozen tower never switches to training behaviour
        return self

    def _prompt_ids(self, texts: Sequence[str]) -> torch.Tensor:
        prefix = " ".join([CTX_PLACEHOLDER] * self.n_ctx)
        return self.tokenizer([f"{prefix} {t}".strip() for t in texts])

    def encode(self, texts: Sequence[str], ctx: torch.Tensor) -> torch.Tensor:
        """EOS embeddings (N, D) of "{ctx} {text}" prompts."""
        device = ctx.device
        ids = self._prompt_ids(texts).to(device)  # (N, T)
        emb = self.tower.token_embedding(ids)  # (N, T, W)
        ctx = ctx.to(emb.dtype).unsqueeze(0).expand(len(texts), -1, -1)
        emb = torch.cat([emb[:, :1], ctx, emb[:, 1 + self.n_ctx :]], dim=1)  # SOS, ctx, label tokens, EOS
        _, eos = self.tower.forward_embeddings(emb, ids.argmax(dim=-1))
        return eos

    def labels(self, labels: Sequence[str]) -> torch.Tensor:
        return self.encode(labels, self.label_ctx)  # (C, D)

    def query(self, word: str | None) -> torch.Tensor:
        return self.encode([word or ""], self.query_ctx)[0]  # (D,)
