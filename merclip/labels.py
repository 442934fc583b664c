"""Label sets and query words: the paper's presets, the single-label datasets' label lists, and the check that
a user's label set can be classified.

Plain data (no torch): the label encoder that embeds these labels is `merclip.models.label_encoder`.
"""
from __future__ import annotations

from collections.abc import Sequence

from .config import EMOTION_LABELS, SENTIMENT_LABELS
from .errors import LabelError, check_text

# A label set is encoded by the text tower in one batch on every request with new labels: bound its size so that a
# request cannot make the server encode (and the memo hold) arbitrarily many prompts. 256 is far above any real
# emotion taxonomy (the paper's largest label set has 6); CLIP reads 77 tokens, so longer labels would be cut anyway.
MAX_LABELS = 256
MAX_LABEL_CHARS = 300

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

# Single-label emotion datasets (one emotion per utterance; the LSGMER family), in their class-index order.
MELD_LABELS: tuple[str, ...] = ("neutral", "joy", "sadness", "anger", "surprise", "fear", "disgust")
IEMOCAP_LABELS: dict[str, tuple[str, ...]] = {
    "4class": ("neutral", "happy", "sad", "angry"),
    "6class": ("happy", "sad", "neutral", "angry", "excited", "frustrated"),
}


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
    for number, label in enumerate(cleaned, 1):  # before any message below quotes the labels
        check_text(label, f"label {number}", LabelError)
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
