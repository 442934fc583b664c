"""The comparison panels: one clip under several query words, or under two label sets."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ..arguments import check_query_word
from ..labels import PAPER_LABEL_SETS
from ..serving import figures
from .analysis import predict_clip
from .panel import Panel
from .requests import (
    NO_WORD,
    StudioError,
    parse_query_word,
    query_word_or_default,
)

MAX_QUERY_WORDS = 8  # each word is one label-encoder + CMD pass on the request's thread


class ComparisonPanels(Panel):

    def sweep_query_words(self, video, transcript=None, transcript_file=None, audio=None, task="emotion",
                          label_kind="word", custom_labels="", words: Sequence[str] = ("Emotion",),
                          extra_word="") -> go.Figure:
        """Same clip, one prediction per query word (cached features: only the label encoder + CMD re-run)."""
        clip = self.guard.clip(video, transcript, transcript_file, audio)
        labels = self.guard.labels(task, label_kind, custom_labels)
        extra = [extra_word.strip()] if extra_word and isinstance(extra_word, str) and extra_word.strip() else []
        chosen = list(dict.fromkeys([*(check_query_word(w) for w in (words or [])), *extra]))
        if not chosen:
            raise StudioError("choose at least one query word (or '(none)')")
        if len(chosen) > MAX_QUERY_WORDS:
            raise StudioError(f"at most {MAX_QUERY_WORDS} query words at once, got {len(chosen)}")
        predictor = self.models.predictor
        results = {w: predict_clip(predictor, clip, task, labels, parse_query_word(w)) for w in chosen}
        # compared against the model's own query word when it is among the chosen ones, else the first one
        own = self.models.config.query_word or NO_WORD
        return figures.query_word_comparison(results, self.models.threshold,
                                             reference=own if own in results else chosen[0])

    def compare_label_sets(self, video, transcript=None, transcript_file=None, audio=None, task="emotion",
                           kind_a="word", custom_a="", kind_b="sentence", custom_b="", query_word=None) -> go.Figure:
        """Same clip, two label sets side by side (the paper's sets are marked as such)."""
        clip = self.guard.clip(video, transcript, transcript_file, audio)
        word = query_word_or_default(query_word, task)
        predictor, results = self.models.predictor, {}
        for name, kind, custom in (("A", kind_a, custom_a), ("B", kind_b, custom_b)):
            labels = self.guard.labels(task, kind, custom)
            source = " (paper)" if (task, kind) in PAPER_LABEL_SETS else ""
            results[f"{name}: {kind}{source}"] = predict_clip(predictor, clip, task, labels, word)
        return figures.label_set_comparison(results, self.models.threshold)
