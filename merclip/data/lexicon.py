"""Text-only training items with the breadth of real speech: the NRC emotion lexicon's words (this project's option
for the demo's recipe, not the paper's; the demo trained on it until issue #25's seventh session and now trains on
`merclip.data.spoken_forms`, whose corpora `text_corpus_dataset` also serves).

Why: the generated clips say sentences from `merclip.data.phrasebook` (18 feeling words and 27 situations per
emotion). A language path trained on those alone learns the phrasebook and forgets what the pretrained word
embeddings knew about the rest of the language: on the real-ish set it fell below the untrained word-similarity
reference. The NRC Word-Emotion Association Lexicon (Mohammad & Turney 2013) lists thousands of everyday words
with the emotions people associate with them ("funeral": sadness, "spider": fear and disgust). Mixed into
training as transcripts with no face and no voice (four words of the same emotions to an item: `word_groups`),
they keep the language path reading the whole vocabulary, and they are clips whose only evidence is the words,
which is what a visitor's clip often is. The corpus `"nrc-single"` (the lexicon demo used `"nrc"`) keeps
only the 1,813 words with exactly one of the labels: half the lexicon's words carry two or more, fear most of all
(43 % of the words, 16 % of the clips), and they teach the words to spread over every negative emotion
(docs/design.md, docs/results.md).

Source and licence: the lexicon ships inside the `nrclex` wheel (4.1.0, MIT code; `nrclex/data/nrc_en.json`,
6,468 words). The lexicon itself is (C) National Research Council Canada, **free for research use only**; anyone
who uses it or a model trained with it cites Mohammad & Turney, "Crowdsourcing a Word-Emotion Association Lexicon",
Computational Intelligence 29(3), 2013. The file is read straight from the installed package (nrclex's own import
pulls in textblob, which it does not need for this).

    items = lexicon_items(("happy", "sad", "angry", "surprise", "disgust", "fear"))
"""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..media.decoded import ClipInputs
from .spoken_forms import ITEMS_PER_EMOTION, spoken_items

LEXICON_FILE = Path("data") / "nrc_en.json"
# The NRC affect names the demo's emotion words stand for (its other affects, such as trust, have no label here).
NRC_AFFECTS: dict[str, str] = {"happy": "joy", "sad": "sadness", "angry": "anger", "surprise": "surprise",
                               "disgust": "disgust", "fear": "fear"}
# every associated word, or only those with exactly one of the labels; "speech": the spoken forms
# (merclip.data.spoken_forms), alone or after either lexicon corpus
TEXT_CORPORA = ("nrc", "nrc-single", "speech", "nrc+speech", "nrc-single+speech")
WORDS_PER_ITEM = 4  # lexicon words said together in one transcript-only item (see word_groups)


def lexicon_path() -> Path:
    """Where the installed nrclex wheel keeps its lexicon (found without importing the package)."""
    spec = importlib.util.find_spec("nrclex")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the NRC lexicon comes from the nrclex wheel: pip install nrclex==4.1.0 "
                          "(requirements-dev.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / LEXICON_FILE
    if not path.is_file():
        raise FileNotFoundError(f"nrclex is installed but its lexicon file {LEXICON_FILE} is missing")
    return path


@lru_cache(maxsize=1)
def read_lexicon() -> dict[str, tuple[str, ...]]:
    """word -> NRC affects (anger, fear, joy, sadness, ..., positive, negative)."""
    return {w: tuple(a) for w, a in json.loads(lexicon_path().read_text()).items()}


def lexicon_items(labels: Sequence[str], single: bool = False) -> list[tuple[str, tuple[str, ...]]]:
    """(word, its labels) for every lexicon word associated with at least one of `labels` (`single`: exactly one),
    sorted by word.

    Only labels with an NRC affect (NRC_AFFECTS) can be matched; a label set with none of them is refused, since
    it would train on nothing."""
    affects = {NRC_AFFECTS[l.lower()]: l for l in labels if l.lower() in NRC_AFFECTS}
    if not affects:
        raise ValueError(f"the NRC lexicon has none of the labels {list(labels)}: it knows "
                         f"{sorted(NRC_AFFECTS)}")
    items = []
    for word, word_affects in sorted(read_lexicon().items()):
        named = tuple(affects[a] for a in affects if a in word_affects)
        if named and (len(named) == 1 or not single):
            items.append((word, tuple(sorted(named, key=list(labels).index))))
    return items


def word_groups(items: Sequence[tuple[str, tuple[str, ...]]], size: int = WORDS_PER_ITEM,
                seed: int = 0) -> list[tuple[str, tuple[str, ...]]]:
    """Words with the same labels, `size` at a time, as one text ("funeral grief mourning tears"; sad).

    Why groups, not single words: thousands of one-word items would outnumber the ~1000 clips of a training set
    four to one, and since a batch's loss is a mean, each clip's gradient would shrink as much; a group is also
    nearer to a sentence, the form the language path reads at inference. The grouping is fixed by `seed`."""
    by_labels: dict[tuple[str, ...], list[str]] = {}
    for word, named in items:
        by_labels.setdefault(named, []).append(word)
    rng = np.random.default_rng(seed)
    groups = []
    for named, words in sorted(by_labels.items()):
        words = [words[i] for i in rng.permutation(len(words))]
        groups += [(" ".join(words[i:i + size]), named) for i in range(0, len(words), size)]
    return groups


class TextOnlyDataset(Dataset):
    """Transcript-only training items, (ClipInputs with no frames and no audio, multi-hot target (C,), id): the
    collated batch masks vision and audio out for them, as for a clip with no face and no voice."""

    def __init__(self, items: Sequence[tuple[str, tuple[str, ...]]], labels: Sequence[str]):
        self.items = list(items)
        self.labels = tuple(labels)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        text, named = self.items[i]
        target = torch.tensor([float(l in named) for l in self.labels])  # (C,)
        return ClipInputs(frames=None, audio=None, transcript=text, duration=0.0), target, f"text:{text}"


def text_corpus_dataset(name: str, labels: Sequence[str],
                        spoken_per_emotion: int = ITEMS_PER_EMOTION) -> TextOnlyDataset:
    """The text-only items of a named corpus (`TEXT_CORPORA`; "+" joins two) for an emotion label set; the "speech"
    corpus gives `spoken_per_emotion` items per emotion."""
    if name not in TEXT_CORPORA:
        raise ValueError(f"unknown text corpus {name!r}; known: {', '.join(TEXT_CORPORA)}")
    items = []
    for part in name.split("+"):  # "nrc+speech": the lexicon's groups, then the spoken items
        items += spoken_items(labels, spoken_per_emotion) if part == "speech" else word_groups(
            lexicon_items(labels, single=part == "nrc-single"))
    return TextOnlyDataset(items, labels)
