"""The main panel: one clip's prediction bars, per-modality similarities, CMD attention and a summary."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from ..arguments import check_modalities
from ..serving import figures
from ..serving.predictor import PredictionResult, Predictor
from .panel import Panel
from .requests import (
    ClipRequest,
    md_text,
    query_word_or_default,
    timings_details,
)


@dataclass
class Analysis:
    """What the main panel shows for one clip: the prediction and its three figures and summary."""

    result: PredictionResult
    bars: go.Figure
    similarity: go.Figure
    attention: go.Figure
    summary: str


def predict_clip(predictor: Predictor, clip: ClipRequest, task: str, labels: Sequence[str], query_word: str | None,
                 dropped: Sequence[str] = ()) -> PredictionResult:
    """One checked clip through the MER-CLIP predictor (`dropped`: modality letters)."""
    return predictor.predict(clip.video, clip.transcript, labels=labels, query_word=query_word, task=task,
                             drop_modalities=list(dropped), audio=clip.audio, transcript_file=clip.transcript_file)


def summary_markdown(result: PredictionResult, model_task: str) -> str:
    """The summary markdown. User-given words (labels, query word) are escaped: they are shown as text, never
    as markup."""
    present = ", ".join(f"{k} {'✓' if v else '✗ absent'}" for k, v in result.present.items())
    lines = [
        f"**Predicted:** {', '.join(md_text(p) for p in result.predicted) or 'none above threshold'}",
        f"**Query word:** {md_text(result.query_word or '(none)')} · **Modalities:** {present}",
    ]
    if model_task != result.task:
        lines.append(f"_Note: this model was trained for {model_task}; {result.task} labels are scored zero-shot "
                     "through its label encoder._")
    lines += [f"- {md_text(n)}" for n in result.notes]
    lines.append(timings_details(result.timings, result.features_cached))
    return "\n\n".join(lines)


class AnalysisPanel(Panel):

    def analyse(self, video, transcript=None, transcript_file=None, audio=None, task="emotion", label_kind="word",
                custom_labels="", query_word=None, dropped: Sequence[str] = (), head="mean", progress=None) -> Analysis:
        """Prediction bars, per-modality similarities, CMD attention, timings and notes."""
        clip = self.guard.clip(video, transcript, transcript_file, audio)
        labels = self.guard.labels(task, label_kind, custom_labels)
        self.guard.head(head)
        word, dropped_letters = query_word_or_default(query_word, task), check_modalities(dropped, "dropped")
        if progress:
            progress(0.1, desc="decoding and encoding the clip")
        result = predict_clip(self.models.predictor, clip, task, labels, word, dropped_letters)
        if progress:
            progress(0.9, desc="drawing")
        threshold = self.models.threshold
        return Analysis(result, figures.prediction_bars(result, threshold), figures.modality_similarity(result),
                        figures.attention_maps(result, head), self.summary(result))

    def summary(self, result: PredictionResult) -> str:
        return summary_markdown(result, self.models.config.task)
